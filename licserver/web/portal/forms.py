"""The portal's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from licserver.domain.email import EMAIL_RE
from licserver.domain.portal import COMPANY_LOGIN_ROLES, NOTICES
from licserver.web.shared.forms import ConfirmForm as ConfirmForm  # for the portal's pages
from licserver.web.shared.forms import choices as choices
from licserver.web.shared.forms import plain_text as plain_text

PASSWORD_MIN = 10


def _email(label: str, required: bool = True) -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired() if required else Optional(),
            Length(3, 254),
            Regexp(EMAIL_RE, message="Not a valid email address."),
        ],
    )


def _new_password(label: str = "New password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(PASSWORD_MIN, 256, message=f"At least {PASSWORD_MIN} characters."),
        ],
    )


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):  # type: ignore[misc]
    login = StringField(
        "Email, or customer number",
        validators=[DataRequired(), Length(1, 254), plain_text],
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(1, 256)])


class ForgotForm(FlaskForm):  # type: ignore[misc]
    email = _email("Email")


class SetPasswordForm(FlaskForm):  # type: ignore[misc]
    password = _new_password("Password")
    confirm = PasswordField(
        "Password again", validators=[EqualTo("password", message="The two passwords differ.")]
    )


class DeactivateForm(FlaskForm):  # type: ignore[misc]
    reason = StringField(
        "Reason",
        validators=[
            DataRequired(message="Say why (kept in the history)."),
            Length(1, 500),
            plain_text,
        ],
    )


def _role_choices(roles: tuple[str, ...]) -> list[SelectChoice]:
    return choices([(r, r) for r in roles])


class UserForm(FlaskForm):  # type: ignore[misc]
    """Invite (with name and email) or change (role and licences)."""

    name = StringField("Name", validators=[Optional(), Length(1, 200), plain_text])
    email = _email("Email", required=False)
    role = SelectField("Role", choices=[])
    licenses = MultiCheckboxField("Limit to these licences (none ticked: all licences)", choices=[])

    def setup(self, roles: tuple[str, ...], licenses: list[tuple[str, str]]) -> UserForm:
        self.role.choices = _role_choices(roles)
        self.licenses.choices = choices(licenses)
        return self


class ProfileForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(1, 200), plain_text])
    notify_expiry = BooleanField(NOTICES["expiry"])
    notify_deactivations = BooleanField(NOTICES["deactivations"])
    notify_updates = BooleanField(NOTICES["updates"])


class EmailForm(FlaskForm):  # type: ignore[misc]
    email = _email("New email")
    password = PasswordField("Current password", validators=[DataRequired(), Length(1, 256)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField("Current password", validators=[DataRequired(), Length(1, 256)])
    password = _new_password()
    confirm = PasswordField(
        "New password again",
        validators=[EqualTo("password", message="The two passwords differ.")],
    )


class CompanyForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Company name", validators=[DataRequired(), Length(1, 200), plain_text])
    email = _email("Main contact email")
    address = TextAreaField("Address", validators=[Optional(), Length(max=1000), plain_text])
    phone = StringField("Phone", validators=[Optional(), Length(max=50), plain_text])
    vat_id = StringField("VAT / tax ID", validators=[Optional(), Length(max=50), plain_text])
    billing_name = StringField(
        "Billing contact", validators=[Optional(), Length(max=200), plain_text]
    )
    billing_email = _email("Billing contact email", required=False)


class CompanyLoginForm(FlaskForm):  # type: ignore[misc]
    enabled = BooleanField("Allow logging in with the customer number and company password")
    role = SelectField("Role of the company login", choices=_role_choices(COMPANY_LOGIN_ROLES))
    new_password = PasswordField(
        "New company password (leave empty to keep it)",
        validators=[Optional(), Length(8, 256, message="At least 8 characters.")],
    )
    turn_off_password = BooleanField(
        "Turn the company password off (it then neither logs in nor activates products)"
    )


class HistoryFilters(Form):  # type: ignore[misc]
    """The history's filters come in the query string: no CSRF for a GET."""

    license = SelectField("Licence", choices=[], default="")
    machine_name = StringField("Machine name", validators=[Optional(), Length(max=255), plain_text])
    installation_id = StringField(
        "Installation ID", validators=[Optional(), Length(max=128), plain_text]
    )
    kind = SelectField("Event", choices=[], default="")
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])


class MoreForm(FlaskForm):  # type: ignore[misc]
    """Ask for more: seats or a renewal (domain.requests checks the values)."""

    kind = SelectField(
        "What you need",
        choices=choices([("seats", "More seats"), ("renewal", "A renewal")]),
        validators=[DataRequired()],
    )
    seats = StringField(
        "How many more seats", validators=[Optional(), Regexp(r"^\d{1,5}$", message="A number.")]
    )
    note = TextAreaField("Anything we should know", validators=[Optional(), Length(0, 1000)])
