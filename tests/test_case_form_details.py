"""The case form and "My cases" as a speaker meets them: what is preset, how choices are
made, how numbers look, what a warning says, what each case offers next."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, Event, Organisation, Person, Role, Session, SessionPerson
from kb.services import accounts, catalogue, review
from kb.services.similar_cases import normalised, similar_cases
from tests.web_helpers import (
    GOOD_PASSWORD,
    case_fields,
    form_values,
    login,
    new_case_form,
    with_values,
)

HEROY = "Herøy: tilflyttere, frivilligsentral og gründerstøtte snudde befolkningsutviklingen"


def _speaker(client: FlaskClient, email: str = "speaker@example.org", language: str = "") -> None:
    accounts.set_password(accounts.create_user(email, Role.SPEAKER), GOOD_PASSWORD)
    if language:
        client.set_cookie("kb_lang", language)
    assert login(client, email, GOOD_PASSWORD).status_code == 302


def _copenhagen_session(speaker_email: str, organisation_country: str | None) -> Session:
    """A session at a Danish conference whose speaker works for an organisation elsewhere."""
    organisation = Organisation(slug="org", name="Kommunen", country=organisation_country)
    person = Person(slug="ola", name="Ola Nordmann", email=speaker_email, organisation=organisation)
    event = Event(slug="cph", title="Nordic Integration Forum", city="København", country="DK")
    session = Session(slug="talk", title="Language at work", event=event)
    session.participants.append(SessionPerson(person=person))
    with write_transaction():
        db.session.add_all([organisation, person, event, session])
    return session


def _own_case(client: FlaskClient, **changes: str) -> Case:
    response = client.post(
        "/submissions/new", data=with_values(new_case_form(client), **case_fields(**changes))
    )
    assert response.status_code == 302, response.text
    db.session.rollback()
    return db.session.scalar(
        select(Case).where(Case.owner_id.is_not(None)).order_by(Case.id.desc())
    )


# -- 1. the country comes from the speaker, never from the event ------------------------


def test_the_country_is_the_speakers_organisations_not_the_events(
    app: Flask, client: FlaskClient
) -> None:
    session = _copenhagen_session("ola@example.org", "NO")
    _speaker(client, "ola@example.org", language="da")

    fields = new_case_form(client, f"/submissions/new?session={session.id}")

    assert ("country", "NO") in fields
    assert ("presented_at", f"s{session.id}") in fields
    assert ("contacts-0-name", "Ola Nordmann") in fields


@pytest.mark.parametrize(("language", "country"), [("sv", "SE"), ("fi", "FI"), ("en", "")])
def test_without_an_organisation_the_country_follows_the_language_of_the_site(
    app: Flask, client: FlaskClient, language: str, country: str
) -> None:
    session = _copenhagen_session("ola@example.org", None)
    _speaker(client, "ola@example.org", language=language)

    fields = new_case_form(client, f"/submissions/new?session={session.id}")

    assert ("country", country) in fields


# -- 2. "presented at": checkboxes grouped by event --------------------------------------


def test_presented_at_is_checkboxes_grouped_by_event_with_the_invited_session_ticked(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client)
    naeroy = catalogue.session("nyanlanda-i-jobb", "naeroy")
    page = client.get(f"/submissions/new?session={naeroy.id}").text

    assert '<select id="presented_at"' not in page and "multiple" not in page
    group = page[page.index('id="presented_at-group"') : page.index('id="themes-group"')]
    legends = re.findall(r"<legend>([^<]+)</legend>", group)
    assert legends[0] == "Presented at"
    assert naeroy.event.title in legends
    ticked = re.findall(r'<input checked id="(presented_at-\d+)"[^>]*value="([^"]+)"', page)
    assert [value for _id, value in ticked] == [f"s{naeroy.id}"]
    assert f'for="{ticked[0][0]}">{naeroy.title}</label>' in page

    # A second session ticked keeps the first: both are saved.
    other = db.session.scalar(
        select(Session).where(Session.event_id == naeroy.event_id, Session.id != naeroy.id)
    )
    data = with_values(
        form_values(page, "/submissions/"),
        **case_fields(),
        presented_at=[f"s{naeroy.id}", f"s{other.id}"],
    )
    assert client.post(f"/submissions/new?session={naeroy.id}", data=data).status_code == 302
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    assert {s.id for s in case.sessions} == {naeroy.id, other.id}


# -- 3. "My cases" says where each case stands and offers only what works ---------------


def test_my_cases_shows_a_request_for_changes_and_that_edits_of_a_published_case_are_proposals(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client, language="nb")
    sent_back = _own_case(client, title="Mentorordning for nyankomne", send="y")
    published = _own_case(client, title="Kveldskurs i norsk for foreldre", send="y")
    editor = accounts.create_user("editor@example.org", Role.EDITOR)
    review.decide(sent_back, "request_changes", editor, "Skriv hvor mange som deltok.")
    review.decide(db.session.get(Case, published.id), "publish", editor)

    page = client.get("/submissions/").text

    entry = page[page.index("Mentorordning for nyankomne") :]
    assert "Endringer etterspurt" in entry[:600] and "Skriv hvor mange som deltok." in entry
    # The owner may propose an update of the published case; the editors publish it.
    assert f'href="/submissions/{published.id}"' in page
    assert "Endringer du gjør, går til redaktørene" in page
    for link in re.findall(r'href="(/(?:submissions|cases)/[^"]+)"', page):
        assert client.get(link).status_code == 200, link


# -- 7. numbers in the reader's way of writing them --------------------------------------


@pytest.mark.parametrize(("language", "shown"), [("nb", "75,5"), ("fi", "75,5"), ("en", "75.5")])
def test_a_decimal_comes_back_as_the_reader_wrote_it(
    app: Flask, client: FlaskClient, demo: None, language: str, shown: str
) -> None:
    _speaker(client, language=language)
    case = _own_case(
        client, key_figures__0__label="Deltakere i arbeid", key_figures__0__value="75,5"
    )
    assert case.key_figures[0].value == 75.5

    fields = form_values(client.get(f"/submissions/{case.id}").text, "/submissions/")

    assert ("key_figures-0-value", shown) in fields
    resaved = client.post(f"/submissions/{case.id}", data=with_values(fields, save="y"))
    assert resaved.status_code == 302
    db.session.rollback()
    assert db.session.get(Case, case.id).key_figures[0].value == 75.5


def test_key_figures_on_the_public_page_follow_the_readers_language(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client)
    case = _own_case(
        client, key_figures__0__label="Deltakere i arbeid", key_figures__0__value="1234,5", send="y"
    )
    review.decide(case, "publish", accounts.create_user("editor@example.org", Role.EDITOR))

    client.set_cookie("kb_lang", "nb")
    assert "1\u00a0234,5" in client.get(f"/cases/{case.slug}").text
    client.set_cookie("kb_lang", "en")
    assert "1,234.5" in client.get(f"/cases/{case.slug}").text


# -- 8. a warning when the case looks like one that exists -------------------------------


def test_titles_are_compared_without_case_accents_or_punctuation(app: Flask, demo: None) -> None:
    assert normalised("Herøy: Tilflyttere!") == "heroy tilflyttere"
    found = similar_cases(HEROY.upper().replace(":", " –"))
    assert [c.title for c in found] == [HEROY]
    assert similar_cases("Herøy") == []  # too short to say anything
    assert similar_cases("Kveldskurs i norsk for foreldre med små barn") == []


def test_a_similar_title_in_the_same_municipality_is_enough(app: Flask, demo: None) -> None:
    title = "Herøy: tilflyttere og frivilligsentral i Helgeland"
    assert similar_cases(title) == []
    found = similar_cases(title, municipality="Herøy kommune, Helgeland (Nordland)")
    assert [c.title for c in found] == [HEROY]


def test_submitting_a_case_like_an_existing_one_warns_first_and_sends_on_request(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client)
    heroy = db.session.scalar(select(Case).where(Case.title == HEROY))
    fields = with_values(new_case_form(client), **case_fields(title=HEROY.lower()), send="y")

    warned = client.post("/submissions/new", data=fields)

    assert warned.status_code == 200
    assert "A similar case already exists" in warned.text
    assert f'href="/cases/{heroy.slug}"' in warned.text
    assert "Submit anyway" in warned.text
    assert db.session.scalar(select(Case).where(Case.owner_id.is_not(None))) is None
    again = with_values(form_values(warned.text, "/submissions/"), send="y")
    assert ("similar_seen", "y") in form_values(warned.text, "/submissions/")
    assert client.post("/submissions/new", data=again).status_code == 302
    db.session.rollback()
    mine = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    assert mine.status == CaseStatus.SUBMITTED and mine.title == HEROY.lower()


def test_the_preview_mentions_a_similar_case_without_stopping_anything(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client)
    fields = with_values(new_case_form(client), **case_fields(title=HEROY), preview="y")

    page = client.post("/submissions/new", data=fields)

    assert page.status_code == 200 and "A similar case already exists" in page.text
    assert "Submit anyway" not in page.text


# -- 11. a missing theme is named as such -------------------------------------------------


def test_a_missing_theme_says_choose_a_theme_in_the_readers_language(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client, language="nb")
    fields = with_values(new_case_form(client), **case_fields(themes=[]), send="y")

    page = client.post("/submissions/new", data=fields).text

    errors = page[page.index('id="themes-errors"') :]
    assert "Velg minst ett tema." in errors[:200]
    assert not re.search(r'<input[^>]*name="themes"[^>]*required', page)


# -- 12. the main action stands out ---------------------------------------------------------


def test_submit_for_review_is_the_one_primary_button_after_preview_and_save(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _speaker(client)
    page = client.get("/submissions/new").text
    actions = page[page.index('<div class="actions">') :]
    buttons = re.findall(r'<input class="([^"]+)" id="(\w+)" name="\w+" type="submit"', actions)

    assert [name for _c, name in buttons] == ["preview", "save", "send"]
    assert [c for c, name in buttons if "button--primary" in c] == ["button button--primary"]
