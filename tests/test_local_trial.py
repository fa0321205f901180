"""The README's local trial, as a person follows it: `make run`'s commands in one shell, then
`kb invite` in another, and the printed link opened in the running server."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web_helpers import GOOD_PASSWORD, csrf_token, form_values

KB = [sys.executable, "-m", "kb"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _trial_env(instance: Path, base_url: str) -> dict[str, str]:
    """What `make run` sets: debug mode, no secret key, the base URL of the port it serves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "FLASK_"))}
    return env | {
        "FLASK_DEBUG": "1",
        "KB_INSTANCE_PATH": str(instance),
        "KB_BASE_URL": base_url,
    }


def _kb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*KB, *args], env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def _wait_until_serving(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        try:
            urllib.request.build_opener().open(url, timeout=5).close()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer at {url}")


@pytest.fixture
def trial(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`make run` in a subprocess: init, demo, and the debug server on a free port."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _trial_env(tmp_path / "instance", base_url)
    _kb(env, "init")
    _kb(env, "demo")
    server = subprocess.Popen(
        [*KB, "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the reloader's child is in the same group, ended with it
    )
    try:
        _wait_until_serving(base_url + "/", server)
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.serial
def test_a_link_printed_by_kb_invite_opens_the_prefilled_form_in_the_running_server(
    trial: dict[str, str],
) -> None:
    # Another shell, another process: the same instance folder, hence the same key.
    invited = _kb(
        trial, "invite", "speaker@example.org", "--event", "nyanlanda-i-jobb", "--session", "naeroy"
    )
    link = invited.stdout.strip().splitlines()[-1]
    assert link.startswith(trial["KB_BASE_URL"] + "/invitation/")
    # The console e-mail is printed decoded: the whole link on one line, no "=" soft breaks.
    assert link in invited.stderr.splitlines()

    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = browser.open(link, timeout=30)
    assert page.status == 200
    html = page.read().decode()
    fields = dict(form_values(html))
    fields |= {"csrf_token": csrf_token(html), "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD}
    landed = browser.open(link, data=urllib.parse.urlencode(fields).encode(), timeout=30)

    assert landed.status == 200
    assert "/submissions/new?session=" in landed.url
    form = form_values(landed.read().decode(), "/submissions/")
    assert ("contacts-0-email", "speaker@example.org") in form
    assert any(name == "presented_at" and re.fullmatch(r"s\d+", v) for name, v in form)
