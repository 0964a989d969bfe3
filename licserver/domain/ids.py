"""Public identifiers: short, readable, unguessable, and never ambiguous when read aloud."""

from __future__ import annotations

import re
import secrets

# Crockford's base32 alphabet: no I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def new_license_id() -> str:
    """``L-XXXX-XXXX``: 40 bits of randomness."""
    return f"L-{_random(4)}-{_random(4)}"


def new_customer_number() -> str:
    """``C-XXXXXX``: 30 bits; customers are few and the number is not a secret."""
    return f"C-{_random(6)}"


def new_activation_id() -> str:
    """``A-`` and 16 characters (80 bits)."""
    return f"A-{_random(16)}"


def new_policy_id() -> str:
    """``P-XXXX-XXXX``, like licence ids."""
    return f"P-{_random(4)}-{_random(4)}"


def new_token_id() -> str:
    return _random(10).lower()


LICENSE_ID_RE = re.compile(r"^L-[0-9A-Z]{4}-[0-9A-Z]{4}$")
CUSTOMER_NUMBER_RE = re.compile(r"^C-[0-9A-Z]{6}$")
ACTIVATION_ID_RE = re.compile(r"^A-[0-9A-Z]{16}$")


# A product's code (the admin API's and the console's rule).
PRODUCT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# An order's number and currency (the admin API's and the console's rule).
ORDER_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
