"""Floating leases and heartbeats over time: release what ran out, mark or free
what went silent (licserver.domain.policy decides; this writes, under each
licence's lock, with its events). Used by ``licserver sweep`` and, for one
licence that needs a seat, by the activation path."""

from __future__ import annotations
