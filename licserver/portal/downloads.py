"""Downloads of the products a user holds."""

from __future__ import annotations
