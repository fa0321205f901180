"""Hostile uploads: answered at once, kept, marked, and never parsed again by a write.

Each file is uploaded through the real routes; its text is read in the real child process
(with a 1-second CPU limit here, so the suite stays quick), and the writes that follow are
counted for the child processes they start: none.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Material, Role, TextStatus
from kb.services import accounts, tokens
from kb.services.extraction import sandbox
from kb.services.extraction.reader import DOCX
from kb.services.materials import kept_upload
from tests.factories import W_NS, make_docx, make_pdf, pdf_with_stream
from tests.web_helpers import (
    GOOD_PASSWORD,
    case_fields,
    csrf_token,
    form_values,
    login,
    new_case_form,
    post_form,
    with_values,
)

EDITOR = "editor@example.org"
CASE = {
    "title": "Språkpraksis i lokale bedrifter i Vang",
    "language": "nb",
    "country": "NO",
    "summary": "Flyktninger lærer norsk på jobb.",
    "body": "Kommunen og bedriftene laget et løp med språkpraksis.",
    "status": "published",
}
NOTE_NB = "Teksten kunne ikke leses for søk."


# --- the hostile files ---------------------------------------------------------------------


def many_operators_pdf(_tmp: Path) -> bytes:
    """One page of 200,000 text operators, 12 kB compressed (18-30 s in pypdf before)."""
    return pdf_with_stream(
        b"BT /F1 12 Tf\n" + b"1 0 0 1 0 0 Tm ( ) Tj\n" * 200_000 + b"(x) Tj ET\n", pages=1
    )


def shared_stream_pdf(_tmp: Path) -> bytes:
    """500 pages drawing one content stream, 78 kB (about 15 s of pypdf's time before)."""
    return pdf_with_stream(b"BT /F1 12 Tf\n" + b"0 0 Td\n" * 3000 + b"ET\n", pages=500)


def empty_paragraphs_docx(tmp: Path) -> bytes:
    """86 kB holding 4 million empty paragraphs: 7 s of CPU to parse, and no text."""
    body = "<w:p></w:p>" * 4_000_000
    xml = f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    return make_docx(tmp / "paragraphs.docx", xml).read_bytes()


def zip_bomb_docx(tmp: Path) -> bytes:
    """A DOCX whose 60 kB document inflates to 60 MB."""
    return make_docx(tmp / "bomb.docx", b" " * (60 * 1024 * 1024)).read_bytes()  # type: ignore[arg-type]


def billion_laughs_docx(tmp: Path) -> bytes:
    entities = "".join(
        f'<!ENTITY {name} "{("&" + previous + ";") * 10}">'
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "haha">{entities}]>'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    return make_docx(tmp / "laughs.docx", xml).read_bytes()


def utf16_doctype_docx(tmp: Path) -> bytes:
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE w:document [<!ENTITY a "x">]>'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&a;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    ).encode("utf-16")
    return make_docx(tmp / "utf16.docx", xml).read_bytes()  # type: ignore[arg-type]


HOSTILE: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "many-operators": (many_operators_pdf, "ops.pdf"),
    "shared-stream": (shared_stream_pdf, "shared.pdf"),
    "empty-paragraphs": (empty_paragraphs_docx, "paragraphs.docx"),
    "zip-bomb": (zip_bomb_docx, "bomb.docx"),
    "billion-laughs": (billion_laughs_docx, "laughs.docx"),
    "utf16-doctype": (utf16_doctype_docx, "utf16.docx"),
}


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def small_limits(app: Flask) -> None:
    app.config.update(
        EXTRACT_CPU_SECONDS=1, EXTRACT_TIMEOUT_SECONDS=20, API_WRITE_LIMIT="1000 per minute"
    )


@pytest.fixture
def token(app: Flask) -> dict[str, str]:
    """An editor's API token (the editor may also log in to the web pages)."""
    user = accounts.create_user(EDITOR, Role.EDITOR)
    accounts.set_password(user, GOOD_PASSWORD)
    return {"Authorization": f"Bearer {tokens.create_token(user, 'tests')[1]}"}


def children(app: Flask) -> int:
    """Extraction processes the app has started so far."""
    return sandbox.counter(app).children


def materials() -> list[Material]:
    db.session.rollback()  # see what the requests committed
    return list(db.session.scalars(select(Material).order_by(Material.id)))


def search_ids(client: FlaskClient, q: str) -> list[int]:
    found = client.get("/api/v1/search", query_string={"q": q})
    assert found.status_code == 200
    return [hit["id"] for hit in found.get_json()["results"]]


def upload(client: FlaskClient, token: dict[str, str], case_id: int, data: bytes, name: str) -> Any:
    return client.post(
        f"/api/v1/cases/{case_id}/materials",
        data={"file": (io.BytesIO(data), name), "title": "Vedlegg", "kind": "report"},
        headers=token,
    )


