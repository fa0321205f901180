"""The editors' review page speaks in words, compares lists item by item, shows the case as
it will be published, opens its files; restoring a version is a proposal first."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseRevision, CaseStatus, Role
from kb.services import revision_diff
from tests import review_scenario
from tests.review_scenario import Scenario
from tests.web_helpers import GOOD_PASSWORD, csrf_token, form_values, login, with_values


@pytest.fixture
def scenario(app: Flask) -> Scenario:
    return review_scenario.build()


def _as(client: FlaskClient, who: str) -> FlaskClient:
    assert login(client, f"{who}@example.org", GOOD_PASSWORD).status_code == 302
    return client


def _status(client: FlaskClient, url: str) -> int:
    with client.get(url) as answer:
        return answer.status_code


def _case(case_id: int) -> Case:
    db.session.rollback()
    case = db.session.get(Case, case_id)
    assert case is not None
    return case


def test_one_changed_key_figure_is_the_only_change_and_reads_in_words(
    client: FlaskClient, scenario: Scenario
) -> None:
    page = _as(client, "editor").get(
        f"/editor/cases/{scenario.in_review.id}", headers={"Accept-Language": "nb"}
    )

    assert page.status_code == 200
    changes = page.text.split('id="changes"')[1].split("</section>")[0]
    assert "Nøkkeltall" in changes
    assert "I arbeid etter ett år</span>: <del>12</del> → <ins>14</ins>" in changes
    assert "av 16" in changes
    assert "Bedrifter med" not in changes  # the unchanged figure is not shown as changed
    assert changes.count("<li") == 1
    for code in ("14.0", "value:", "consent_to_publish_contact", "employment / ", ": True"):
        assert code not in page.text


def test_the_preview_shows_the_whole_case_with_labels_and_an_openable_file(
    client: FlaskClient, scenario: Scenario
) -> None:
    page = (
        _as(client, "editor")
        .get(f"/editor/cases/{scenario.in_review.id}", headers={"Accept-Language": "nb"})
        .text
    )

    preview = page.split('id="case-preview"')[1].split('id="history"')[0]
    assert "Norge" in preview and "Arbeid" in preview  # country and theme in words
    assert "I arbeid etter ett år" in preview and "Bedrifter med" in preview
    assert "Kari Nordmann" in preview and "kari@fjordvik.example" in preview  # consented
    [link] = [
        part.split('"')[0]
        for part in preview.split('href="')[1:]
        if f"/submissions/{scenario.in_review.id}/files/" in part
    ]
    with client.get(link) as opened:
        assert opened.status_code == 200
        assert opened.data == review_scenario.SLIDES_PDF
        assert "lysbilder.pdf" in opened.headers["Content-Disposition"]


def test_only_editors_and_the_author_open_a_case_file_before_publication(
    app: Flask, scenario: Scenario
) -> None:
    case = scenario.in_review
    [material] = case.materials
    url = f"/submissions/{case.id}/files/{material.id}/lysbilder.pdf"
    review_scenario.user("other@example.org", Role.SPEAKER)

    assert _status(app.test_client(), url) == 302  # to log in
    assert _status(_as(app.test_client(), "other"), url) == 403
    assert _status(_as(app.test_client(), "speaker"), url) == 200
    assert _status(_as(app.test_client(), "editor"), url) == 200
    assert _status(app.test_client(), f"/materials/{material.id}/lysbilder.pdf") == 404


def test_lists_are_compared_item_by_item() -> None:
    kari = {"person_id": 1, "name": "Kari", "consent_to_publish_contact": False}
    old = {
        "key_figures": [{"label": "A", "value": 1.0}, {"label": "B", "value": 2.0}],
        "contacts": [kari, {"person_id": 2, "name": "Ola"}],
        "materials": [{"file": "x.pdf", "title": "Slides"}],
    }
    new = {
        "key_figures": [{"label": "A", "value": 1.0}, {"label": "B", "value": 3.0}],
        "contacts": [kari | {"consent_to_publish_contact": True}],
        "materials": [{"file": "x.pdf", "title": "Slides"}, {"file": "y.pdf", "title": "Report"}],
    }

    found = {c.field: c.items for c in revision_diff.changes(old, new)}

    assert [(i.state, i.before["value"], i.after["value"]) for i in found["key_figures"]] == [
        ("changed", 2.0, 3.0)
    ]
    assert [(i.state, (i.before or i.after)["name"]) for i in found["contacts"]] == [
        ("removed", "Ola"),
        ("changed", "Kari"),
    ]
    assert found["contacts"][1].differs("consent_to_publish_contact")
    assert [(i.state, i.after["file"]) for i in found["materials"]] == [("added", "y.pdf")]


def test_restoring_a_published_case_is_a_proposal_until_an_editor_publishes_it(
    client: FlaskClient, scenario: Scenario
) -> None:
    case = scenario.published
    editor = _as(client, "editor")
    confirm = editor.get(f"/editor/cases/{case.id}/revisions/1/restore")

    assert confirm.status_code == 200
    assert "<del>Andre</del><ins>Første</ins>" in confirm.text
    assert "Files: the files attached now are kept." in confirm.text
    assert _case(case.id).summary == "Andre utgave, med lysbilder."  # nothing yet

    proposed = editor.post(
        f"/editor/cases/{case.id}/revisions/1/restore",
        data={"csrf_token": csrf_token(confirm.text), "mode": "propose"},
    )

    assert proposed.status_code == 302
    live = _case(case.id)
    assert (live.status, live.summary) == (CaseStatus.PUBLISHED, "Andre utgave, med lysbilder.")
    assert "Andre utgave" in client.get(f"/cases/{live.slug}").text
    waiting = editor.get("/editor/").text.split("Proposed versions of published cases")[1]
    assert live.title in waiting
    review_page = editor.get(f"/editor/cases/{case.id}")
    assert 'id="proposal"' in review_page.text

    published = editor.post(
        f"/editor/cases/{case.id}/proposal",
        data={"csrf_token": csrf_token(review_page.text), "decision": "publish"},
    )

    assert published.status_code == 302
    live = _case(case.id)
    assert live.summary == "Første utgave."
    assert [m.original_filename for m in live.materials] == ["kafe.pdf"]  # the slides stay
    actions = [
        r.action
        for r in db.session.scalars(
            select(CaseRevision)
            .where(CaseRevision.case_id == case.id)
            .order_by(CaseRevision.number)
        )
    ]
    assert actions[-2:] == ["proposed", "restored"]


def test_an_editor_may_restore_and_publish_in_one_explicit_step(
    client: FlaskClient, scenario: Scenario
) -> None:
    case = scenario.published
    editor = _as(client, "editor")
    confirm = editor.get(f"/editor/cases/{case.id}/revisions/1/restore")
    assert 'value="publish"' in confirm.text

    done = editor.post(
        f"/editor/cases/{case.id}/revisions/1/restore",
        data={"csrf_token": csrf_token(confirm.text), "mode": "publish"},
    )

    assert done.status_code == 302
    assert _case(case.id).summary == "Første utgave."


def test_a_speaker_may_only_propose_for_their_published_case(
    app: Flask, scenario: Scenario
) -> None:
    case = scenario.published
    url = f"/editor/cases/{case.id}/revisions/1/restore"
    speaker = _as(app.test_client(), "speaker")
    confirm = speaker.get(url)
    assert confirm.status_code == 200
    assert 'value="propose"' in confirm.text and 'value="publish"' not in confirm.text

    refused = speaker.post(url, data={"csrf_token": csrf_token(confirm.text), "mode": "publish"})
    assert refused.status_code == 400
    assert _case(case.id).summary == "Andre utgave, med lysbilder."

    proposed = speaker.post(url, data={"csrf_token": csrf_token(confirm.text), "mode": "propose"})
    assert proposed.status_code == 302
    assert _case(case.id).summary == "Andre utgave, med lysbilder."

    review_scenario.user("other@example.org", Role.SPEAKER)
    assert _as(app.test_client(), "other").get(url).status_code == 403
    assert app.test_client().get(url).status_code == 302  # to log in


def test_a_speaker_restores_their_own_draft_at_once(app: Flask, scenario: Scenario) -> None:
    case = scenario.in_review
    url = f"/editor/cases/{case.id}/revisions/1/restore"
    speaker = _as(app.test_client(), "speaker")
    confirm = speaker.get(url)
    assert "<del>14</del> → <ins>12</ins>" in confirm.text

    done = speaker.post(url, data={"csrf_token": csrf_token(confirm.text), "mode": "restore"})

    assert done.status_code == 302
    assert [k.value for k in _case(case.id).key_figures] == [12, 9]


def test_a_restore_without_a_valid_csrf_token_changes_nothing(
    client: FlaskClient, scenario: Scenario
) -> None:
    case = scenario.published
    editor = _as(client, "editor")

    refused = editor.post(
        f"/editor/cases/{case.id}/revisions/1/restore",
        data={"csrf_token": "forged", "mode": "publish"},
        headers={"Accept-Language": "nb"},
    )

    assert refused.status_code == 400
    assert "Skjemaet" in refused.text or "skjemaet" in refused.text
    assert _case(case.id).summary == "Andre utgave, med lysbilder."


def test_the_speakers_preview_shows_the_whole_case_as_it_will_be_published(
    client: FlaskClient, scenario: Scenario
) -> None:
    case = scenario.in_review
    speaker = _as(client, "speaker")
    fields = form_values(speaker.get(f"/submissions/{case.id}").text, f"/submissions/{case.id}")

    shown = speaker.post(
        f"/submissions/{case.id}",
        data=with_values(
            fields,
            contacts__1__name="Ola Hansen",
            contacts__1__email="ola@fjordvik.example",
            contacts__1__consent="y",
            contacts__2__name="Per Berg",
            contacts__2__email="per@fjordvik.example",
            preview="y",
        ),
        headers={"Accept-Language": "nb"},
    )

    assert shown.status_code == 200
    preview = shown.text.split('id="preview-title"')[1].split("<form")[0]
    assert "Norge" in preview and "Arbeid" in preview  # country and theme in words
    assert "I arbeid etter ett år" in preview and "14" in preview
    assert "ola@fjordvik.example" in preview  # consented
    assert "Per Berg" in preview and "per@fjordvik.example" not in preview  # did not
    assert f"/submissions/{case.id}/files/" in preview  # the attached file opens
    assert _case(case.id).contacts[0].person.name == "Kari Nordmann"  # nothing saved
    assert len(_case(case.id).contacts) == 1


def test_a_relabelled_key_figure_is_one_changed_figure_but_contacts_keep_their_identity() -> None:
    old = {
        "key_figures": [{"label": "Employed after 1 year", "value": 12.0, "unit": "of 16"}],
        "contacts": [{"person_id": 1, "name": "Kari"}],
    }
    new = {
        "key_figures": [{"label": "Employed after one year", "value": 12.0, "unit": "of 16"}],
        "contacts": [{"person_id": 2, "name": "Ola"}],
    }

    found = {c.field: c.items for c in revision_diff.changes(old, new)}

    [figure] = found["key_figures"]
    assert figure.state == "changed" and figure.differs("label") and not figure.differs("value")
    assert [i.state for i in found["contacts"]] == ["removed", "added"]


def test_a_speaker_cannot_bring_back_a_session_that_no_longer_exists(
    app: Flask, scenario: Scenario
) -> None:
    case = scenario.in_review
    with write_transaction():
        first = db.session.scalar(
            select(CaseRevision).where(CaseRevision.case_id == case.id, CaseRevision.number == 1)
        )
        first.data = {**first.data, "sessions": [{"event": "Avlyst seminar", "session": None}]}
    url = f"/editor/cases/{case.id}/revisions/1/restore"
    speaker = _as(app.test_client(), "speaker")
    confirm = speaker.get(url)

    refused = speaker.post(url, data={"csrf_token": csrf_token(confirm.text), "mode": "restore"})

    assert refused.status_code == 409
    assert "Avlyst seminar" in refused.text and 'role="alert"' in refused.text
    assert [k.value for k in _case(case.id).key_figures] == [14, 9]
    assert _case(case.id).presentations == []


def test_a_version_that_no_longer_fits_the_format_is_refused_not_an_error(
    client: FlaskClient, scenario: Scenario
) -> None:
    case = scenario.published
    with write_transaction():
        first = db.session.scalar(
            select(CaseRevision).where(CaseRevision.case_id == case.id, CaseRevision.number == 1)
        )
        first.data = {**first.data, "country": "XX-not-a-country"}
    editor = _as(client, "editor")
    url = f"/editor/cases/{case.id}/revisions/1/restore"
    confirm = editor.get(url)

    refused = editor.post(url, data={"csrf_token": csrf_token(confirm.text), "mode": "publish"})

    assert refused.status_code == 409
    assert "cannot be restored" in refused.text
    assert _case(case.id).summary == "Andre utgave, med lysbilder."
