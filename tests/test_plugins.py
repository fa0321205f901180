"""The plugin mechanism: which plugins load, how failures surface, order, isolation, docs."""

from __future__ import annotations

import ast
import inspect
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import inspect as inspect_db
from sqlalchemy import select

from kb import create_app, hookspecs
from kb.cli import main
from kb.extensions import db
from kb.models import Case, CaseStatus, Role
from kb.plugins import DEFAULT_PLUGINS, PluginError, configured_names, state
from kb.services import accounts, review
from tests.conftest import RequestIsolatingClient, instance_from, make_app
from tests.plugins import hook_names
from tests.plugins.recorder import calls

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("alerts", "analytics", "exports", "feeds", "ical", "oai_pmh", "related")
AppFactory = Callable[..., Flask]
#: Per first-party plugin: one of its URLs, and what it adds to a case page.
FEATURES: dict[str, tuple[str | None, str | None]] = {
    "exports": ("/cases/{slug}/export/json", 'href="/cases/{slug}/export/csv"'),
    "feeds": ("/feeds/cases.atom", 'type="application/atom+xml"'),
    "ical": ("/events/integrering-i-norden-2018/programme.ics", None),
    "oai_pmh": ("/oai?verb=Identify", None),
    "related": (None, 'id="related"'),
    "analytics": (None, None),
    "alerts": ("/alerts/manage", None),
}


@pytest.fixture
def new_app(sqlite_template: Path, tmp_path: Path) -> Iterator[AppFactory]:
    """Builds apps with the given plugins, each on a fresh copy of the migrated database."""
    built: list[Flask] = []

    def build(plugins: str, **config: object) -> Flask:
        instance = instance_from(sqlite_template, tmp_path / f"instance{len(built)}")
        app = make_app(instance, PLUGINS=plugins, **config)
        app.test_client_class = RequestIsolatingClient
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _without_kb_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KB_")}


def test_the_setting_names_plugins_and_default_stands_for_the_defaults() -> None:
    assert configured_names(None) == list(DEFAULT_PLUGINS)
    assert configured_names("") == []
    assert configured_names("default, oai_pmh") == [*DEFAULT_PLUGINS, "oai_pmh"]
    assert configured_names(["feeds", "feeds", "ical"]) == ["feeds", "ical"]


def test_the_setting_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sqlite_template: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("KB_PLUGINS", "feeds,oai_pmh")
    instance = instance_from(sqlite_template, tmp_path / "instance")
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})

    assert sorted(state(app).enabled) == ["feeds", "oai_pmh"]
    assert "plugin_feeds" in app.blueprints
    assert "plugin_ical" not in app.blueprints


@pytest.mark.parametrize(
    ("plugins", "message"),
    [
        ("default,nosuch", r"Plugin 'nosuch' is listed in KB_PLUGINS but is not installed"),
        ("tests.plugins.broken", r"Plugin 'tests.plugins.broken' failed to import: .*kb_no_such"),
        ("tests.plugins.misspelled", r"Plugin 'misspelled': .*page_section"),
        ("tests.plugins.wrong_blueprint", r"blueprint 'public' must be named 'plugin_wrong_bl"),
    ],
)
def test_a_plugin_that_cannot_load_stops_start_up_naming_it(
    new_app: AppFactory, plugins: str, message: str
) -> None:
    with pytest.raises(PluginError, match=message):
        new_app(plugins)


