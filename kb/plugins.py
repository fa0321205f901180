"""Finding, enabling and calling plugins: one ``pluggy.PluginManager`` per app.

A plugin is a module (or package) with ``@hookimpl`` functions. It is *available* when
it is a sub-package of the first-party ``plugins`` package, when an installed
distribution names it in the ``kb.plugins`` entry-point group, or (for site-specific
plugins) when ``KB_PLUGINS`` names it by its dotted module path. Only the plugins listed
in ``KB_PLUGINS`` are enabled; a listed plugin that is missing or fails to import stops
start-up with a message naming it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from flask import Blueprint, Flask, current_app
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from kb import hookspecs
from kb.config import ConfigurationError
from kb.hookspecs import ExportFormat, Facet, ResultLink
from kb.search.backend import FACETS
from kb.services.indexing import PluginExtras

log = logging.getLogger(__name__)

EXTENSION = "kb.plugins"
ENTRY_POINT_GROUP = "kb.plugins"
FIRST_PARTY_PACKAGE = "plugins"
#: Enabled when ``KB_PLUGINS`` is not set; the word ``default`` in it stands for these.
DEFAULT_PLUGINS: tuple[str, ...] = ("analytics", "exports", "feeds", "ical", "related")
DEFAULT_KEYWORD = "default"
#: Hooks whose implementations are called one by one (to name or isolate the plugin), each
#: through a pluggy caller of its own (``_one_by_one``).
_ONE_BY_ONE = (
    "register_blueprints",
    "case_submitted",
    "case_published",
    "case_unpublished",
    "case_deleted",
    "migration_locations",
    "search_performed",
    "personal_data_export",
    "personal_data_erase",
)


class PluginError(ConfigurationError):
    """A plugin cannot be enabled; the message names it and says why."""


@dataclass(frozen=True)
class Candidate:
    """A plugin that could be enabled, and where it comes from."""

    name: str
    origin: str
    module: str


@dataclass
class Plugins:
    """The state of one app's plugins, kept in ``app.extensions``."""

    manager: pluggy.PluginManager
    enabled: dict[str, ModuleType]
    facets: tuple[Facet, ...] = ()
    export_formats: dict[str, ExportFormat] = field(default_factory=dict)


# -- discovery and configuration ------------------------------------------------------


def available() -> dict[str, list[Candidate]]:
    """Every plugin that could be enabled, by name (more than one is a conflict)."""
    found: dict[str, list[Candidate]] = {}
    package = importlib.import_module(FIRST_PARTY_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            module = f"{FIRST_PARTY_PACKAGE}.{info.name}"
            found.setdefault(info.name, []).append(Candidate(info.name, "first-party", module))
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point of {entry.dist.name}" if entry.dist else "entry point"
        found.setdefault(entry.name, []).append(Candidate(entry.name, origin, entry.value))
    return found


def configured_names(setting: str | Iterable[str] | None) -> list[str]:
    """The plugin names ``KB_PLUGINS`` asks for, in order, with ``default`` expanded."""
    if setting is None:
        return list(DEFAULT_PLUGINS)
    items = setting.split(",") if isinstance(setting, str) else list(setting)
    names: list[str] = []
    for item in (i.strip() for i in items):
        for name in DEFAULT_PLUGINS if item == DEFAULT_KEYWORD else (item,):
            if name and name not in names:
                names.append(name)
    return names


def _load(name: str, candidates: dict[str, list[Candidate]]) -> tuple[str, ModuleType]:
    """Import one enabled plugin; returns the name it is registered under."""
    if "." in name:  # a site-specific plugin named by its module path
        module_path, short = name, name.rpartition(".")[2]
    else:
        options = candidates.get(name, [])
        if not options:
            known = ", ".join(sorted(candidates)) or "none"
            raise PluginError(
                f"Plugin {name!r} is listed in KB_PLUGINS but is not installed "
                f"(available: {known})."
            )
        if len(options) > 1:
            origins = "; ".join(f"{c.module} ({c.origin})" for c in options)
            raise PluginError(f"Plugin {name!r} is provided more than once: {origins}.")
        module_path, short = options[0].module, name
    try:
        return short, importlib.import_module(module_path.partition(":")[0])
    except Exception as exc:
        raise PluginError(f"Plugin {name!r} failed to import: {exc!r}") from exc


# -- set-up -----------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Enable the configured plugins, before the extensions that read what they add."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    candidates = available()
    enabled: dict[str, ModuleType] = {}
    # Registered in name order, so the order of KB_PLUGINS never changes behaviour.
    loaded = [_load(name, candidates) for name in configured_names(app.config.get("PLUGINS"))]
    for name, module in sorted(loaded, key=lambda item: item[0]):
        if name in enabled:
            raise PluginError(f"Two enabled plugins are both named {name!r}.")
        manager.register(module, name=name)
        enabled[name] = module
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"Plugin {manager.get_name(exc.plugin)!r}: {exc}") from exc
    _refuse_wrappers(manager)
    if app.config.get("PLUGINS_TRACE"):
        manager.trace.root.setwriter(sys.stderr.write)
        manager.enable_tracing()
    app.extensions[EXTENSION] = Plugins(
        manager=manager,
        enabled=enabled,
        facets=_facets(manager.hook),
        export_formats=_export_formats(manager.hook),
    )
    _add_template_folders(app, enabled)
    _add_translation_folders(app, enabled)


