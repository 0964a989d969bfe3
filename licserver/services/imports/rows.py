"""One row of an import: checked against the database (and the rows before it
in the file), then written. ``Rows.check`` is the dry run's and the import's
check; ``Rows.apply`` writes a checked row in the caller's transaction.

Every kind is idempotent by its external id (``import_refs``): a row whose
values have the digest last imported changes nothing; another digest updates
the row it became."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from licserver.crypto import random_token, token_hash
from licserver.domain import imports as rules
from licserver.domain.ids import new_activation_id, new_customer_number
from licserver.models import Activation, Customer, License, User, utcnow
from licserver.models.imports import ImportRef, LegacyKey
from licserver.services import events
from licserver.services import licenses as license_service
from licserver.services import policies as policy_service
from licserver.services.context import Context
from licserver.services.imports.checks import Checked, RowChecks

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class Rows(RowChecks):
    """The rows of one file of ``kind``, in order: checked (``RowChecks``),
    then written."""

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
