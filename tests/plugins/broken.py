"""Fails to import, as a plugin with a missing dependency would."""

import kb_no_such_dependency  # noqa: F401
