"""The console's forms for customers, their portal users, licences and orders:
the admin API's rules (``CustomerIn``/``CustomerPatch``, ``UserIn``,
``LicensePatch``, ``OrderIn``), checked again by the services they feed."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from licserver.domain.email import EMAIL_RE
from licserver.domain.ids import CURRENCY_RE, ORDER_NUMBER_RE
from licserver.domain.roles import ROLES
from licserver.web.shared.forms import choices, plain_text

_EMAIL = [
    DataRequired(),
    Length(3, 254),
    Regexp(EMAIL_RE, message="Not a valid email address."),
]
_NAME = [DataRequired(), Length(1, 200), plain_text]
ROLE_CHOICES = choices([(r, r) for r in ROLES])

MAX_FEATURES = 100


class CustomerForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Company name", validators=_NAME)
    email = EmailField("Contact email (the first owner, invited by email)", validators=_EMAIL)
    company_password = PasswordField(
        "Company password (optional: a shared portal log-in with the customer number)",
        validators=[Optional(), Length(8, 256, message="8 to 256 characters."), plain_text],
    )


class CustomerEditForm(CustomerForm):
    email = EmailField("Contact email", validators=_EMAIL)
    company_password = PasswordField(
        "New company password (empty: unchanged)",
        validators=[Optional(), Length(8, 256, message="8 to 256 characters."), plain_text],
    )
    company_password_off = BooleanField("Turn the company login off")


class UserForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=_EMAIL)
    name = StringField("Full name", validators=_NAME)
    role = SelectField("Permission level", choices=ROLE_CHOICES, default="basic")
    licenses = SelectMultipleField(
        "Limited to these licences (none chosen: all)", choices=[], validate_choice=True
    )


class UserRoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField("Permission level", choices=ROLE_CHOICES)
    licenses = SelectMultipleField(
        "Limited to these licences (none chosen: all)", choices=[], validate_choice=True
    )


def _features(form: object, field: TextAreaField) -> None:
    names = feature_list(field.data)
    if len(names) > MAX_FEATURES:
        raise ValidationError(f"At most {MAX_FEATURES} features.")
    for name in names:
        if len(name) > 64:
            raise ValidationError(f"'{name[:20]}…' is longer than 64 characters.")


def feature_list(text: str | None) -> list[str]:
    """One feature a line (or comma-separated), blanks dropped, first of each kept."""
    parts = (p.strip() for line in (text or "").splitlines() for p in line.split(","))
    return list(dict.fromkeys(p for p in parts if p))


class LicenseEditForm(FlaskForm):  # type: ignore[misc]
    seats = IntegerField("Seats", validators=[InputRequired(), NumberRange(1, 1_000_000)])
    expires_on = DateField("Expires on (UTC, end of day; empty: never)", validators=[Optional()])
    features = TextAreaField(
        "Features (one a line)", validators=[Optional(), plain_text, _features]
    )
    policy = SelectField("Policy", choices=[], validators=[Optional()])


class ItemForm(Form):  # type: ignore[misc]
    """One line of an order; a line left empty is no line."""

    description = StringField("Description", validators=[Optional(), Length(1, 500), plain_text])
    amount = DecimalField("Amount", places=2, validators=[Optional()])
    license_id = SelectField("For licence", choices=[], validators=[Optional()])


ITEM_ROWS = 5  # the empty lines the page offers (no JavaScript to add more)


class OrderForm(FlaskForm):  # type: ignore[misc]
    number = StringField(
        "Order number",
        validators=[
            DataRequired(),
            Regexp(
                ORDER_NUMBER_RE,
                message="1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit.",
            ),
        ],
    )
    date = DateField("Date", validators=[InputRequired()])
    amount = DecimalField("Total amount", places=2, validators=[InputRequired()])
    currency = StringField(
        "Currency",
        default="EUR",
        validators=[
            DataRequired(),
            Regexp(CURRENCY_RE, message="A three-letter ISO 4217 code."),
        ],
    )
    po_number = StringField(
        "Customer's PO number", validators=[Optional(), Length(1, 100), plain_text]
    )
    items = FieldList(FormField(ItemForm), min_entries=ITEM_ROWS, max_entries=ITEM_ROWS)