def _refuse_wrappers(manager: pluggy.PluginManager) -> None:
    for name in _ONE_BY_ONE:
        for impl in getattr(manager.hook, name).get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                raise PluginError(f"Plugin {impl.plugin_name!r}: {name} cannot be a wrapper.")


def package_folder(module: ModuleType, name: str) -> Path | None:
    """A folder next to a plugin's module (``templates``, ``translations``, ``migrations``)."""
    origin = getattr(module, "__file__", None)
    folder = Path(origin).parent / name if origin else None
    return folder if folder is not None and folder.is_dir() else None


def _add_template_folders(app: Flask, enabled: dict[str, ModuleType]) -> None:
    """A plugin's ``templates/x.html`` is ``<plugin name>/x.html`` to ``render_template``."""
    folders = {name: package_folder(module, "templates") for name, module in enabled.items()}
    prefixed = {name: FileSystemLoader(str(f)) for name, f in folders.items() if f}
    if prefixed and app.jinja_loader is not None:
        app.jinja_loader = ChoiceLoader([app.jinja_loader, PrefixLoader(prefixed)])


def _add_translation_folders(app: Flask, enabled: dict[str, ModuleType]) -> None:
    """Plugins' catalogues are merged into the core's (the core's wins on a clash)."""
    folders = [f for m in enabled.values() if (f := package_folder(m, "translations"))]
    if folders:
        core = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join([*map(str, folders), core])


def wire(app: Flask) -> None:
    """After the core's blueprints: the plugins' blueprints, commands, Jinja, then startup."""
    plugins = state(app)
    hook = plugins.manager.hook
    with app.app_context():
        for plugin_name, blueprints in call_each("register_blueprints", app=app, plugins=plugins):
            for blueprint in blueprints:
                _register_blueprint(app, plugin_name, blueprint)
        hook.register_commands(cli=app.cli)
        hook.prepare_jinja_env(env=app.jinja_env)
        hook.startup(app=app)


def _register_blueprint(app: Flask, plugin_name: str, blueprint: Blueprint) -> None:
    expected = f"plugin_{plugin_name}"
    if blueprint.name != expected and not blueprint.name.startswith(f"{expected}_"):
        raise PluginError(
            f"Plugin {plugin_name!r}: blueprint {blueprint.name!r} must be named "
            f"{expected!r} (or {expected}_<suffix>)."
        )
    if blueprint.name in app.blueprints:
        raise PluginError(f"Plugin {plugin_name!r}: blueprint {blueprint.name!r} exists already.")
    app.register_blueprint(blueprint)


def _facets(hook: Any) -> tuple[Facet, ...]:
    facets: dict[str, Facet] = {}
    for facet in flatten(hook.search_facets()):
        if facet.name in FACETS:
            raise PluginError(f"A plugin's facet uses a core facet's name: {facet.name!r}.")
        if facet.name in facets:
            raise PluginError(f"Two facets are named {facet.name!r}.")
        facets[facet.name] = facet
    return tuple(facets.values())


def _export_formats(hook: Any) -> dict[str, ExportFormat]:
    formats: dict[str, ExportFormat] = {}
    for export in flatten(hook.export_formats()):
        if export.key in formats:
            raise PluginError(f"Two export formats are named {export.key!r}.")
        formats[export.key] = export
    return formats


# -- calling ------------------------------------------------------------------------------


