"""Every hook, called by the core on a test plugin that implements it (tests/plugins/recorder).

``test_every_hook_has_a_test`` fails when a hook spec has no ``test_hook_<name>`` here or
no implementation in the recorder plugin.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, inspect, select

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, Role, User
from kb.services import accounts, contacts, review, submissions
from tests.conftest import (
    ALL_PLUGINS,
    SEARCH_VARIANTS,
    RequestIsolatingClient,
    close_app,
    instance_from,
    make_app,
)
from tests.plugins import hook_names, recorder
from tests.plugins.recorder import MARKER_WORD, calls
from tests.web_helpers import GOOD_PASSWORD, login

TEXT = (
    "Kommunen og bedriftene i regionen laget sammen et løp der flyktninger får språkpraksis "
    "og fagopplæring i lokale bedrifter."
)


@pytest.fixture
def plugins() -> str:
    return f"{ALL_PLUGINS},tests.plugins.recorder"


def _editor() -> User:
    return accounts.create_user("editor@example.org", Role.EDITOR)


def _case(demo_ref: str = "c04") -> Case:
    db.session.rollback()
    return db.session.scalar(select(Case).where(Case.ref == demo_ref))


def test_every_hook_has_a_test_and_a_test_implementation() -> None:
    module = sys.modules[__name__]
    for name in hook_names():
        assert callable(getattr(module, f"test_hook_{name}", None)), f"write test_hook_{name}"
        assert callable(getattr(recorder, name, None)), f"implement {name} in tests/plugins/"


def test_hook_startup(app: Flask) -> None:
    name, blueprints = app.extensions[recorder.RECORD][0]

    assert name == "startup"
    # Called last: every blueprint, the core's and the plugins', is registered by then.
    assert {"public", "exports", "plugin_recorder"} <= set(blueprints)


def test_hook_register_blueprints(client: FlaskClient) -> None:
    response = client.get("/recorder/hello")

    assert response.status_code == 200
    assert "HELLO FROM RECORDER!" in response.text


def test_hook_register_commands(runner: FlaskCliRunner, demo: None) -> None:
    result = runner.invoke(args=["recorder-count"])

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"\d+ published cases\n", result.output)
    assert int(result.output.split()[0]) > 40


def _tables() -> set[str]:
    db.session.remove()  # no transaction of the test's may hold a lock the DDL waits for
    return set(inspect(db.engine).get_table_names())


def test_hook_migration_locations(app: Flask, runner: FlaskCliRunner) -> None:
    """The plugin's branch (found only through the hook) is applied by ``kb db upgrade``
    while it is enabled, and ``kb db downgrade-plugin`` removes its table alone."""
    with app.app_context():
        assert "recorder_note" not in _tables()

        upgraded = runner.invoke(main, ["db", "upgrade"])

        assert upgraded.exit_code == 0, upgraded.output
        assert ("migration_locations",) in calls()
        assert "recorder_note" in _tables()
        checked = runner.invoke(main, ["db", "check"])
        assert checked.exit_code == 0, checked.output

        removed = runner.invoke(main, ["db", "downgrade-plugin", "recorder"])

        assert removed.exit_code == 0, removed.output
        left = _tables()
        assert "recorder_note" not in left
        assert {"case_study", "analytics_search", "alembic_version"} <= left
        # Still enabled, so the check asks for its branch again.
        assert "missing recorder_0001" in runner.invoke(main, ["db", "check"]).output
        unknown = runner.invoke(main, ["db", "downgrade-plugin", "nosuch"])
        assert unknown.exit_code != 0
        assert "No migration branch is labelled 'nosuch'" in unknown.output


def test_hook_prepare_jinja_env(app: Flask) -> None:
    assert app.jinja_env.from_string("{{ 'hei'|shout }}").render() == "HEI!"


def test_hook_page_sections(app: Flask, client: FlaskClient, demo: None) -> None:
    case = _case()
    pages = {
        "case": f"/cases/{case.slug}",
        "event": "/events/nyanlanda-i-jobb",
        "session": "/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere",
        "search": "/search?q=arbeid",
    }
    for slot, url in pages.items():
        html = client.get(url).text
        head, body = html.split("</head>")
        assert '<meta name="recorder" content="head">' in head, url
        # Lower priority first, whatever order the plugin returned them in.
        shown = re.findall(rf'data-slot="{slot}">recorder (\w+) in', body)
        assert shown == ["early", "late"], url
    seen = {(call[1], tuple(call[2])) for call in calls() if call[0] == "page_sections"}
    # What each slot's context promises; `session` is a programme session, never Flask's.
    assert {slot: keys for slot, keys in seen if slot != "head"} == {
        "case": ("case",),
        "event": ("cases", "event"),
        "session": ("cases", "event", "session"),
        "search": ("cases", "results"),
    }


def test_hook_menu_links(client: FlaskClient) -> None:
    home = client.get("/").text
    nav = home[home.index('class="site-nav"') : home.index("</nav>")]
    footer = home[home.index('class="site-footer"') :]

    assert '<a href="/recorder/hello">Recorder in main</a>' in nav
    assert '<a href="/recorder/hello">Recorder in footer</a>' in footer
    assert "Recorder in editor" not in home


def test_hook_menu_links_in_the_editor_menu(client: FlaskClient) -> None:
    accounts.set_password(_editor(), GOOD_PASSWORD)
    login(client, "editor@example.org", GOOD_PASSWORD)
    page = client.get("/editor/").text
    editor_nav = page[page.index('class="editor-nav"') :]
    editor_nav = editor_nav[: editor_nav.index("</nav>")]

    # The core's own entries come first, the plugin's after them.
    assert editor_nav.index(">Review<") < editor_nav.index("Recorder in editor")


@pytest.mark.parametrize("database", SEARCH_VARIANTS, indirect=True)
def test_hook_search_facets(client: FlaskClient, demo: None) -> None:
    data = client.get("/api/v1/search", query_string={"q": "arbeid"}).get_json()
    counts = data["facets"]["parity"]

    assert set(counts) == {"even", "odd"}
    assert sum(counts.values()) == data["total"]
    page = client.get("/search", query_string={"q": "arbeid", "parity": "even"}).text
    assert "Parity of the id" in page
    assert "even ids" in page  # the facet's own value label
    filtered = client.get("/api/v1/search", query_string={"q": "arbeid", "parity": "even"})
    assert filtered.get_json()["total"] == counts["even"]
    assert all(hit["id"] % 2 == 0 for hit in filtered.get_json()["results"])
    bad = client.get("/api/v1/search", query_string={"parity": "Not Valid!"})
    assert bad.status_code == 400


@pytest.mark.parametrize("database", SEARCH_VARIANTS, indirect=True)
def test_hook_index_extras(client: FlaskClient, demo: None) -> None:
    data = client.get("/api/v1/search", query_string={"q": MARKER_WORD, "per_page": 100})

    published = db.session.scalar(
        select(func.count()).select_from(Case).where(Case.status == CaseStatus.PUBLISHED)
    )
    assert data.get_json()["total"] == published
    # Values of facets no plugin declared are not indexed (and cannot be filtered on).
    assert "undeclared" not in data.get_json()["facets"]


def test_hook_search_performed(client: FlaskClient, demo: None) -> None:
    client.get("/search", query_string={"q": "arbeid"}, headers={"Accept-Language": "sv"})
    client.get("/search", query_string={"q": "arbeid", "page": "abc"})  # refused: no search

    searched = [call for call in calls() if call[0] == "search_performed"]
    assert len(searched) == 1
    _name, query, total, language = searched[0]
    assert (query, language) == ("arbeid", "sv")
    assert total > 0


def test_hook_export_formats(client: FlaskClient, demo: None) -> None:
    case = _case()

    one = client.get(f"/cases/{case.slug}/export/titles")
    assert one.status_code == 200
    assert one.mimetype == "text/plain"
    assert one.headers["Content-Disposition"] == f'attachment; filename="{case.slug}.txt"'
    assert one.text == case.title
    listed = client.get("/search/export/titles", query_string={"q": "arbeid", "country": "NO"})
    hits = client.get("/api/v1/search", query_string={"q": "arbeid", "country": "NO"})
    titles = [hit["title"] for hit in hits.get_json()["results"]]
    assert listed.text.splitlines()[: len(titles)] == titles
    assert client.get(f"/cases/{case.slug}/export/nope").status_code == 404
    assert client.get("/search/export/titles?year=1").status_code == 400


def _submitted_case() -> tuple[Case, User]:
    speaker = accounts.create_user("speaker@example.org", Role.SPEAKER)
    fields = {"title": "Språkpraksis", "summary": "Kort.", "body": TEXT, "country": "NO"}
    fields |= {"language": "nb", "themes": ["employment"]}
    case = submissions.save(None, submissions.Submission(fields=fields, submit=True), speaker)
    return case, speaker


def test_hook_case_submitted(app: Flask) -> None:
    case, _speaker = _submitted_case()

    assert ("case_submitted", case.id, "submitted") in calls()


def test_hook_case_published(app: Flask) -> None:
    case, _speaker = _submitted_case()
    review.decide(case, "publish", _editor())

    # After the commit, and after the search index caught up.
    assert ("case_published", case.id, "published", True) in calls()


def test_hook_case_unpublished(app: Flask) -> None:
    case, _speaker = _submitted_case()
    editor = _editor()
    review.decide(case, "publish", editor)
    review.decide(case, "archive", editor)

    assert ("case_unpublished", case.id, "archived", False) in calls()


def test_hook_case_deleted(app: Flask) -> None:
    case, _speaker = _submitted_case()
    case_id, slug = case.id, case.slug
    review.delete_case(case)

    assert calls()[-1] == ("case_deleted", case_id, slug, None)
    assert db.session.get(Case, case_id) is None


def _mia() -> int:
    person = contacts.create_person(
        contacts.PersonFields(name="Mia Berg", email="Mia@Example.org"), by=None
    )
    return person.id


def test_hook_personal_data_export(runner: FlaskCliRunner) -> None:
    """A person's export and an address's both hold what plugins keep under the address."""
    person_id = _mia()

    of_person = json.loads(runner.invoke(main, ["people", "export", str(person_id)]).output)
    of_address = json.loads(
        runner.invoke(main, ["people", "export-address", " MIA@example.org "]).output
    )
    nobody = json.loads(runner.invoke(main, ["people", "export-address", "x@example.org"]).output)

    assert of_person["plugins"] == {"recorder": {"greeted": ["mia@example.org"]}}
    assert of_address == {
        "email": "mia@example.org",
        "people": [person_id],
        "plugins": {"recorder": {"greeted": ["mia@example.org"]}},
    }
    assert nobody["plugins"] == {}


def test_hook_personal_data_erase(runner: FlaskCliRunner) -> None:
    person_id = _mia()

    erased = runner.invoke(main, ["people", "erase", str(person_id), "--yes"])
    by_address = runner.invoke(main, ["people", "erase-address", "mia@example.org", "--yes"])

    assert erased.exit_code == 0, erased.output
    assert "Plugin recorder: 1 record(s) erased." in erased.output
    assert ("personal_data_erase", "mia@example.org") in calls()
    assert "Plugin recorder: 1 record(s) erased." in by_address.output
    assert "People with this address" not in by_address.output


def test_a_rolled_back_change_is_not_announced(app: Flask) -> None:
    case, _speaker = _submitted_case()
    before = list(calls())
    with pytest.raises(RuntimeError), write_transaction():
        case.status = CaseStatus.PUBLISHED
        db.session.flush()
        raise RuntimeError("the commit never happens")

    assert calls() == before
    review.decide(_case_by_id(case.id), "publish", _editor())
    assert [c[0] for c in calls()[len(before) :]] == ["case_published"]


def _case_by_id(case_id: int) -> Case:
    db.session.rollback()
    return db.session.get(Case, case_id)


def test_tracing_shows_every_hook_call_also_those_made_plugin_by_plugin(
    sqlite_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``KB_PLUGINS_TRACE=1`` promises every hook call: the ``case_*`` hooks and
    ``register_blueprints``, called one plugin at a time, go through pluggy too."""
    instance = instance_from(sqlite_template, tmp_path / "instance")
    app = make_app(instance, PLUGINS=f"{ALL_PLUGINS},tests.plugins.recorder", PLUGINS_TRACE=True)
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        assert app.test_client().get("/").status_code == 200
        assert app.test_client().get("/search?q=arbeid").status_code == 200
        assert app.test_cli_runner().invoke(main, ["db", "heads"]).exit_code == 0
        case, _speaker = _submitted_case()
        editor = _editor()
        review.decide(case, "publish", editor)
        review.decide(case, "archive", editor)
        review.delete_case(_case_by_id(case.id))
        runner = app.test_cli_runner()
        assert runner.invoke(main, ["people", "export-address", "a@example.org"]).exit_code == 0
        erased = runner.invoke(main, ["people", "erase-address", "a@example.org", "--yes"])
        assert erased.exit_code == 0
        close_app(app)
    trace = capsys.readouterr().err

    traced = set(re.findall(r"^ *(\w+) \[hook\]$", trace, re.MULTILINE))
    assert [name for name in hook_names() if name not in traced] == []
    assert re.search(r"^ *finish register_blueprints --> \[.*plugin_recorder", trace, re.M)
