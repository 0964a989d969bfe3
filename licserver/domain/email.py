"""What the server accepts as an email address, wherever one is given: the
admin API, the portal, the console and the CLI."""

from __future__ import annotations

import re

# One @, no spaces, a dot in the domain; the parts no longer than SMTP allows.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
MAX_LENGTH = 254


def is_email(text: str) -> bool:
    """True for an address of the accepted shape and length."""
    return len(text) <= MAX_LENGTH and EMAIL_RE.match(text) is not None
