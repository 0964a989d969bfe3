"""The console's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from licserver.domain import staff as rules
from licserver.domain.email import EMAIL_RE
from licserver.domain.ids import PRODUCT_CODE_RE
from licserver.domain.permissions import SCOPES
from licserver.services.staff import PASSWORD_MIN
from licserver.web.shared.forms import ConfirmForm as ConfirmForm  # for the console's pages
from licserver.web.shared.forms import choices, plain_text


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(3, 254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(1, 256)])


class CodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="Six digits.")],
    )


class ReasonForm(FlaskForm):  # type: ignore[misc]
    reason = StringField("Reason", validators=[Optional(), Length(max=500), plain_text])


class TermsForm(FlaskForm):  # type: ignore[misc]
    seats = IntegerField("Seats", validators=[DataRequired(), NumberRange(1, 100000)])
    expires_on = DateField("Expires on (UTC, end of day; empty: never)", validators=[Optional()])


class IssueForm(FlaskForm):  # type: ignore[misc]
    product = SelectField("Product", validators=[DataRequired()])
    seats = IntegerField(
        "Seats (empty: the product's default)", validators=[Optional(), NumberRange(1, 100000)]
    )
    expires_on = DateField("Expires on (empty: the product's default)", validators=[Optional()])
    policy = SelectField("Policy (empty: the defaults)", validators=[Optional()], default="")


class TokenForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(1, 100), plain_text])
    scope = SelectField("Scope", choices=choices([(s, s) for s in SCOPES]), default="read")


class StaffForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(3, 254),
            Regexp(EMAIL_RE, message="Not a valid email address."),
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(1, 200), plain_text])
    role = SelectField(
        "Role", choices=choices([(r, r) for r in rules.ROLES]), default=rules.SUPPORT
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(PASSWORD_MIN, 256, message=f"At least {PASSWORD_MIN} characters."),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[DataRequired(), EqualTo("password", message="The two differ.")],
    )


class RenewForm(FlaskForm):  # type: ignore[misc]
    days = IntegerField(
        "Days", validators=[Optional(), NumberRange(1, 36500)], render_kw={"placeholder": "policy"}
    )


class ProductForm(FlaskForm):  # type: ignore[misc]
    """A product and its defaults: the admin API's rules (``ProductIn``)."""

    code = StringField(
        "Code",
        validators=[
            DataRequired(),
            Regexp(
                PRODUCT_CODE_RE,
                message="1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.",
            ),
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(1, 200), plain_text])
    default_seats = IntegerField(
        "Default seats", default=1, validators=[InputRequired(), NumberRange(1, 1_000_000)]
    )
    default_duration_days = IntegerField(
        "Default duration in days (empty: licences do not expire)",
        validators=[Optional(), NumberRange(1, 36500)],
    )
    offline_grace_days = IntegerField(
        "Offline grace in days", default=14, validators=[InputRequired(), NumberRange(1, 3650)]
    )