# --- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_file_is_kept_and_marked_and_no_later_write_parses_it(
    app: Flask, client: FlaskClient, token: dict[str, str], tmp_path: Path, hostile: str
) -> None:
    build, name = HOSTILE[hostile]
    data = build(tmp_path)
    case_id = client.post("/api/v1/cases", json=CASE, headers=token).get_json()["id"]
    before = children(app)

    answer = upload(client, token, case_id, data, name)

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert children(app) == before + 1  # read once, at upload
    [listed] = answer.get_json()["materials"]
    with client.get(listed["url"]) as download:
        assert download.status_code == 200 and download.data == data
    [stored] = materials()
    assert (stored.text_status, stored.extracted_text) == (TextStatus.FAILED, None)
    assert login(client, EDITOR, GOOD_PASSWORD).status_code == 302
    review = client.get(f"/editor/cases/{case_id}", headers={"Accept-Language": "nb"}).text
    assert NOTE_NB in review

    after_upload = children(app)
    for number in range(10):
        write = client.patch(
            f"/api/v1/cases/{case_id}", json={"summary": f"Utgave{number} av saken."}, headers=token
        )
        assert write.status_code == 200, write.get_data(as_text=True)
    assert children(app) == after_upload  # no write started an extraction
    assert search_ids(client, "Utgave9") == [case_id]  # each write was indexed all the same