def test_the_command_line_names_the_plugin_that_stops_start_up(tmp_path: Path) -> None:
    settings = {"KB_INSTANCE_PATH": str(tmp_path), "FLASK_DEBUG": "1", "KB_PLUGINS": "nosuch"}
    result = subprocess.run(
        [sys.executable, "-m", "kb", "plugins"],
        capture_output=True,
        text=True,
        env={**_without_kb_settings(), **settings},
        check=False,
        cwd=ROOT,
    )

    assert result.returncode != 0
    assert "Plugin 'nosuch' is listed in KB_PLUGINS but is not installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_kb_plugins_lists_available_and_enabled_plugins_with_their_hooks(
    new_app: AppFactory,
) -> None:
    app = new_app("feeds,tests.plugins.recorder")
    result = app.test_cli_runner().invoke(main, ["plugins"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(re.match(r"enabled +feeds +first-party: plugins\.feeds", line) for line in lines)
    assert any(re.match(r"disabled +oai_pmh +first-party", line) for line in lines)
    assert any(re.match(r"enabled +recorder +module: tests\.plugins\.recorder", li) for li in lines)
    recorder_hooks = lines[lines.index(next(li for li in lines if "recorder" in li)) + 1]
    assert recorder_hooks.split("hooks: ")[1].split(", ") == hook_names()


def _section_order(app: Flask) -> list[str]:
    with app.app_context():
        assert app.test_cli_runner().invoke(main, ["demo"]).exit_code == 0
        slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
        html = app.test_client().get(f"/cases/{slug}").text
    return re.findall(r'data-slot="case">recorder (\w+) in', html)


def test_the_order_in_the_setting_never_changes_behaviour(new_app: AppFactory) -> None:
    one = _section_order(new_app("tests.plugins.recorder,tests.plugins.early"))
    other = _section_order(new_app("tests.plugins.early,tests.plugins.recorder"))

    # tryfirst puts "first" ahead of the recorder's section of the same priority.
    assert one == other == ["first", "early", "late"]


def test_a_failing_plugin_leaves_the_change_saved_and_other_plugins_informed(
    new_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = new_app("tests.plugins.recorder,tests.plugins.failing")
    with app.app_context():
        assert app.test_cli_runner().invoke(main, ["demo"]).exit_code == 0
        case = db.session.scalar(select(Case).where(Case.status == CaseStatus.PUBLISHED))
        editor = accounts.create_user("editor@example.org", Role.EDITOR)
        review.decide(case, "archive", editor)
        with caplog.at_level(logging.ERROR, logger="kb.plugins"):
            review.decide(case, "publish", editor)

        db.session.rollback()
        assert db.session.get(Case, case.id).status == CaseStatus.PUBLISHED
        assert ("case_published", case.id, "published", True) in calls()
        assert "failing plugin refuses case" in caplog.text


def plugin_code() -> list[Path]:
    """The first-party and example plugins' modules, without their tests (which set up data
    with the core's models and services, as the core's own tests do)."""
    paths = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    return [path for path in paths if "tests" not in path.relative_to(ROOT).parts[2:-1]]


def test_plugins_import_nothing_from_the_core_but_the_toolkit() -> None:
    offenders = []
    for path in plugin_code():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = (
                    [node.module] if node.module != "kb" else [f"kb.{a.name}" for a in node.names]
                )
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if (name == "kb" or name.startswith("kb.")) and name != "kb.toolkit"
            ]
    assert offenders == []


def test_every_hook_is_documented_with_its_signature() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for name in hook_names():
        signature = inspect.signature(getattr(hookspecs, name))
        arguments = ", ".join(signature.parameters)
        heading = f"### `{name}({arguments})`"
        assert heading in docs, f"docs/plugins.md needs a section headed {heading}"
        section = docs.split(heading, 1)[1].split("\n### ", 1)[0]
        assert "```python" in section, f"give {name} an example in docs/plugins.md"


@pytest.mark.parametrize("disabled", FIRST_PARTY)
def test_the_app_works_without_any_one_first_party_plugin(
    new_app: AppFactory, disabled: str
) -> None:
    app = new_app(",".join(name for name in FIRST_PARTY if name != disabled))
    with app.app_context():
        assert app.test_cli_runner().invoke(main, ["demo"]).exit_code == 0
        slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
        client = app.test_client()
        core = [
            "/",
            "/cases/",
            f"/cases/{slug}",
            "/events/",
            "/events/nyanlanda-i-jobb",
            "/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere",
            "/search?q=arbeid&country=NO",
            "/api/v1/search?q=arbeid",
            "/themes/employment",
        ]
        for url in core:
            assert client.get(url).status_code == 200, url
        case_page = client.get(f"/cases/{slug}").text
        for name, (url, sign) in FEATURES.items():
            if url:
                expected = 404 if name == disabled else 200
                assert client.get(url.format(slug=slug)).status_code == expected, url
            if sign:
                assert (sign.format(slug=slug) in case_page) == (name != disabled), name


@contextmanager
def _installed(project: str, package: str) -> Iterator[Path]:
    """An example plugin installed with pip into a folder put on ``sys.path``."""
    target = tempfile.mkdtemp(prefix=f"{project}-")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            target,
            str(ROOT / "examples" / project),
        ],
        check=True,
    )
    sys.path.insert(0, target)
    try:
        yield Path(target)
    finally:
        sys.path.remove(target)
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]
        shutil.rmtree(target, ignore_errors=True)


