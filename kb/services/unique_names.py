"""Names and titles that must be unique (an organisation, a person in it, a session, a
vocabulary term): a duplicate is refused with ``Taken``, naming the form field to blame,
before the database would refuse it less kindly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from kb.database import write_transaction


class Taken(ValueError):
    """A unique name or title is already used; ``field`` names the form field to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@contextmanager
def unique_write(field: str, message: Callable[[], str]) -> Iterator[None]:
    """A write transaction whose unique-constraint failure (a race) becomes ``Taken``."""
    try:
        with write_transaction():
            yield
    except IntegrityError as error:
        # SQLite: "UNIQUE constraint failed"; PostgreSQL: "violates unique constraint".
        if "unique" not in str(error.orig).lower():
            raise
        raise Taken(field, message()) from error
