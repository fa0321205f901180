"""A contract test: schemathesis generates requests from the OpenAPI description and checks
that no response is a server error or breaks the description (status, media type, body)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from kb.cli import main
from kb.extensions import db
from tests.conftest import instance_from, make_app

#: Generated requests per operation.
EXAMPLES = 30


@pytest.fixture(scope="module")
def api_app(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_app(instance_from(sqlite_template, tmp_path_factory.mktemp("contract")))
    with app.app_context():
        result = app.test_cli_runner().invoke(main, ["demo"])
        assert result.exit_code == 0, result.output
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_every_read_endpoint_keeps_to_its_description(api_app: Flask, mode: GenerationMode) -> None:
    """Each operation gets generated requests, valid ones and (negative mode) invalid ones;
    the failures of all operations are reported together."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def keeps_to_description(case: schemathesis.Case) -> None:
            case.call_and_validate()

        try:
            keeps_to_description()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing there to get wrong
        except (Exception, BaseExceptionGroup) as failure:  # report every operation's
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