@pytest.fixture(scope="module")
def installed_example() -> Iterator[Path]:
    with _installed("kb-reading-time", "kb_reading_time") as target:
        yield target


def test_the_installed_example_plugin_adds_its_blueprint_command_section_and_facet(
    installed_example: Path, new_app: AppFactory
) -> None:
    assert (installed_example / "kb_reading_time" / "templates" / "minutes.html").exists()
    app = new_app("default,reading_time")
    with app.app_context():
        runner = app.test_cli_runner()
        assert runner.invoke(main, ["demo"]).exit_code == 0
        listing = runner.invoke(main, ["plugins"]).output
        assert re.search(r"enabled +reading_time +entry point of kb-reading-time", listing)
        minutes = runner.invoke(main, ["reading-time"])
        assert minutes.exit_code == 0
        assert re.search(r"^ +\d+ min  \S+$", minutes.output, re.MULTILINE)

        client = app.test_client()
        slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
        case_page = client.get(f"/cases/{slug}", headers={"Accept-Language": "en"}).text
        assert re.search(r"About \d+ minutes? to read", case_page)
        # Its own translations, merged into the site's catalogues.
        norwegian = client.get(f"/cases/{slug}", headers={"Accept-Language": "nb"}).text
        assert re.search(r"Omtrent \d+ minutt(s|ers) lesing", norwegian)

        search = client.get("/api/v1/search", query_string={"q": "arbeid"}).get_json()
        bands = search["facets"]["reading_time"]
        assert set(bands) <= {"short", "medium", "long"}
        assert sum(bands.values()) == search["total"]
        assert "Reading time" in client.get("/search?q=arbeid").text

        overview = client.get("/reading-time/")
        assert overview.status_code == 200
        assert "/search?reading_time=short" in overview.text
        assert 'href="/reading-time/"' in client.get("/").text  # its footer link


def test_the_example_plugin_with_tables_brings_them_and_takes_them_away(
    new_app: AppFactory,
) -> None:
    """examples/kb-publication-log: its branch comes with ``kb db upgrade`` while enabled,
    it writes its table, and ``kb db downgrade-plugin`` removes the table alone."""
    with _installed("kb-publication-log", "kb_publication_log"):
        app = new_app("default,publog")
        with app.app_context():
            runner = app.test_cli_runner()
            assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
            assert "publog_entry" in inspect_db(db.engine).get_table_names()
            assert runner.invoke(main, ["demo"]).exit_code == 0
            assert runner.invoke(main, ["db", "check"]).exit_code == 0
            slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
            assert f"<code>{slug}</code>" in app.test_client().get("/publication-log/").text

            removed = runner.invoke(main, ["db", "downgrade-plugin", "publog"])

            assert removed.exit_code == 0, removed.output
            tables = inspect_db(db.engine).get_table_names()
            assert "publog_entry" not in tables
            assert {"case_study", "analytics_search"} <= set(tables)
