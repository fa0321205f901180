"""An uploaded file's text, read once in a child process that cannot stall the site.

Parsers of PDF and office files can be driven into minutes of work or gigabytes of memory by
a small hostile file, and no check inside a parser catches every way. So the parsing runs in
a separate Python process (``reader.py`` beside this module, run as a script, importing
neither Flask nor the app) that limits itself before it opens the file: CPU seconds and
address space (``resource`` limits), no files written. The parent kills it when it
outlives a wall-clock timeout and refuses output longer than the character cap allows.
Whatever happens in the child, the upload gets an answer within the timeout and the file
is kept.

Called at upload and by `kb materials reextract`; indexing only reads what was stored.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app

from kb.models import TextStatus
from kb.services.extraction import reader

log = logging.getLogger(__name__)

#: ``app.extensions`` key of this app's ``Counter``.
EXTENSION = "kb.extraction"
_SCRIPT = Path(reader.__file__)
#: UTF-8 takes at most 4 bytes a character: more output than this is not the child's text.
_BYTES_PER_CHAR = 4


@dataclass(frozen=True)
class Limits:
    """What one extraction may use (``EXTRACT_*`` settings, see docs/search.md)."""

    cpu_seconds: int
    memory_mb: int
    timeout_seconds: float
    max_chars: int

    @classmethod
    def of(cls, app: Flask) -> Limits:
        config = app.config
        return cls(
            cpu_seconds=max(1, int(config["EXTRACT_CPU_SECONDS"])),
            memory_mb=max(64, int(config["EXTRACT_MEMORY_MB"])),
            timeout_seconds=float(config["EXTRACT_TIMEOUT_SECONDS"]),
            max_chars=int(config["EXTRACT_MAX_CHARS"]),
        )


@dataclass(frozen=True)
class Extraction:
    """The outcome: a status for the material, its text (None unless ``ok``), and why."""

    status: TextStatus
    text: str | None = None
    reason: str = ""


@dataclass
class Counter:
    """Child processes started by this app, so tests can show that a write started none."""

    children: int = field(default=0)


def counter(app: Flask | None = None) -> Counter:
    extensions = (app or current_app).extensions
    return extensions.setdefault(EXTENSION, Counter())  # type: ignore[no-any-return]


def extract_file(path: Path, content_type: str) -> Extraction:
    """Read the text of a stored file in a limited child process (see the module doc).

    Types without text (images) give ``empty`` without a child. ``pending`` means the child
    could not be started (the machine, not the file, is at fault): try again later.
    """
    if not reader.has_text_format(content_type):
        return Extraction(TextStatus.EMPTY, "")
    limits = Limits.of(current_app)
    command = [
        sys.executable,
        "-I",  # isolated: no PYTHON* variables, no user site, nothing from the working folder
        str(_SCRIPT),
        str(path),
        content_type,
        str(limits.max_chars),
        str(limits.cpu_seconds),
        str(limits.memory_mb * 1024 * 1024),
    ]
    counter().children += 1
    try:
        done = subprocess.run(  # noqa: S603  # our own script; the arguments are not a shell
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limits.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _failed(path, f"took longer than {limits.timeout_seconds:g} s")
    except OSError as exc:
        log.error("Could not start the text extraction of %s: %s", path.name, exc)
        return Extraction(TextStatus.PENDING, reason=f"could not start: {exc}")
    if done.returncode != 0:
        return _failed(path, _why(done.returncode, done.stderr, limits))
    if len(done.stdout) > limits.max_chars * _BYTES_PER_CHAR:
        return _failed(path, "more output than the character cap allows")
    text = done.stdout.decode("utf-8", "replace")
    return Extraction(TextStatus.OK, text) if text else Extraction(TextStatus.EMPTY, "")


def _why(returncode: int, stderr: bytes, limits: Limits) -> str:
    if returncode == reader.EXIT_UNREADABLE:
        return stderr.decode("utf-8", "replace").strip()[-500:] or "unreadable"
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"used more than {limits.cpu_seconds} CPU second(s)"
    if returncode == reader.EXIT_OUT_OF_MEMORY or b"MemoryError" in stderr:
        return f"needed more than {limits.memory_mb} MB of memory"
    return f"the extraction process ended with status {returncode}"


def _failed(path: Path, reason: str) -> Extraction:
    log.warning("The text of %s could not be read for search: %s", path.name, reason)
    return Extraction(TextStatus.FAILED, reason=reason)
