"""One row of an import: checked against the database (and the rows before it
in the file), then written. ``Rows.check`` is the dry run's and the import's
check; ``Rows.apply`` writes a checked row in the caller's transaction.

Every kind is idempotent by its external id (``import_refs``): a row whose
values have the digest last imported changes nothing; another digest updates
the row it became."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from licserver.crypto import random_token, token_hash
from licserver.domain import imports as rules
from licserver.domain.errors import NotFound
from licserver.domain.ids import new_activation_id, new_customer_number
from licserver.models import Activation, Customer, License, Product, User, utcnow
from licserver.models.imports import ImportRef, LegacyKey
from licserver.services import Origin, events
from licserver.services import licenses as license_service
from licserver.services import policies as policy_service
from licserver.services.context import Context
from licserver.services.legacy_keys import key_hash

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
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


class Rows:
    """The rows of one file of ``kind``, in order. Keeps what the rows before
    have claimed (external ids, emails, legacy keys, seats)."""

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

    # ---- writing -------------------------------------------------------------

    def write(self, batch: list[rules.RawRow]) -> list[str | tuple[int, list[str]]]:
        """Check and write the rows of ``batch`` (the caller's transaction):
        each row's outcome, or its line and problems. New licences are
        written together at the end (a few statements for the chunk)."""
        outcomes: list[str | tuple[int, list[str]]] = []
        new: list[Checked] = []
        for raw in batch:
            result = self.check(raw)
            if not isinstance(result, Checked):
                outcomes.append((raw.line, result))
            elif self.kind == rules.LICENCES and result.ref is None:
                new.append(result)
                outcomes.append(CREATED)
            else:
                outcomes.append(self.apply(result))
        if new:
            self._create_licences(new)
        return outcomes

    def _create_licences(self, rows: list[Checked]) -> None:
        """New licences of checked rows, as ``licenses.issue`` makes them: built
        first, their public ids checked in one query, inserted in one flush,
        then their events, refs and legacy keys (flushed with the commit)."""
        session = self.ctx.session
        now = utcnow()
        built: list[License] = []
        for row in rows:
            v = row.values
            prod = self._product(v["product"])
            cust = session.get(Customer, row.parent_id)
            assert prod is not None and cust is not None
            pol = self._policy(prod.id, v["policy"]) if v["policy"] else None
            lic, _ = license_service.build(
                self.ctx, prod, cust, seats=v["seats"], expires_at=v["expires_at"],
                features=v["features"], policy=pol, now=now,
            )  # fmt: skip
            lic.status = v["status"]
            built.append(lic)
        self._unique_ids(built)
        session.add_all(built)
        session.flush()
        for row, lic in zip(rows, built, strict=True):
            data = {**self._event_data(row), "status": row.values["status"]}
            license_service.record_created(session, self.origin, lic, data)
            self._sync_keys(lic, row.values["legacy_keys"], new=True)
            ref = ImportRef(
                kind=self.kind,
                external_id=row.values["external_id"],
                target_id=lic.id,
                digest=row.digest,
            )
            session.add(ref)
            self.refs[self.kind, ref.external_id] = ref

    def _unique_ids(self, built: list[License]) -> None:
        """No two of ``built`` nor any licence already written share a public id."""
        for _ in range(5):
            ids = [lic.public_id for lic in built]
            taken = set(
                self.ctx.session.scalars(
                    select(License.public_id).where(License.public_id.in_(ids))
                )
            )
            seen: set[str] = set()
            again = False
            for lic in built:
                if lic.public_id in taken or lic.public_id in seen:
                    license_service.rekey(self.ctx, lic)
                    again = True
                seen.add(lic.public_id)
            if not again:
                return

    def _policy(self, product_id: int, ref: str) -> Any:
        if (product_id, ref) not in self.policies:
            self.policies[product_id, ref] = policy_service.find(self.ctx, product_id, ref)
        return self.policies[product_id, ref]

    def apply(self, row: Checked) -> str:
        """Write a checked row (the caller's transaction; no commit)."""
        if row.ref is not None and row.ref.digest == row.digest:
            return UNCHANGED
        target_id, outcome = getattr(self, f"_apply_{self.kind}")(row)
        if row.ref is None:
            ref = ImportRef(
                kind=self.kind,
                external_id=row.values["external_id"],
                target_id=target_id,
                digest=row.digest,
            )
            self.ctx.session.add(ref)  # inserted with the chunk's next flush
            if (self.kind, ref.external_id) in self.refs:
                self.refs[self.kind, ref.external_id] = ref
        else:
            row.ref.target_id, row.ref.digest, row.ref.updated_at = target_id, row.digest, utcnow()
        return str(outcome)

    def _apply_customers(self, row: Checked) -> tuple[int, str]:
        v, session = row.values, self.ctx.session
        fields = {k: (v[k] or None) for k in ("address", "phone", "vat_id", "billing_name")}
        fields |= {"name": v["name"], "email": v["email"], "billing_email": v["billing_email"]}
        cust = session.get(Customer, row.ref.target_id) if row.ref else None
        if cust is None:
            cust = Customer(number=_new_number(self.ctx), **fields)
            session.add(cust)
            session.flush()
            return cust.id, CREATED
        for name, value in fields.items():
            setattr(cust, name, value)
        return cust.id, UPDATED

    def _apply_users(self, row: Checked) -> tuple[int, str]:
        v, session = row.values, self.ctx.session
        assert row.parent_id is not None
        user = session.get(User, row.ref.target_id) if row.ref else None
        if user is None:
            # No password and no invitation: the user sets one with "Forgot password?".
            user = User(customer_id=row.parent_id, email=v["email"], name=v["name"], role=v["role"])
            session.add(user)
            session.flush()
            return user.id, CREATED
        user.customer_id, user.email, user.name, user.role = (
            row.parent_id,
            v["email"],
            v["name"],
            v["role"],
        )
        return user.id, UPDATED

    def _event_data(self, row: Checked) -> dict[str, Any]:
        return {"import": {"external_id": row.values["external_id"], "job": self.job_id}}

    def _apply_licences(self, row: Checked) -> tuple[int, str]:
        v, session = row.values, self.ctx.session
        lic = self._locked(row.ref.target_id) if row.ref else None
        if lic is None:
            prod = self._product(v["product"])
            cust = session.get(Customer, row.parent_id)
            assert prod is not None and cust is not None
            pol = policy_service.find(self.ctx, prod.id, v["policy"]) if v["policy"] else None
            lic, _ = license_service.issue(
                self.ctx,
                self.origin,
                prod,
                cust,
                seats=v["seats"],
                expires_at=v["expires_at"],
                features=v["features"],
                policy=pol,
                event_data={**self._event_data(row), "status": v["status"]},
            )
            lic.status = v["status"]
            self._sync_keys(lic, v["legacy_keys"], new=True)
            return lic.id, CREATED
        diff: dict[str, Any] = {}
        wanted = {
            "seats": v["seats"] or lic.seats,
            "expires_at": v["expires_at"],
            "status": v["status"],
            "features": v["features"],
        }
        for name, value in wanted.items():
            old = getattr(lic, name)
            if old != value:
                diff[name] = {"from": _plain(old), "to": _plain(value)}
                setattr(lic, name, value)
        if self._sync_keys(lic, v["legacy_keys"]):
            diff["legacy_keys"] = len(v["legacy_keys"])
        if diff:
            events.record(
                session, "license.updated", self.origin, license=lic,
                data={**diff, **self._event_data(row)},
            )  # fmt: skip
        return lic.id, UPDATED

    def _locked(self, license_id: int) -> License | None:
        return self.ctx.session.scalars(
            select(License).where(License.id == license_id).with_for_update(of=License)
        ).first()

    def _sync_keys(self, lic: License, keys: list[str], *, new: bool = False) -> bool:
        """The licence's legacy keys become ``keys``; True when that changed them."""
        session = self.ctx.session
        wanted = {self._hash(k) for k in keys}
        have = {} if new else {k.key_hash: k for k in session.scalars(select(LegacyKey).where(
            LegacyKey.license_id == lic.id))}  # fmt: skip
        for h in wanted - set(have):
            session.add(LegacyKey(license_id=lic.id, key_hash=h))
        for h in set(have) - wanted:
            session.delete(have[h])
        return wanted != set(have)

    def _apply_activations(self, row: Checked) -> tuple[int, str]:
        v, session = row.values, self.ctx.session
        if row.ref is not None:
            act = session.get(Activation, row.ref.target_id)
            assert act is not None
            act.machine_name = v["machine_name"]
            return act.id, UPDATED
        assert row.parent_id is not None
        lic = self._locked(row.parent_id)
        assert lic is not None
        live = self._live(lic.id, v["installation_id"])
        if live is not None:
            return live.id, UNCHANGED
        now = utcnow()
        at: datetime = v["activated_at"] or now
        act = Activation(
            public_id=new_activation_id(),
            license_id=lic.id,
            installation_id=v["installation_id"],
            machine_name=v["machine_name"],
            # No client holds a token of this activation: activating again (with
            # the same installation ID) gives it one, without a second seat.
            token_hash=token_hash(random_token()),
            activated_at=at,
        )
        session.add(act)
        lic.seats_used += 1
        if lic.first_activated_at is None or lic.first_activated_at > at:
            lic.first_activated_at = at
        session.flush()
        events.record(
            session, "activation.created", self.origin, license=lic, activation=act,
            data={**self._event_data(row), "activated_at": _plain(at)},
        )  # fmt: skip
        return act.id, CREATED


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _new_number(ctx: Context) -> str:
    for _ in range(5):
        number = new_customer_number()
        taken = ctx.session.scalars(select(Customer.id).where(Customer.number == number)).first()
        if taken is None:
            break
    return number
