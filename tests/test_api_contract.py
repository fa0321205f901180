"""A contract test: schemathesis generates requests from the OpenAPI description and checks
that no response is a server error or breaks the description (status, media type, body)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from kb.extensions import db
from kb.models import Role
from kb.services import accounts, tokens
from tests.conftest import ALL_PLUGINS, DemoTemplates, make_app

#: Generated requests per operation.
EXAMPLES = 30


@pytest.fixture(scope="module")
def api_app(
    demo_templates: DemoTemplates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("contract") / "instance"
    with demo_templates.copy({}, ALL_PLUGINS, instance):
        # Many generated writes come from one token: the rate limit is not under test here.
        app = make_app(instance, API_WRITE_LIMIT="100000 per minute")
        with app.app_context():
            editor = accounts.create_user("editor@example.org", Role.EDITOR)
            app.config["TEST_TOKEN"] = tokens.create_token(editor, "contract test")[1]
            db.session.remove()
        yield app
        with app.app_context():
            db.engine.dispose()


def _generated(strategy: Any, excluded: list[Any]) -> Callable[[], None]:
    """A hypothesis test that sends each generated request and checks the response."""

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def keeps_to_description(case: schemathesis.Case) -> None:
        case.call_and_validate(excluded_checks=excluded)

    return keeps_to_description


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_every_endpoint_keeps_to_its_description(api_app: Flask, mode: GenerationMode) -> None:
    """Each operation gets generated requests, valid ones and (negative mode) invalid ones,
    writes with an editor's token; the failures of all operations are reported together.

    Writes check rules the schema cannot say (a period's format, known contacts), so a
    schema-valid write may get a 422: for writes, acceptance of valid data is not checked.
    """
    token = {"Authorization": f"Bearer {api_app.config['TEST_TOKEN']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        writes = operation.method.upper() != "GET"
        strategy = operation.as_strategy(generation_mode=mode, headers=token if writes else None)
        excluded = [positive_data_acceptance] if writes else []

        try:
            _generated(strategy, excluded)()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing there to get wrong
        except (Exception, BaseExceptionGroup) as failure:  # report every operation's
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
