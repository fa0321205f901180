"""Form validators that check a value as the exchange format checks it.

The exchange format (``kb/services/exchange/schema.py``) is the one home of what a text, a
link, an e-mail address or a phone number may be; a form asks it instead of keeping its
own patterns, so a form accepts exactly what an import file or the API may hold, and says
why not in the user's language.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import TypeAdapter
from pydantic import ValidationError as SchemaError
from wtforms import Field, Form
from wtforms.validators import ValidationError

from kb.i18n import _
from kb.services.exchange import schema
from kb.text import has_control_characters


def no_control_characters(_form: Form, field: Field) -> None:
    """As the exchange format: NUL and other control characters are refused in any text."""
    if isinstance(field.data, str) and has_control_characters(field.data):
        raise ValidationError(_("This text contains invisible control characters."))


class Exchange:
    """Check a field as the exchange format checks the same field of ``model``.

    ``message`` says what is wrong when the value breaks the field's rule; a value that is
    too long gets the form's usual "At most N characters" instead.
    """

    def __init__(self, model: type[schema.Record], name: str, message: Any = None) -> None:
        info = model.model_fields[name]
        annotation = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        self.adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        no_control_characters(form, field)
        try:
            self.adapter.validate_python(field.data)
        except SchemaError as error:
            problem = error.errors()[0]
            if problem["type"] == "string_too_long":
                raise ValidationError(
                    _("At most %(max)d characters, please.", max=problem["ctx"]["max_length"])
                ) from error
            raise ValidationError(self.message or _("This value is not accepted.")) from error
