"""The database schema: the core's migrations plus a branch of its own for each plugin.

A plugin that keeps data ships Alembic migrations in a version branch labelled with its name
(``branch_labels = ("<name>",)``), whose first revision depends on the core revision it needs.
Alembic reads every branch it may meet in the database: the enabled plugins' (from the
``migration_locations`` hook and their ``migrations/`` folder) and the ``migrations/`` folder
of every other available plugin, so a disabled plugin's tables and its row in
``alembic_version`` are left alone without breaking ``kb db upgrade``. Upgrading applies the
core and the *enabled* plugins' branches only; ``downgrade_plugin`` removes one plugin's tables.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask import Flask, current_app

from kb import plugins
from kb.extensions import db, migrate

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
#: Where a plugin keeps its migrations, next to its ``__init__.py``.
PLUGIN_MIGRATIONS = "migrations"


class SchemaError(plugins.PluginError):
    """A plugin's migrations are not where or what they should be; the message says why."""


def init_app(app: Flask) -> None:
    """Bind Flask-Migrate; the core's ``kb db check`` ignores the plugins' tables."""
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), include_object=_core_objects(app))


def _core_objects(app: Flask) -> Callable[..., bool]:
    """Autogenerate compares the core's models only: a plugin's tables (named
    ``<plugin>_...``) are its own migrations' business, whether it is enabled or not."""
    prefixes = tuple(f"{name}_" for name in {*plugins.available(), *plugins.state(app).enabled})

    def include(_obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if kind == "table" and reflected and compare_to is None:
            return not (name or "").startswith(prefixes)
        return True

    return include


@migrate.configure
def _with_plugin_branches(config: Config) -> Config:
    """Every Alembic command of this app sees the core's and the plugins' version folders."""
    locations = [MIGRATIONS_DIR / "versions", *dict.fromkeys(version_locations(current_app))]
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(str(p).replace("%", "%%") for p in locations)
    )
    return config


def version_locations(app: Flask) -> list[Path]:
    """The plugins' migration folders: the enabled plugins' and, left alone, the others'."""
    enabled = plugin_locations(app)
    resting = [
        folder
        for name, candidates in plugins.available().items()
        if name not in enabled
        for folder in _resting(candidates)
    ]
    return [*(p for paths in enabled.values() for p in paths), *resting]


def plugin_locations(app: Flask) -> dict[str, list[Path]]:
    """The enabled plugins' migration folders, by plugin name (through the hook, traced)."""
    state = plugins.state(app)
    found: dict[str, list[Path]] = {}
    for name, paths in plugins.call_each("migration_locations", plugins=state):
        found.setdefault(name, []).extend(Path(p).resolve() for p in paths)
    for name, module in state.enabled.items():
        folder = plugins.package_folder(module, PLUGIN_MIGRATIONS)
        if folder is not None and folder.resolve() not in found.get(name, []):
            found.setdefault(name, []).append(folder.resolve())
    for name, paths in found.items():
        for path in paths:
            if not path.is_dir():
                raise SchemaError(f"Plugin {name!r}: migration folder {path} does not exist.")
    return found


def _resting(candidates: list[plugins.Candidate]) -> Iterator[Path]:
    """A disabled plugin's ``migrations/`` folder, found without importing the plugin."""
    for candidate in candidates:
        module = candidate.module.partition(":")[0]
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            continue
        origin = spec.origin if spec else None
        folder = Path(origin).parent / PLUGIN_MIGRATIONS if origin else None
        if folder is not None and folder.is_dir():
            yield folder.resolve()


# -- upgrading and downgrading ------------------------------------------------------------


def scripts() -> ScriptDirectory:
    """All revisions this app's Alembic commands can see (core and plugin branches)."""
    config = current_app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def core_head() -> str:
    """The newest revision of the core's own migrations."""
    return str(ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head())


def enabled_branches() -> list[str]:
    """The enabled plugins that have a migration branch (labelled with their name)."""
    script = scripts()
    branches = []
    for name, paths in sorted(plugin_locations(current_app).items()):
        if not any(path.glob("*.py") for path in paths):
            continue
        if not _has_branch(script, name):
            raise SchemaError(
                f"Plugin {name!r} has migrations but none labelled branch_labels = ({name!r},)."
            )
        branches.append(name)
    return branches


def _has_branch(script: ScriptDirectory, label: str) -> bool:
    try:
        return bool(script.revision_map.get_revisions(f"{label}@head"))
    except (RevisionError, CommandError):
        return False


def upgrade(sql: bool = False, tag: str | None = None, x_arg: Any = None) -> None:
    """Bring the core and every enabled plugin's branch to their newest revision."""
    flask_migrate.upgrade(str(MIGRATIONS_DIR), core_head(), sql=sql, tag=tag, x_arg=x_arg)
    for name in enabled_branches():
        flask_migrate.upgrade(str(MIGRATIONS_DIR), f"{name}@head", sql=sql, tag=tag, x_arg=x_arg)


def applied(heads: Iterable[str]) -> set[str]:
    """Every revision the database has, given the ``alembic_version`` rows: those and all
    they descend from or depend on."""
    script, seen = scripts(), set()
    todo = [rev for rev in script.get_revisions(tuple(heads)) if rev is not None]
    while todo:
        rev = todo.pop()
        if rev.revision in seen:
            continue
        seen.add(rev.revision)
        below = [*_as_tuple(rev.down_revision), *_as_tuple(rev.dependencies)]
        todo.extend(r for r in script.get_revisions(tuple(below)) if r is not None)
    return seen


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def behind(heads: Iterable[str]) -> list[str]:
    """What ``upgrade()`` would still apply: the core's head and the enabled plugins' heads
    the database lacks (a disabled plugin's tables, there or not, are not asked about)."""
    script, have = scripts(), applied(heads)
    wanted = [core_head()] + [
        rev.revision for name in enabled_branches() for rev in script.get_revisions(f"{name}@head")
    ]
    return [rev for rev in wanted if rev not in have]


def downgrade_plugin(name: str, sql: bool = False) -> None:
    """Undo every migration of one plugin's branch: its tables are dropped, the core's kept."""
    if not _has_branch(scripts(), name):
        raise SchemaError(f"No migration branch is labelled {name!r}.")
    flask_migrate.downgrade(str(MIGRATIONS_DIR), f"{name}@base", sql=sql)