def state(app: Flask | None = None) -> Plugins:
    return (app or current_app).extensions[EXTENSION]


def hook(app: Flask | None = None) -> Any:
    """The app's hook caller: ``hook().page_sections(slot=..., context=...)``."""
    return state(app).manager.hook


def _one_by_one(name: str, plugins: Plugins | None) -> Iterator[tuple[str, Any]]:
    """For each implementation of a hook, in pluggy's call order (tryfirst first, trylast
    last), its plugin's name and a pluggy caller for it alone: a call still goes through
    pluggy, so ``KB_PLUGINS_TRACE`` shows it like any other."""
    manager = (plugins or state()).manager
    implementations = list(reversed(getattr(manager.hook, name).get_hookimpls()))
    everyone = {impl.plugin for impl in implementations}
    for impl in implementations:
        yield impl.plugin_name, manager.subset_hook_caller(name, everyone - {impl.plugin})


def call_each(
    name: str, *, plugins: Plugins | None = None, **kwargs: Any
) -> Iterator[tuple[str, Any]]:
    """Call a hook's implementations one by one, with the name of each one's plugin."""
    for plugin_name, caller in _one_by_one(name, plugins):
        yield plugin_name, list(flatten(caller(**kwargs)))


def answers(name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Each plugin's answer to a hook as it gave it (a mapping stays whole), with its name;
    plugins answering ``None`` are left out. A plugin's failure raises."""
    for plugin_name, caller in _one_by_one(name, None):
        for answer in caller(**kwargs):
            yield plugin_name, answer


def announce(name: str, **kwargs: Any) -> None:
    """Tell every plugin about a change; one plugin's failure does not stop the others."""
    for plugin_name, caller in _one_by_one(name, None):
        try:
            caller(**kwargs)
        except Exception:
            log.exception("Plugin %r failed in %s; the change itself is saved", plugin_name, name)


def searched(search: Any, results: Any, language: str) -> ResultLink | None:
    """Tell every plugin about an answered search; a failing plugin is logged and skipped, so
    it can never fail the search. Returns the one ``ResultLink`` a plugin may ask for."""
    links: list[tuple[str, ResultLink]] = []
    for plugin_name, caller in _one_by_one("search_performed", None):
        try:
            answers = list(flatten(caller(search=search, results=results, language=language)))
        except Exception:
            log.exception(
                "Plugin %r failed in search_performed; the search is answered", plugin_name
            )
            continue
        links.extend((plugin_name, a) for a in answers if isinstance(a, ResultLink))
    if len(links) > 1:
        log.warning(
            "Plugins %s all route result links; %r wins", [n for n, _ in links], links[0][0]
        )
    return links[0][1] if links else None


def flatten(results: Iterable[Any]) -> Iterator[Any]:
    """Hook results are ``None``, one value or an iterable of values: all values, in order."""
    for result in results:
        yield from _as_list(result)


def _as_list(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, Iterable) and not isinstance(result, (str, bytes, Blueprint)):
        return list(result)
    return [result]


def facets() -> tuple[Facet, ...]:
    return state().facets


def search_extras(app: Flask) -> PluginExtras:
    """What the enabled plugins add to the search index (``kb.services.indexing.init_app``)."""
    caller = hook(app)
    return PluginExtras(
        facets=tuple(facet.name for facet in state(app).facets),
        of=lambda case: list(flatten(caller.index_extras(case=case))),
    )


def export_formats() -> dict[str, ExportFormat]:
    return state().export_formats


def describe(app: Flask) -> Iterator[tuple[str, str, bool, list[str]]]:
    """(name, origin, enabled, hooks) for every available or enabled plugin."""
    plugins = state(app)
    seen = set()
    for name, options in sorted(available().items()):
        for candidate in options:
            module = plugins.enabled.get(name)
            enabled = module is not None and module.__name__ == candidate.module.partition(":")[0]
            yield name, f"{candidate.origin}: {candidate.module}", enabled, _hooks(plugins, name)
            seen.add(name)
    for name, module in sorted(plugins.enabled.items()):
        if name not in seen:
            yield name, f"module: {module.__name__}", True, _hooks(plugins, name)


def _hooks(plugins: Plugins, name: str) -> list[str]:
    plugin = plugins.manager.get_plugin(name)
    callers = plugins.manager.get_hookcallers(plugin) if plugin else None
    return sorted(caller.name for caller in callers or [])
