"""A contract test: schemathesis generates requests from the OpenAPI description and runs
every check it has (server errors, status codes, media types, headers, bodies, valid data
accepted, invalid data refused, authentication, ...) on each response; 0 failures."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi import _caches as schemathesis_caches

from kb.extensions import db
from kb.models import Role
from kb.services import accounts, tokens
from tests.conftest import ALL_PLUGINS, DemoTemplates, make_app

#: Generated requests per operation, mode and caller: enough to find each finding of
#: issue 14 again, few enough for CI.
EXAMPLES = 50
CALLERS = ("anonymous", "speaker", "editor")

load_all_checks()
#: Every check schemathesis has.
ALL_CHECKS = list(CHECKS.get_all())
#: A file of an accepted type: JSON Schema cannot say which bytes make a PNG or a PDF.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


#: An event of the demo programme, for the presentations a speaker may name.
DEMO_EVENT = "Nyanlända i jobb – en tillväxtfaktor för kommuner"


def _schema_can_say(caller: str) -> Callable[[schemathesis.Case], schemathesis.Case]:
    """Valid data as the code reads it, where JSON Schema cannot describe the rule: an
    upload's bytes are a real file, a period does not end before it starts, a practice's
    status year comes with its status, and a speaker presents at an event of the programme
    (only editors create events)."""

    def valid(case: schemathesis.Case) -> schemathesis.Case:
        body = case.body
        if not isinstance(body, dict):
            return case
        if "file" in body:
            body["file"] = PNG
        if isinstance(body.get("period"), str):
            years = body["period"].strip().split("-")
            if len(years) == 2 and years[1] and years[1] < years[0]:
                body["period"] = years[0]
        if body.get("practice_status_year") is not None and not body.get("practice_status"):
            body["practice_status"] = "running"
        elif "practice_status" in body and body["practice_status"] is None:
            body["practice_status_year"] = None
        if caller == "speaker" and body.get("sessions"):
            body["sessions"] = [{"event": DEMO_EVENT}]
        return case

    return valid


@pytest.fixture(scope="module")
def api_app(
    demo_templates: DemoTemplates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("contract") / "instance"
    with demo_templates.copy({}, ALL_PLUGINS, instance):
        # Many generated writes come from one token: the rate limit is not under test here.
        app = make_app(instance, API_WRITE_LIMIT="100000 per minute")
        with app.app_context():
            for caller in CALLERS[1:]:
                user = accounts.create_user(f"{caller}@example.org", Role(caller))
                app.config[f"TOKEN_{caller}"] = tokens.create_token(user, "contract test")[1]
            db.session.remove()
        yield app
        with app.app_context():
            db.engine.dispose()


class Strategies:
    """The description loaded once, and each operation's strategy built once per mode.

    Schemathesis compiles a validator for each schema it generates from (with ``maxLength``
    100,000 folded into the pattern: megabytes, and about a second, each) and keeps them
    process-wide, keyed by the loaded description. A description loaded per test, or
    strategies built per caller, left ~2 GB more each time (21 GB for six tests); loaded once,
    both modes share one set of validators (about 3 GB), emptied at the end of the module.
    """

    def __init__(self, app: Flask) -> None:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        self.operations: list[APIOperation] = [r.ok() for r in schema.get_all_operations()]
        self._built: dict[tuple[str, GenerationMode], Any] = {}

    def of(self, operation: APIOperation, mode: GenerationMode) -> Any:
        key = (operation.label, mode)
        if key not in self._built:
            self._built[key] = operation.as_strategy(generation_mode=mode)
        return self._built[key]

    def clear(self) -> None:
        self._built.clear()
        schemathesis_caches.clear_all()


@pytest.fixture(scope="module")
def strategies(api_app: Flask) -> Iterator[Strategies]:
    built = Strategies(api_app)
    yield built
    built.clear()


def _generated(
    strategy: Any, mode: GenerationMode, callers: dict[str, dict[str, str]]
) -> Callable[[], None]:
    """A hypothesis test that sends each generated request once per caller (anonymous, a
    speaker's token, an editor's token) and runs every check on each response: generating a
    request costs far more than sending it, so the callers share each one."""

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_to_description(case: schemathesis.Case) -> None:
        for caller, headers in callers.items():
            # Hypothesis seeds ``random`` alike before every example, and Whoosh names new
            # segments from it: two segments of one name make its commit fail. A server's
            # ``random`` is never reseeded; here it gets fresh entropy, as in a server.
            random.seed()
            sent = case.derive(keep_auth=True)  # the body's top level is the caller's own
            if mode is GenerationMode.POSITIVE:
                sent = _schema_can_say(caller)(sent)
            sent.call_and_validate(headers=headers, checks=ALL_CHECKS)

    return keeps_to_description


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_every_endpoint_keeps_to_its_description(
    api_app: Flask, strategies: Strategies, mode: GenerationMode
) -> None:
    """Each operation gets generated requests, valid ones and (negative mode) invalid ones,
    each sent anonymously and with a speaker's and an editor's token; the failures of all
    operations are reported together."""
    callers = {
        caller: {"Authorization": f"Bearer {token}"} if token else {}
        for caller in CALLERS
        for token in [api_app.config.get(f"TOKEN_{caller}")]
    }
    failures: dict[str, str] = {}
    assert len(strategies.operations) >= 15
    for operation in strategies.operations:
        try:
            _generated(strategies.of(operation, mode), mode, callers)()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing there to get wrong
        except (Exception, BaseExceptionGroup) as failure:  # report every operation's
            failures[operation.label] = str(failure)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


@pytest.mark.parametrize("caller", ["speaker", "editor"])
def test_the_owner_reads_an_unpublished_case_at_its_location(api_app: Flask, caller: str) -> None:
    """A draft (or a submitted case) is found at its ``Location`` with its owner's token,
    and is not public without it."""
    client = api_app.test_client()
    headers = {"Authorization": f"Bearer {api_app.config[f'TOKEN_{caller}']}"}
    draft = {"title": "Utkast", "language": "sv", "country": "SE", "status": "draft"}
    created = client.post("/api/v1/cases", json=draft, headers=headers)
    assert created.status_code == 201
    location = created.headers["Location"]

    own = client.get(location, headers=headers)
    assert own.status_code == 200 and own.get_json()["title"] == "Utkast"
    assert client.get(location).status_code == 404
