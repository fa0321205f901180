"""Configuration: safe defaults, KB_ environment variables, one folder for all state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from kb import create_app
from kb.config import ConfigurationError
from kb.extensions import db
from tests.conftest import make_app

STRONG_KEY = "k" * 16 + "Zx9-2hQ!pL7mW3vB4nC"


def test_without_a_secret_key_outside_debug_the_app_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KB_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize("key", ["dev", "changeme", "short-but-random-9f"])
def test_a_weak_secret_key_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigurationError, match="unsafe"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": key})


def test_a_strong_secret_key_from_the_environment_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("KB_MAX_CONTENT_LENGTH", "1048576")
    monkeypatch.setenv("KB_BASE_URL", "https://kb.example.org")

    app = create_app({"INSTANCE_PATH": str(tmp_path)})

    assert app.config["SECRET_KEY"] == STRONG_KEY
    assert app.config["MAX_CONTENT_LENGTH"] == 1048576
    assert app.config["BASE_URL"] == "https://kb.example.org"


def test_in_debug_mode_every_process_signs_with_one_key_kept_in_the_instance(
    tmp_path: Path,
) -> None:
    server = create_app({"INSTANCE_PATH": str(tmp_path), "DEBUG": True})
    cli = create_app({"INSTANCE_PATH": str(tmp_path), "DEBUG": True})

    kept = tmp_path / "secret_key"
    assert server.config["SECRET_KEY"] == cli.config["SECRET_KEY"] == kept.read_text().strip()
    assert len(server.config["SECRET_KEY"]) >= 48
    assert kept.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret_key")] == []


def test_a_configured_key_wins_over_the_kept_one_in_debug_mode(tmp_path: Path) -> None:
    create_app({"INSTANCE_PATH": str(tmp_path), "DEBUG": True})
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DEBUG": True, "SECRET_KEY": STRONG_KEY})

    assert app.config["SECRET_KEY"] == STRONG_KEY


def test_without_a_base_url_outside_debug_the_app_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KB_BASE_URL"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": STRONG_KEY})


def test_the_cli_names_the_missing_secret_key_and_fails(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "FLASK_"))}
    env["KB_INSTANCE_PATH"] = str(tmp_path)

    done = subprocess.run(
        [sys.executable, "-m", "kb", "init"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_instance_path_moves_database_index_and_uploads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_INSTANCE_PATH", str(tmp_path / "state"))

    app = create_app({"TESTING": True})

    state = (tmp_path / "state").resolve()
    assert Path(app.instance_path) == state
    assert Path(app.config["UPLOAD_DIR"]).parent == state
    assert Path(app.config["SEARCH_INDEX_DIR"]).parent == state
    with app.app_context():
        assert Path(db.engine.url.database).parent == state
        db.engine.dispose()


def test_sqlite_is_set_up_for_several_worker_processes(tmp_path: Path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})

    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024 * 1024
    with app.app_context():
        db.engine.dispose()


def test_the_postgres_search_backend_needs_a_postgresql_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_app(tmp_path / "instance", SEARCH_BACKEND="postgres")

    assert "KB_SEARCH_BACKEND=postgres needs a PostgreSQL database" in str(raised.value)
    assert "KB_SQLALCHEMY_DATABASE_URI=postgresql+psycopg://" in str(raised.value)
    with pytest.raises(ConfigurationError, match="'whoosh' \\(the default\\) or 'postgres'"):
        make_app(tmp_path / "instance", SEARCH_BACKEND="elastic")
