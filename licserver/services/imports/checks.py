"""One row of an import checked against the database and the rows before it
in the file: ``RowChecks.check``, the dry run's and the import's check
(``rows.Rows`` writes what it passed)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from licserver.domain import imports as rules
from licserver.domain.errors import NotFound
from licserver.models import Activation, Customer, License, Product, User
from licserver.models.imports import ImportRef, LegacyKey
from licserver.services import Origin
from licserver.services import policies as policy_service
from licserver.services.context import Context
from licserver.services.legacy_keys import key_hash

# The kind each kind's rows refer to, and by which column.
PARENT = {
    rules.USERS: (rules.CUSTOMERS, "customer_external_id"),
    rules.LICENCES: (rules.CUSTOMERS, "customer_external_id"),
    rules.ACTIVATIONS: (rules.LICENCES, "licence_external_id"),
}


@dataclasses.dataclass
class Checked:
    line: int
    values: dict[str, Any]
    ref: ImportRef | None  # the row's earlier import
    parent_id: int | None
    digest: str


class RowChecks:
    """The checks of the rows of one file of ``kind``, in order (the dry run's
    and the import's). Keeps what the rows before have claimed (external ids,
    emails, legacy keys, seats)."""

    def __init__(
        self, ctx: Context, kind: str, origin: Origin, job_id: int | None, *, dry_run: bool
    ) -> None:
        self.ctx, self.kind, self.origin, self.job_id = ctx, kind, origin, job_id
        self.dry_run = dry_run
        self.seen = rules.SeenInFile()
        self.products: dict[str, Product | None] = {}
        self.policies: dict[tuple[int, str], Any] = {}
        self.seats_taken: Counter[int] = Counter()  # licence id -> rows of this file
        # Read ahead for a chunk of rows (``prefetch``): what they would look up
        # one by one. A key absent here is read from the database as before.
        self.parsed: dict[int, dict[str, Any] | rules.RowProblems] = {}
        self.refs: dict[tuple[str, str], ImportRef | None] = {}
        self.key_owners: dict[str, int | None] = {}
        self.hashes: dict[str, str] = {}  # legacy key -> its keyed hash (memo)

    # ---- reading ahead ---------------------------------------------------------

    def prefetch(self, batch: list[rules.RawRow]) -> None:
        """Read at once, for the rows of ``batch``, what checking and writing
        them looks up: their earlier imports and their parents', the licences
        those became, the owners of their legacy keys (a few queries per
        chunk instead of several per row). Call ``forget`` when a transaction
        that wrote some of it was rolled back."""
        self.forget()
        wanted: dict[str, set[str]] = {}
        keys: set[str] = set()
        for raw in batch:
            if raw.problem is not None:
                continue
            try:
                values = self.parsed[raw.line] = rules.parse_row(self.kind, raw.values)
            except rules.RowProblems as exc:
                self.parsed[raw.line] = exc
                continue
            wanted.setdefault(self.kind, set()).add(values["external_id"])
            if self.kind in PARENT:
                parent_kind, column = PARENT[self.kind]
                wanted.setdefault(parent_kind, set()).add(values[column])
            keys.update(values.get("legacy_keys") or ())
        session = self.ctx.session
        for kind, external_ids in wanted.items():
            self.refs.update(((kind, e), None) for e in external_ids)
            for chunk in _chunks(sorted(external_ids)):
                q = select(ImportRef).where(
                    ImportRef.kind == kind, ImportRef.external_id.in_(chunk)
                )
                self.refs.update(((kind, r.external_id), r) for r in session.scalars(q))
        self._prefetch_targets()
        hashes = [self._hash(k) for k in keys]
        self.key_owners.update((h, None) for h in hashes)
        for chunk in _chunks(hashes):
            owners = select(LegacyKey.key_hash, LegacyKey.license_id).where(
                LegacyKey.key_hash.in_(chunk)
            )
            self.key_owners.update((h, i) for h, i in session.execute(owners))

    def _prefetch_targets(self) -> None:
        """The licences and customers the chunk's refs name, into the session
        (``get`` then needs no query, nor flushes what is pending)."""
        for kind, model in ((rules.LICENCES, License), (rules.CUSTOMERS, Customer)):
            ids = sorted(r.target_id for (k, _), r in self.refs.items() if r and k == kind)
            for chunk in _chunks(ids):
                list(self.ctx.session.scalars(select(model).where(model.id.in_(chunk))))

    def forget(self) -> None:
        self.parsed.clear()
        self.refs.clear()
        self.key_owners.clear()

    def _hash(self, key: str) -> str:
        found = self.hashes.get(key)
        if found is None:
            if len(self.hashes) > 100_000:
                self.hashes.clear()
            found = self.hashes[key] = key_hash(self.ctx, key)
        return found

    # ---- checking ------------------------------------------------------------

    def check(self, raw: rules.RawRow) -> Checked | list[str]:
        """The checked row, or its problems (every one found)."""
        if raw.problem is not None:
            return [raw.problem]
        parsed = self.parsed.pop(raw.line, None)
        try:
            if isinstance(parsed, rules.RowProblems):
                raise parsed
            values = parsed if parsed is not None else rules.parse_row(self.kind, raw.values)
        except rules.RowProblems as exc:
            return exc.problems
        problems: list[str] = []
        earlier = self.seen.first("external_id", values["external_id"], raw.line)
        if earlier is not None:
            problems.append(f"external_id: duplicate of line {earlier}")
        ref = self._ref(self.kind, values["external_id"])
        parent_id = None
        if self.kind in PARENT:
            parent_kind, column = PARENT[self.kind]
            parent = self._ref(parent_kind, values[column])
            if parent is None:
                problems.append(f"{column}: no imported {parent_kind[:-1]} {values[column]!r}")
            else:
                parent_id = parent.target_id
        checked = Checked(raw.line, values, ref, parent_id, rules.digest(values))
        if not problems and not (ref is not None and ref.digest == checked.digest):
            problems += getattr(self, f"_check_{self.kind}")(checked)
        return problems or checked

    def _ref(self, kind: str, external_id: str) -> ImportRef | None:
        if (kind, external_id) in self.refs:
            return self.refs[kind, external_id]
        return self.ctx.session.scalars(
            select(ImportRef).where(ImportRef.kind == kind, ImportRef.external_id == external_id)
        ).first()

    def _check_customers(self, row: Checked) -> list[str]:
        return []

    def _check_users(self, row: Checked) -> list[str]:
        email = row.values["email"]
        earlier = self.seen.first("email", email, row.line)
        if earlier is not None:
            return [f"email: duplicate email, also on line {earlier}"]
        other = self.ctx.session.scalars(select(User).where(User.email == email)).first()
        if other is not None and (row.ref is None or row.ref.target_id != other.id):
            number = self.ctx.session.get(Customer, other.customer_id)
            owner = number.number if number else "?"
            return [f"email: duplicate email, already a user of customer {owner}"]
        return []

    def _product(self, code: str) -> Product | None:
        if code not in self.products:
            self.products[code] = self.ctx.session.scalars(
                select(Product).where(Product.code == code)
            ).first()
        return self.products[code]

    def _policy(self, product_id: int, ref: str) -> Any:
        if (product_id, ref) not in self.policies:
            self.policies[product_id, ref] = policy_service.find(self.ctx, product_id, ref)
        return self.policies[product_id, ref]

    def _check_licences(self, row: Checked) -> list[str]:
        v, problems = row.values, []
        prod = self._product(v["product"])
        if prod is None:
            problems.append(f"product: unknown product {v['product']!r}")
        elif v["policy"]:
            try:
                self._policy(prod.id, v["policy"])
            except NotFound:
                problems.append(f"policy: product {prod.code} has no policy {v['policy']!r}")
        lic = self.ctx.session.get(License, row.ref.target_id) if row.ref else None
        if lic is not None:
            if prod is not None and lic.product_id != prod.id:
                problems.append("product: differs from the licence imported before")
            if v["seats"] is not None and v["seats"] < lic.seats_used:
                problems.append(f"seats: {v['seats']} < {lic.seats_used} active installations")
        for key in v["legacy_keys"]:
            earlier = self.seen.first("legacy_key", key, row.line)
            if earlier is not None:
                problems.append(f"legacy_keys: a key also on line {earlier}")
                continue
            owner = self._key_owner(self._hash(key))
            if owner is not None and (lic is None or owner != lic.id):
                problems.append("legacy_keys: a key of another licence")
        return problems

    def _check_activations(self, row: Checked) -> list[str]:
        v = row.values
        assert row.parent_id is not None
        if row.ref is not None:
            return []  # an activation imported before: only its machine name changes
        earlier = self.seen.first(
            "installation", f"{row.parent_id}:{v['installation_id']}", row.line
        )
        if earlier is not None:
            return [f"installation_id: this installation of the licence also on line {earlier}"]
        lic = self.ctx.session.get(License, row.parent_id)
        assert lic is not None
        if self._live(lic.id, v["installation_id"]) is not None:
            return []  # active there already: linked, no second seat
        wanted = lic.seats_used + self.seats_taken[lic.id] + 1
        if wanted > lic.seats:
            return [
                f"seats: licence {v['licence_external_id']} has {lic.seats} seats,"
                f" fewer than the {wanted} active installations it would have"
            ]
        if self.dry_run:  # an import counts the seat in seats_used when it writes
            self.seats_taken[lic.id] += 1
        return []

    def _key_owner(self, hashed: str) -> int | None:
        if hashed in self.key_owners:
            return self.key_owners[hashed]
        return self.ctx.session.scalars(
            select(LegacyKey.license_id).where(LegacyKey.key_hash == hashed)
        ).first()

    def _live(self, license_id: int, installation_id: str) -> Activation | None:
        return self.ctx.session.scalars(
            select(Activation).where(
                Activation.license_id == license_id,
                Activation.installation_id == installation_id,
                Activation.deactivated_at.is_(None),
            )
        ).first()


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
