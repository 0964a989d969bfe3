"""Console pages: a product's policies, with a dry run before a change is saved."""

from __future__ import annotations
