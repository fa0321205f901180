"""Rate limits hold across worker processes: the SQLite storage, and the refusal of a
per-process storage when several workers run."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import multiprocessing
import re
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
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
from tests import load
from tests.conftest import make_app

PROCESSES = 4
INCREMENTS = 200
STRONG_KEY = "k" * 16 + "Zx9-2hQ!pL7mW3vB4nC"


def _increment(uri: str, start: Barrier, results: multiprocessing.Queue) -> None:
    """One process: wait for the others, then count up as fast as it can."""
    storage = storage_from_string(uri)
    start.wait()
    results.put([storage.incr("LIMITER/shared", 60) for _ in range(INCREMENTS)])


@pytest.mark.slow
def test_processes_counting_at_once_lose_no_increment(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=_increment, args=(uri, start, results)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    seen = [count for _ in processes for count in results.get(timeout=300)]
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

    with closing(sqlite3.connect(tmp_path / "limits.sqlite3")) as database:
        assert database.execute("SELECT count(*) FROM counter").fetchone() == (1,)
    assert storage.get("new") == 1


def test_the_file_keeps_no_address_in_clear(tmp_path: Path) -> None:
    storage = storage_from_string(f"sqlite:///{tmp_path / 'limits.sqlite3'}")

    storage.incr("LIMITER/login:someone@example.org/auth.login/10/1/minute", 60)
    storage.incr("LIMITER/192.0.2.44/auth.login/10/1/minute", 60)

    written = b"".join(path.read_bytes() for path in tmp_path.glob("limits.sqlite3*"))
    assert b"someone@example.org" not in written and b"192.0.2.44" not in written
    assert storage.get("LIMITER/login:someone@example.org/auth.login/10/1/minute") == 1


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


def test_memory_storage_under_an_unknown_server_starts_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)

    with caplog.at_level(logging.WARNING, logger="kb.ratelimit"):
        _memory_app(tmp_path)()

    assert "if the server runs several worker processes" in caplog.text


def test_the_shared_default_with_several_gunicorn_workers_starts(tmp_path: Path) -> None:
    assert isinstance(Gunicorn(4, _production_app(tmp_path)).wsgi(), Flask)


# -- real gunicorn, as `make serve` runs it --------------------------------------------------

WORKERS = 4
#: Kept small so the test is short; the login limit is the real one (10 a minute).
API_WRITE_LIMIT = 5
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"


@dataclass(frozen=True)
class Served:
    base: str
    token: str
    access_log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``make serve``: a fresh instance (default limit storage) and 4 gunicorn workers."""
    folder = tmp_path_factory.mktemp("served")
    env = {
        **load._settings(folder / "instance"),
        "KB_API_WRITE_LIMIT": f"{API_WRITE_LIMIT} per minute",
    }
    load._kb(env, "init")
    token = load._editor_token(env)
    access_log = folder / "access.log"
    logging_options = ("--access-logfile", str(access_log))
    with load._gunicorn(
        "wsgi:app",
        env,
        WORKERS,
        folder / "gunicorn.log",
        *logging_options,
        *("--access-logformat", ACCESS_LOG_FORMAT),
    ) as server:
        yield Served(server.base, token, access_log)


def _status(opener: urllib.request.OpenerDirector, request: urllib.request.Request) -> int:
    """Send ``request`` on a connection of its own (urllib keeps none alive)."""
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def _at_once(
    requests: list[urllib.request.Request], opener: urllib.request.OpenerDirector
) -> list[int]:
    """Send the requests four at a time: a sync worker busy with one cannot accept the next,
    so several workers answer (sent one by one, a single worker may take them all)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda request: _status(opener, request), requests))


def _workers_that_answered(served: Served, method: str, path: str) -> set[str]:
    lines = (line.split() for line in served.access_log.read_text().splitlines())
    return {pid for pid, m, p, _ in lines if (m, p) == (method, path)}


@pytest.mark.slow
@pytest.mark.serial
def test_with_four_workers_the_eleventh_wrong_password_in_a_minute_is_refused(
    served: Served,
) -> None:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{served.base}/login", timeout=30) as page:
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode())
    assert csrf
    form = urllib.parse.urlencode(
        {"csrf_token": csrf[1], "email": "loadtest@example.org", "password": "a wrong guess"}
    ).encode()

    statuses = _at_once(
        [urllib.request.Request(f"{served.base}/login", data=form) for _ in range(15)],  # noqa: S310
        opener,
    )

    assert sorted(statuses) == [401] * 10 + [429] * 5
    assert len(_workers_that_answered(served, "POST", "/login")) > 1


@pytest.mark.slow
@pytest.mark.serial
def test_with_four_workers_the_api_write_limit_holds(served: Served) -> None:
    opener = urllib.request.build_opener()
    headers = {"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"}

    def write(number: int) -> urllib.request.Request:
        case = {
            "title": f"Ratelimit {number}: språkpraksis i kommunen",
            "language": "nb",
            "country": "NO",
            "summary": "Flyktninger lærer språket på jobb.",
            "body": "Kommunen og bedriftene samarbeider om språkpraksis og arbeid.",
            "ref": f"ratelimit-{number}",
        }
        url = f"{served.base}/api/v1/cases"
        body = json.dumps(case).encode()
        return urllib.request.Request(url, data=body, headers=headers)  # noqa: S310

    statuses = _at_once([write(number) for number in range(API_WRITE_LIMIT + 4)], opener)

    assert sorted(statuses) == [201] * API_WRITE_LIMIT + [429] * 4
    assert len(_workers_that_answered(served, "POST", "/api/v1/cases")) > 1


@pytest.mark.slow
@pytest.mark.serial
def test_gunicorn_with_four_workers_refuses_the_per_process_storage(tmp_path: Path) -> None:
    env = {**load._settings(tmp_path / "instance"), "KB_RATELIMIT_STORAGE_URI": "memory://"}

    refusal = load.refused_start(env, "--config", str(load.CONFIG), "--workers", str(WORKERS))

    assert "with 4 workers every rate limit (logins, API writes) is 4 times" in refusal
