"""From a stored case to what the index holds (``IndexDocument``), for any search engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.hookspecs import IndexExtras
from kb.models import Case, CasePresentation, CaseStatus, Material, Session
from kb.search.backend import IndexDocument

#: A still-running case counts in every year up to this one; earlier years are capped too.
FIRST_YEAR = 1980
#: Where ``kb.services.indexing.init_app`` keeps the app's ``PluginExtras``.
PLUGIN_EXTRAS = "kb.indexing.plugin_extras"


def _no_extras(case: Case) -> Iterable[IndexExtras]:
    return ()


@dataclass(frozen=True)
class PluginExtras:
    """What enabled plugins add to the index: their facets' names and, per case, their
    ``index_extras``. The app factory hands it in, so indexing never calls the plugin manager."""

    facets: tuple[str, ...] = ()
    of: Callable[[Case], Iterable[IndexExtras]] = _no_extras


def plugin_extras() -> PluginExtras:
    return current_app.extensions.get(PLUGIN_EXTRAS) or PluginExtras()


def version_of(updated_at: datetime | None) -> str:
    """A case's version is its last change time (the outbox bumps it for related rows too)."""
    if updated_at is None:
        return "0"
    return updated_at.replace(tzinfo=None).isoformat(timespec="microseconds")


def _years(case: Case) -> tuple[int, ...]:
    if case.start_year is None:
        return ()
    end = case.end_year or date.today().year
    return tuple(range(max(case.start_year, FIRST_YEAR), end + 1))


def _files_text(case: Case) -> str:
    """The stored text of the case's files and of the sessions it was presented in.

    Only what was read at upload (``Material.extracted_text``): indexing never opens a file,
    so a hostile one cannot slow a write down. A session's slides find its cases.
    """
    sessions = {p.session.id: p.session for p in case.presentations if p.session is not None}
    materials = [*case.materials, *(m for s in sessions.values() for m in s.materials)]
    return "\n".join(m.extracted_text for m in materials if m.extracted_text)


def _extras(case: Case) -> tuple[str, dict[str, tuple[str, ...]]]:
    """What enabled plugins add; values for facets no plugin declared are dropped."""
    added = plugin_extras()
    declared = set(added.facets)
    texts: list[str] = []
    facets: dict[str, list[str]] = {}
    for extras in added.of(case):
        if extras.text:
            texts.append(extras.text)
        for name, values in extras.facets.items():
            if name in declared:
                facets.setdefault(name, []).extend(str(v) for v in values)
    return "\n".join(texts), {name: tuple(dict.fromkeys(v)) for name, v in facets.items()}


def _body_parts(case: Case) -> tuple[str | None, ...]:
    """The texts searched as the body, in the case's language: the description, the results,
    and the practice template's texts (a word only in the lessons learned finds the case)."""
    return (
        case.body,
        case.outcomes,
        case.target_description,
        case.background,
        case.evaluation_method,
        case.funding,
        case.staff,
        case.lessons_learned,
        case.transferability,
        *(figure.source for figure in case.key_figures),
    )


def document_for(case: Case) -> IndexDocument:
    extra_text, extra_facets = _extras(case)
    return IndexDocument(
        id=case.id,
        ref=case.ref,
        slug=case.slug,
        version=version_of(case.updated_at),
        language=case.language,
        country=case.country,
        title=case.title,
        summary=case.summary or "",
        body="\n\n".join(part for part in _body_parts(case) if part),
        places=" ".join(part for part in (case.municipality, case.region) if part),
        files_text=_files_text(case),
        themes=tuple(t.key for t in case.themes),
        target_groups=tuple(t.key for t in case.target_groups),
        events=tuple(sorted({p.event.slug for p in case.presentations})),
        years=_years(case),
        published_at=case.published_at,
        practice_status=case.practice_status or "",
        budget_band=case.budget_band or "",
        confirmed_at=case.last_confirmed_at or case.published_at,
        extra_text=extra_text,
        extra_facets=extra_facets,
        population_band=case.population_band or "",
        urban_rural=case.urban_rural or "",
    )


def _published(ids: list[int] | None = None) -> Select[tuple[Case]]:
    query = (
        select(Case)
        .where(Case.status == CaseStatus.PUBLISHED)
        .options(
            selectinload(Case.themes),
            selectinload(Case.target_groups),
            selectinload(Case.key_figures),
            selectinload(Case.materials).undefer(Material.extracted_text),
            selectinload(Case.presentations).selectinload(CasePresentation.event),
            selectinload(Case.presentations)
            .selectinload(CasePresentation.session)
            .selectinload(Session.materials)
            .undefer(Material.extracted_text),
        )
        .order_by(Case.id)
    )
    return query if ids is None else query.where(Case.id.in_(ids))


def published_documents(ids: list[int] | None = None) -> Iterator[IndexDocument]:
    """Documents for all published cases (or those of ``ids`` that are published)."""
    for case in db.session.scalars(_published(ids)):
        yield document_for(case)


def published_versions() -> dict[int, str]:
    rows = db.session.execute(
        select(Case.id, Case.updated_at).where(Case.status == CaseStatus.PUBLISHED)
    )
    return {case_id: version_of(updated) for case_id, updated in rows}