def test_a_speaker_uploading_on_the_case_form_sees_the_note_there(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    accounts.set_password(accounts.create_user("speaker@example.org", Role.SPEAKER), GOOD_PASSWORD)
    assert login(client, "speaker@example.org", GOOD_PASSWORD).status_code == 302
    fields = with_values(new_case_form(client), **case_fields(), attachment_title="Rapport")
    good = make_pdf(tmp_path / "ok.pdf", "Bolystvenner").read_bytes()
    first = client.post(
        "/submissions/new", data={**fields, "attachment": (io.BytesIO(good), "ok.pdf")}
    )
    assert first.status_code == 302, first.text
    edit = first.headers["Location"]
    fields = form_values(client.get(edit).text, "/submissions/")
    laughs = (io.BytesIO(billion_laughs_docx(tmp_path)), "laughs.docx")

    second = client.post(edit, data={**with_values(fields), "attachment": laughs})

    assert second.status_code == 302, second.text
    for language, note in (("sv", "Texten kunde inte läsas för sökningen."), ("en", None)):
        form = client.get(edit, headers={"Accept-Language": language}).text
        notes = re.findall(r'<span class="note" id="text-note-(\d+)">([^<]*)</span>', form)
        assert len(notes) == 1  # the readable PDF has none
        assert notes[0][1] == (note or "Its text could not be read for search.")


def test_a_stored_upload_is_deleted_when_its_transaction_fails(app: Flask, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "ok.pdf", "Bolystvenner").read_bytes()

    with pytest.raises(RuntimeError), kept_upload(io.BytesIO(pdf), "ok.pdf") as stored:
        path = Path(app.config["UPLOAD_DIR"]) / stored.stored_name
        assert path.read_bytes() == pdf and stored.text.text == "Bolystvenner"
        raise RuntimeError("the case could not be saved")

    assert not path.exists()


def test_a_normal_file_gives_its_words_and_an_image_is_empty(
    app: Flask, client: FlaskClient, token: dict[str, str], tmp_path: Path
) -> None:
    case_id = client.post("/api/v1/cases", json=CASE, headers=token).get_json()["id"]
    pdf = make_pdf(tmp_path / "lysark.pdf", "Bolystvenner og jobbmatching").read_bytes()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    assert upload(client, token, case_id, pdf, "lysark.pdf").status_code == 201
    assert upload(client, token, case_id, png, "bilde.png").status_code == 201

    statuses = {m.content_type: m.text_status for m in materials()}
    assert statuses == {"application/pdf": TextStatus.OK, "image/png": TextStatus.EMPTY}
    assert search_ids(client, "bolystvenner") == [case_id]


def test_a_session_upload_is_marked_on_the_management_page(
    app: Flask, client: FlaskClient, token: dict[str, str]
) -> None:
    assert login(client, EDITOR, GOOD_PASSWORD).status_code == 302
    event = post_form(client, "/editor/events/new", title="Webinar om bosetting")
    event_id = int(event.headers["Location"].rsplit("/", 1)[1])
    made = post_form(client, f"/editor/events/{event_id}/sessions/new", title="Erfaringer")
    page = made.headers["Location"]
    sent = client.post(
        f"{page}/files",
        data={
            "file-csrf_token": csrf_token(client.get(page).text),
            "file-title": "Lysbilder",
            "file-kind": "slides",
            "file-file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "lysbilder.pdf"),
        },
        content_type="multipart/form-data",
    )

    assert sent.status_code == 302
    assert (
        "Ekki tókst að lesa textann fyrir leit."
        in client.get(page, headers={"Accept-Language": "is"}).text
    )
    public = client.get("/events/webinar-om-bosetting/erfaringer").text
    assert "Lysbilder" in public and "text-note" not in public  # not on public pages


def test_reextract_reads_pending_files_with_progress(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, token: dict[str, str], tmp_path: Path
) -> None:
    case_id = client.post("/api/v1/cases", json=CASE, headers=token).get_json()["id"]
    pdf = make_pdf(tmp_path / "lysark.pdf", "Bolystvenner og jobbmatching").read_bytes()
    upload(client, token, case_id, pdf, "lysark.pdf")
    upload(client, token, case_id, billion_laughs_docx(tmp_path), "laughs.docx")
    # As migration 0008 leaves the files stored before it; a write reindexes the case.
    with write_transaction():
        db.session.execute(update(Material).values(text_status="pending", extracted_text=None))
    client.patch(f"/api/v1/cases/{case_id}", json={"summary": "Ny utgave."}, headers=token)
    assert search_ids(client, "bolystvenner") == []  # indexing does not read the file itself

    result = runner.invoke(main, ["materials", "reextract", "--pending"])

    assert result.exit_code == 0, result.output
    assert re.search(r"\[1/2\] material \d+ \(lysark\.pdf\): ok \(28 characters\)", result.output)
    assert re.search(r"\[2/2\] material \d+ \(laughs\.docx\): failed \(.*DOCTYPE", result.output)
    assert "Read the text of 2 file(s): 1 ok, 1 failed." in result.output
    assert search_ids(client, "bolystvenner") == [case_id]
    again = runner.invoke(main, ["materials", "reextract", "--pending"])
    assert "Read the text of 0 file(s): nothing to do." in again.output
    read = children(app)
    assert runner.invoke(main, ["reindex"]).exit_code == 0
    assert children(app) == read  # a rebuild reuses the stored text
    assert search_ids(client, "bolystvenner") == [case_id]


def test_reextract_fails_loudly_on_a_missing_file_or_material(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, token: dict[str, str], tmp_path: Path
) -> None:
    case_id = client.post("/api/v1/cases", json=CASE, headers=token).get_json()["id"]
    pdf = make_pdf(tmp_path / "lysark.pdf", "Bolystvenner").read_bytes()
    material_id = upload(client, token, case_id, pdf, "lysark.pdf").get_json()["materials"]
    [stored] = materials()
    (Path(app.config["UPLOAD_DIR"]) / stored.stored_name).unlink()

    missing_file = runner.invoke(main, ["materials", "reextract", str(stored.id)])
    missing_material = runner.invoke(main, ["materials", "reextract", "999999"])

    assert material_id and missing_file.exit_code == 1
    assert "is missing" in missing_file.output
    assert materials()[0].text_status == TextStatus.OK  # left as it was
    assert missing_material.exit_code == 1
    assert "There is no stored file with material id 999999." in missing_material.output


# --- the child process's own limits ------------------------------------------------------


def test_the_cpu_limit_ends_a_parser_that_works_too_long(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "paragraphs.docx"
    path.write_bytes(empty_paragraphs_docx(tmp_path))

    outcome = sandbox.extract_file(path, DOCX)

    assert outcome == sandbox.Extraction(TextStatus.FAILED, reason="used more than 1 CPU second(s)")


def test_the_wall_clock_timeout_ends_a_child_that_is_too_slow(app: Flask, tmp_path: Path) -> None:
    app.config.update(EXTRACT_CPU_SECONDS=30, EXTRACT_TIMEOUT_SECONDS=0.5)
    path = tmp_path / "paragraphs.docx"
    path.write_bytes(empty_paragraphs_docx(tmp_path))

    outcome = sandbox.extract_file(path, DOCX)

    assert (outcome.status, outcome.reason) == (TextStatus.FAILED, "took longer than 0.5 s")


def test_the_memory_limit_ends_a_parser_that_needs_too_much(app: Flask, tmp_path: Path) -> None:
    app.config.update(EXTRACT_CPU_SECONDS=10, EXTRACT_MEMORY_MB=128)
    words = "<w:r><w:t>Nyanlända i jobb</w:t></w:r>" * 1_000_000  # 40 MB, under the member cap
    path = make_docx(
        tmp_path / "big.docx",
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p>{words}</w:p></w:body></w:document>',
    )

    outcome = sandbox.extract_file(path, DOCX)

    assert (outcome.status, outcome.reason) == (
        TextStatus.FAILED,
        "needed more than 128 MB of memory",
    )


def test_imported_files_are_read_after_the_import(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(main, ["demo"])

    assert result.exit_code == 0, result.output
    assert re.search(r"Read the text of (\d+) file\(s\): \1 ok\.", result.output)
    assert {m.text_status for m in materials() if m.is_file} == {TextStatus.OK}
    again = runner.invoke(main, ["demo"])  # nothing new: nothing read
    assert "Read the text" not in again.output
