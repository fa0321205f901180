"""Raises when a case is published: the change stays saved and other plugins still hear of it."""

from kb.toolkit import Case, hookimpl


@hookimpl(tryfirst=True)
def case_published(case: Case) -> None:
    raise RuntimeError(f"failing plugin refuses case {case.id}")
