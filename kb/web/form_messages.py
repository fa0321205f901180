"""WTForms' own messages ("Not a valid integer value.") in the reader's language.

WTForms ships no Danish or Icelandic, so those readers got English. Forms using
``Meta = TranslatedMeta`` look each message up in our catalogues first (the messages the
forms can show are listed below, so `make translations-extract` and tests/test_i18n.py
see them), then in WTForms' own.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations

from kb.i18n import _, _l

#: The WTForms messages our fields can give (fields.numeric, fields.choices); the plural
#: one, for several tampered choices at once, comes from WTForms' catalogues.
MESSAGES = (
    _l("Not a valid integer value."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
)


class _Translations:
    def gettext(self, string: str) -> str:
        translated = _(string)
        return translated if translated != string else wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return wtforms_translations.ngettext(singular, plural, n)


class TranslatedMeta(FlaskForm.Meta):
    def get_translations(self, form: Any) -> _Translations:
        return _Translations()
