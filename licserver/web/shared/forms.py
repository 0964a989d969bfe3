"""What the portal's and the console's forms share: the plain-text check, select
choices, the one-button ``ConfirmForm``, and ``field_errors`` — the one way a
service's refusal (``ValidationFailed`` or another domain error) is shown at a
form's fields."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectChoice
from wtforms.validators import ValidationError

from licserver.domain.errors import LicenseServerError, ValidationFailed


def plain_text(form: Any, field: Field) -> None:
    """What the API's Text fields refuse, the forms refuse too."""
    for ch in field.data or "":
        cat = unicodedata.category(ch)
        if (cat == "Cc" and ch not in "\t\r\n") or cat == "Cs":
            raise ValidationError("Contains a control character.")


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button that changes something: nothing but the CSRF token."""


def field_errors(
    form: Any,
    exc: LicenseServerError,
    *,
    default: str,
    fields: Mapping[str, str] | None = None,
    prefix: str = "",
) -> int:
    """Show ``exc`` at ``form``'s fields and give the page's status (422 for a
    ValidationFailed, else the error's own, at most 500).

    Each of a ValidationFailed's keys goes to the form field of that name (or
    the name ``fields`` maps it to); a key no field has, and any other error's
    detail, go to the ``default`` field. With ``prefix`` (``settings.`` for a
    policy's settings) such a key, less the prefix, is written before its
    messages (``grace_days: must be ...``)."""
    fields = fields or {}
    errors = exc.errors if isinstance(exc, ValidationFailed) else {}
    if not errors:
        _add(form, default, [exc.detail])
    for key, messages in errors.items():
        name = fields.get(key, key)
        if name != default and hasattr(form, name) and isinstance(getattr(form, name), Field):
            _add(form, name, list(messages))
        elif prefix:
            _add(form, default, [f"{key.removeprefix(prefix)}: {' '.join(messages)}"])
        else:
            _add(form, default, list(messages))
    if isinstance(exc, ValidationFailed):
        return 422
    return exc.status if exc.status < 500 else 500


def _add(form: Any, name: str, messages: list[str]) -> None:
    field = getattr(form, name)
    field.errors = [*field.errors, *messages]


def page_message(source: LicenseServerError | Any) -> str:
    """One message for the top of a page, beside ``field_errors`` for pages that
    show a single alert: a service's refusal gives its first field message (a
    ValidationFailed) or its detail; a form that did not validate gives its
    first field error."""
    if isinstance(source, LicenseServerError):
        if isinstance(source, ValidationFailed):
            for messages in source.errors.values():
                if messages:
                    return str(messages[0])
        return source.detail
    for messages in source.errors.values():
        if messages:
            return str(messages[0])
    return "Check the form."
