"""Rate limits hold across worker processes: the SQLite storage, and the refusal of a
per-process storage when several workers run."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import time
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from flask import Flask
from gunicorn.app.base import BaseApplication
from limits import parse
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from kb import create_app
from kb.config import ConfigurationError
from kb.extensions import limiter
from kb.ratelimit import SQLiteStorage
from tests.conftest import make_app

PROCESSES = 6
INCREMENTS = 150
STRONG_KEY = "k" * 16 + "Zx9-2hQ!pL7mW3vB4nC"


def _increment(uri: str, start: Barrier, results: multiprocessing.Queue) -> None:
    """One process: wait for the others, then count up as fast as it can."""
    storage = storage_from_string(uri)
    start.wait()
    results.put([storage.incr("LIMITER/shared", 60) for _ in range(INCREMENTS)])


def test_processes_counting_at_once_lose_no_increment(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=_increment, args=(uri, start, results)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    seen = [count for _ in processes for count in results.get(timeout=120)]
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0] * PROCESSES
    # Every increment saw its own count: none was lost or counted twice.
    assert sorted(seen) == list(range(1, PROCESSES * INCREMENTS + 1))
    assert storage_from_string(uri).get("LIMITER/shared") == PROCESSES * INCREMENTS


def test_the_sqlite_scheme_gives_a_fixed_window_that_refuses_the_hit_past_the_limit(
    tmp_path: Path,
) -> None:
    storage = storage_from_string(f"sqlite:///{tmp_path / 'limits.sqlite3'}")
    two_a_minute = parse("2 per minute")
    window = FixedWindowRateLimiter(storage)

    assert isinstance(storage, SQLiteStorage)
    assert [window.hit(two_a_minute, "login") for _ in range(3)] == [True, True, False]
    assert window.hit(two_a_minute, "another address") is True
    stats = window.get_window_stats(two_a_minute, "login")
    assert stats.remaining == 0
    assert time.time() < stats.reset_time <= time.time() + 60


def test_a_window_that_has_passed_counts_from_one_again_and_is_cleaned_up(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    storage = storage_from_string(uri)

    # A window of no seconds has passed as soon as it starts.
    assert [storage.incr("old", 0) for _ in range(3)] == [1, 1, 1]
    assert storage.get("old") == 0
    # A process that starts later deletes the passed windows on its first count.
    storage_from_string(uri).incr("new", 60)

    with sqlite3.connect(tmp_path / "limits.sqlite3") as database:
        assert database.execute("SELECT key FROM counter").fetchall() == [("new",)]


def test_clear_and_reset_forget_counts(tmp_path: Path) -> None:
    storage = storage_from_string(f"sqlite:///{tmp_path / 'limits.sqlite3'}")
    for key in ("a", "a", "b"):
        storage.incr(key, 60)

    storage.clear("a")
    assert (storage.get("a"), storage.get("b")) == (0, 1)
    assert storage.reset() == 1
    assert storage.get("b") == 0
    assert storage.check() is True


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_a_sqlite_storage_without_a_file_is_refused(uri: str) -> None:
    with pytest.raises(LimitsConfigurationError, match="needs a file"):
        storage_from_string(uri)


# -- the app ----------------------------------------------------------------------------------


def test_by_default_the_app_counts_in_a_file_in_its_instance_folder(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance")

    expected = tmp_path / "instance" / "ratelimits.sqlite3"
    assert app.config["RATELIMIT_STORAGE_URI"] == f"sqlite:///{expected}"
    assert isinstance(limiter.storage, SQLiteStorage)
    assert limiter.storage.path == expected


class Gunicorn(BaseApplication):
    """gunicorn loading the app as it does for ``gunicorn --workers N wsgi:app``."""

    def __init__(self, workers: int, factory: Callable[[], Flask]) -> None:
        self.workers, self.factory = workers, factory
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("workers", self.workers)

    def load(self) -> Flask:
        return self.factory()


def _production_app(tmp_path: Path, **config: object) -> Callable[[], Flask]:
    """Creates the app as outside debug and testing, with ``config`` added."""
    settings = {
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": STRONG_KEY,
        "BASE_URL": "https://kb.example.org",
        **config,
    }
    return lambda: create_app(settings)


def _memory_app(tmp_path: Path, **config: object) -> Callable[[], Flask]:
    return _production_app(tmp_path, RATELIMIT_STORAGE_URI="memory://", **config)


def test_memory_storage_with_several_gunicorn_workers_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="with 4 workers every rate limit"):
        Gunicorn(4, _memory_app(tmp_path)).wsgi()


def test_memory_storage_with_one_gunicorn_worker_starts(tmp_path: Path) -> None:
    assert isinstance(Gunicorn(1, _memory_app(tmp_path)).wsgi(), Flask)


def test_memory_storage_with_several_workers_in_testing_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kb.ratelimit"):
        Gunicorn(3, _memory_app(tmp_path, TESTING=True)).wsgi()

    assert "with 3 workers every rate limit" in caplog.text


def test_web_concurrency_counts_as_workers_outside_gunicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "2")

    with pytest.raises(ConfigurationError, match="KB_RATELIMIT_STORAGE_URI"):
        _memory_app(tmp_path)()


def test_the_shared_default_with_several_gunicorn_workers_starts(tmp_path: Path) -> None:
    assert isinstance(Gunicorn(4, _production_app(tmp_path)).wsgi(), Flask)
