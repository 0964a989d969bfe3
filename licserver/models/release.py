"""Product releases offered as downloads."""

from __future__ import annotations
