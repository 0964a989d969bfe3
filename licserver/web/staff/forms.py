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
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp

from licserver.domain import staff as rules
from licserver.domain.email import EMAIL_RE
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
