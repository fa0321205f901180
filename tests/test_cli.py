"""The `kb` commands a newcomer and an administrator use."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner

from kb.cli import main
from kb.extensions import db
from kb.models import Case


def test_init_is_safe_to_run_again(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(main, ["init"])

    assert result.exit_code == 0, result.output
    assert "Database is up to date; 0 vocabulary term(s) added." in result.output
    assert Path(app.config["UPLOAD_DIR"]).is_dir()


def test_demo_twice_creates_then_updates(app: Flask, runner: FlaskCliRunner) -> None:
    first = runner.invoke(main, ["demo"])
    second = runner.invoke(main, ["demo"])

    assert "52 case(s) created, 0 updated" in first.output
    assert "0 case(s) created, 52 updated" in second.output
    assert db.session.query(Case).count() == 52


def test_editors_add_vocabulary_keys_without_a_code_change(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    added = runner.invoke(
        main, ["vocabulary", "add", "theme", "sport", "--label", "en=Sport", "--label", "nb=Idrett"]
    )
    record = {
        "ref": "s1",
        "title": "Idrettslag",
        "language": "nb",
        "country": "NO",
        "themes": ["sport"],
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps([record]), encoding="utf-8")

    imported = runner.invoke(main, ["import", str(path)])

    assert added.exit_code == 0, added.output
    assert imported.exit_code == 0, imported.output
    case = db.session.query(Case).filter_by(ref="s1").one()
    assert [(t.key, t.label("nb")) for t in case.themes] == [("sport", "Idrett")]
    assert "sport" in runner.invoke(main, ["vocabulary", "list"]).output


def test_bad_vocabulary_input_is_refused(runner: FlaskCliRunner) -> None:
    bad_label = runner.invoke(main, ["vocabulary", "add", "theme", "sport", "--label", "Sport"])
    bad_key = runner.invoke(main, ["vocabulary", "add", "theme", "Not A Key"])

    assert bad_label.exit_code == 2
    assert "'Sport' is not LANG=TEXT" in bad_label.output
    assert bad_key.exit_code == 1
    assert "must be lowercase words" in bad_key.output
