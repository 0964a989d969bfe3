"""``LicenseClient``: activate, check in, deactivate, and know offline whether
this installation is licensed (API.md, "SDK")."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from licclient import _fingerprint, _offline, _state, _update, _verify
from licclient._state import State, StateError, StateStore
from licclient._verify import Certificate, InvalidToken
from licclient.errors import (
    CertificateInvalid,
    Deactivated,
    InvalidCredentials,
    LicenseError,
    LicenseExpired,
    LicenseRevoked,
    LicenseSuspended,
    RateLimited,
    ServerUnavailable,
)

if TYPE_CHECKING:
    from licclient._http import Transport

__version__ = "0.1.0"

log = logging.getLogger("licclient")
log.addHandler(logging.NullHandler())

# status() codes, the first that applies (API.md).
NOT_ACTIVATED = "NOT_ACTIVATED"
CERTIFICATE_INVALID = "CERTIFICATE_INVALID"
CLOCK_TAMPERED = "CLOCK_TAMPERED"
LICENSE_REVOKED = "LICENSE_REVOKED"
LICENSE_SUSPENDED = "LICENSE_SUSPENDED"
LICENSE_EXPIRED = "LICENSE_EXPIRED"
CHECKIN_REQUIRED = "CHECKIN_REQUIRED"
VALID = "VALID"

PRODUCT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LICENSE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# status() records the clock in the state at most this often (seconds): a write
# at every start of the product, not at every call.
SEEN_STEP = 60
_REFUSAL_CODES: dict[type[LicenseError], str] = {
    LicenseSuspended: LICENSE_SUSPENDED,
    LicenseRevoked: LICENSE_REVOKED,
    LicenseExpired: LICENSE_EXPIRED,
}


def _utc(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True, slots=True)
class Status:
    """What ``status()`` knows offline. ``valid`` is true for ``code == "VALID"`` only.

    ``code`` is one of NOT_ACTIVATED, CERTIFICATE_INVALID, CLOCK_TAMPERED,
    LICENSE_REVOKED, LICENSE_SUSPENDED, LICENSE_EXPIRED, CHECKIN_REQUIRED, VALID.
    The licence fields come from the verified certificate; they are None (and
    ``features`` empty) for NOT_ACTIVATED and CERTIFICATE_INVALID. ``detail``
    says why the stored activation is invalid (for support; not user-facing).
    """

    valid: bool
    code: str
    license_id: str | None = None
    expires_at: datetime | None = None  # None: perpetual
    offline_until: datetime | None = None  # check in before this
    features: tuple[str, ...] = ()
    activation_id: str | None = None
    customer: str | None = None
    seats: int | None = None
    machine_name: str | None = None
    checked_in_at: datetime | None = None  # the certificate's issue time
    detail: str | None = None
    # Licence models (client_sdk/python/README.md, "Licence models").
    model: str | None = None  # "node_locked" or "floating"
    lease_expires_at: datetime | None = None  # floating: the lease's end
    warnings: tuple[str, ...] = ()  # report-only: what enforcement would refuse
    site_url: str | None = None  # a licensed site
    heartbeat_interval: int | None = None  # seconds: check in this often


class LicenseClient:
    """The licence of one product on this machine.

    ``public_keys``: ``{kid: base64url public key}`` as ``GET /api/v1/keys``
    lists them, pinned in the product (several, so the server's key can
    rotate). ``state_dir``: where the activation is kept (default: a per-user
    folder of the platform; one folder holds any number of products).
    ``installation_id``: overrides the machine-derived ID (containers, tests).
    ``clock``: unix seconds; all licence time comes from it. ``timeout`` (s)
    and ``retries`` apply to each request; ``clock_tolerance`` (s) is how far
    the clock may go back before ``CLOCK_TAMPERED``.

    Licence models: ``release_date`` (a date or "YYYY-MM-DD", the release of
    the product version embedding the SDK) lets an expired licence under
    "maintained access" keep working for versions released before it expired;
    ``site_url`` activates a web site instead of a machine (its installation ID
    is derived from the normalised URL); ``fingerprints`` (True: hashes of the
    hostname, a hardware serial and the MAC, sent only with a machine-derived
    installation ID; False: none; a dict: those) let the server recognise this
    machine when its installation ID changes.

    Not thread-safe: use one client per thread, or a lock.
    """

    def __init__(
        self,
        server: str,
        *,
        product: str,
        public_keys: Mapping[str, str],
        state_dir: str | os.PathLike[str] | None = None,
        installation_id: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        retries: int = 3,
        clock_tolerance: float = 3600.0,
        app_version: str | None = None,
        release_date: date | str | None = None,
        site_url: str | None = None,
        fingerprints: bool | Mapping[str, str] = True,
    ) -> None:
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"server must be an http:// or https:// URL, not {server!r}")
        if not isinstance(product, str) or not PRODUCT_RE.match(product):
            raise ValueError(f"product must be a product code like 'cad-pro', not {product!r}")
        if timeout <= 0 or retries < 0 or clock_tolerance < 0:
            raise ValueError("timeout must be > 0, retries and clock_tolerance >= 0")
        self.server = server.rstrip("/")
        self.product = product
        self.state_dir = Path(state_dir) if state_dir is not None else _state.default_state_dir()
        self._keys = _verify.load_public_keys(public_keys)
        self.release_date = _release_date(release_date)
        self.site_url: str | None = None
        if site_url is not None:
            if installation_id is not None:
                raise ValueError("give site_url or installation_id, not both")
            self.site_url = _fingerprint.normalise_site(site_url)
            installation_id = _fingerprint.site_installation_id(self.site_url)
        if fingerprints is True:
            # Only for a machine-derived installation ID: an ID given by the caller
            # (containers, tests) or a site is an identity the caller manages.
            self._fingerprints: Mapping[str, str] | None = None  # computed on first use
            self._want_fingerprints = self.site_url is None and installation_id is None
        else:
            self._fingerprints = dict(fingerprints) if fingerprints else None
            self._want_fingerprints = bool(fingerprints)
        if installation_id is None:
            try:
                installation_id = _fingerprint.installation_id(product, self.state_dir)
            except OSError as exc:
                raise LicenseError(
                    f"This machine has no identity to derive an installation ID from ({exc}); "
                    "pass installation_id="
                ) from exc
        elif not _fingerprint.INSTALLATION_ID_RE.match(installation_id):
            raise ValueError("installation_id: 8 to 128 characters of A-Z a-z 0-9 . _ : -")
        self.installation_id: str = installation_id
        self.timeout = timeout
        self.retries = retries
        self.clock_tolerance = clock_tolerance
        self.app_version = app_version
        self._clock = clock
        self._store = StateStore(self.state_dir, product)
        # The last state read and verified, by its exact bytes: an unchanged
        # file is not verified again.
        self._verified: tuple[bytes, State, Certificate] | None = None
        self._transport: Transport | None = None

    def __repr__(self) -> str:
        return (
            f"LicenseClient({self.server!r}, product={self.product!r}, "
            f"installation_id={self.installation_id!r}, state_dir={str(self.state_dir)!r})"
        )

    # ---- offline ------------------------------------------------------------

    def status(self) -> Status:
        """Verify the stored activation. Offline; never raises for the licence's condition."""
        now = self._clock()
        local = self._local()
        if isinstance(local, Status):
            return local
        raw, state, cert = local
        result = self._evaluate(state, cert, now)
        if result.code != CLOCK_TAMPERED and now >= state.last_seen + SEEN_STEP:
            self._remember(raw, state.with_(last_seen=int(now)), cert)
        return result

    def _local(self) -> tuple[bytes, State, Certificate] | Status:
        """The stored activation, verified; else the status saying why there is none."""
        try:
            raw = self._store.read()
        except OSError as exc:
            return self._invalid(f"state file unreadable: {exc.strerror or exc}")
        if raw is None:
            return Status(False, NOT_ACTIVATED)
        verified = self._verified
        if verified is not None and verified[0] == raw:
            return verified
        try:
            state = _state.decode(raw)
            cert = _verify.certificate(state.certificate, self._keys)
        except (StateError, InvalidToken) as exc:
            return self._invalid(str(exc))
        reason = self._foreign(state, cert)
        if reason:
            return self._invalid(reason)
        self._verified = (raw, state, cert)
        return self._verified

    def _invalid(self, reason: str) -> Status:
        log.debug("the stored activation of %s is invalid: %s", self.product, reason)
        return Status(False, CERTIFICATE_INVALID, detail=reason)

    def _foreign(self, state: State, cert: Certificate) -> str | None:
        if state.product != self.product or cert.prod != self.product:
            return f"certificate of product {cert.prod!r}, not {self.product!r}"
        if state.installation_id != self.installation_id or cert.iid != self.installation_id:
            return "certificate of another installation"
        if cert.aid != state.activation_id:
            return "certificate of another activation"
        return None

    def _evaluate(self, state: State, cert: Certificate, now: float) -> Status:
        if now < max(state.last_seen, cert.iat) - self.clock_tolerance:
            code = CLOCK_TAMPERED
        elif state.refusal in (LICENSE_REVOKED, LICENSE_SUSPENDED):
            code = state.refusal
        elif state.refusal == LICENSE_EXPIRED or (
            cert.exp is not None and now >= cert.exp and not self._maintained(cert)
        ):
            code = LICENSE_EXPIRED
        elif now >= cert.until:
            code = CHECKIN_REQUIRED
        else:
            code = VALID
        return Status(
            valid=code == VALID,
            code=code,
            license_id=cert.lid,
            expires_at=_utc(cert.exp),
            offline_until=_utc(cert.until),
            features=cert.features,
            activation_id=cert.aid,
            customer=cert.cust,
            seats=cert.seats,
            machine_name=cert.mn,
            checked_in_at=_utc(cert.iat),
            model=cert.model,
            lease_expires_at=_utc(cert.lease),
            warnings=cert.warn,
            site_url=cert.site,
            heartbeat_interval=cert.hb,
        )

    def _maintained(self, cert: Certificate) -> bool:
        """Maintained access: this version was released on or before the expiry day."""
        if cert.acc != "maintain_access" or cert.exp is None or self.release_date is None:
            return False
        return self.release_date <= datetime.fromtimestamp(cert.exp, UTC).date()

    def has_feature(self, name: str) -> bool:
        """Is ``name`` among the licence's features (entitlements)? Offline, from
        the stored certificate; False unless ``status()`` is valid."""
        current = self.status()
        return current.valid and name in current.features

    def _remember(self, raw: bytes, state: State, cert: Certificate) -> None:
        """Record the clock (best effort: a read-only folder costs only tamper detection)."""
        try:
            written = self._store.write(state, unless_changed_from=raw)
        except OSError as exc:
            log.debug("could not record the clock in %s: %s", self._store.path, exc)
            return
        if written == _state.encode(state):
            self._verified = (written, state, cert)

    # ---- online -------------------------------------------------------------

    def activate(
        self,
        *,
        license_key: str | None = None,
        license_id: str | None = None,
        activation_password: str | None = None,
        customer_number: str | None = None,
        company_password: str | None = None,
        machine_name: str | None = None,
    ) -> Status:
        """Activate this installation with one kind of credentials; returns the new status.

        Repeating it on an active installation takes no second seat. Raises a
        ``LicenseError`` on failure; nothing is stored then.
        """
        creds = self._credentials(
            license_key, license_id, activation_password, customer_number, company_password
        )
        if customer_number is not None:
            creds["product"] = self.product  # picks among the customer's licences of it
        if license_key is not None:
            for_product = _verify.license_key_product(license_key, self._keys)
            if for_product is not None and for_product != self.product:
                raise InvalidCredentials(
                    f"This licence key is for the product '{for_product}', not '{self.product}'.",
                    code="INVALID_CREDENTIALS",
                )
        body: dict[str, Any] = {**creds, "client": self._client_info()}
        if self.site_url is not None:
            body["site_url"] = self.site_url  # the server derives the same installation ID
            if machine_name is not None:
                body["machine_name"] = machine_name
        else:
            body["installation_id"] = self.installation_id
            body["machine_name"] = (
                machine_name if machine_name is not None else _default_machine_name()
            )
            secondary = self._secondary()
            if secondary:
                body["fingerprints"] = secondary
        if self.release_date is not None:
            body["release_date"] = self.release_date.isoformat()
        try:
            _, answer = self._http().request("POST", "/api/v1/activations", body)
        except CertificateInvalid as exc:
            # an answer we cannot trust may still be the real server's (signed
            # by a key this build does not pin): give back the seat it may hold
            self._release_unverified(getattr(exc, "unverified_body", b""))
            raise
        aid, token = answer.get("activation_id"), answer.get("activation_token")
        try:
            if not (isinstance(aid, str) and aid and isinstance(token, str) and token):
                raise InvalidToken("the answer has no activation_id or activation_token")
            text, cert = self._accept(answer.get("certificate"), aid)
        except InvalidToken as exc:
            if isinstance(aid, str) and isinstance(token, str):
                self._release(aid, token)
            raise CertificateInvalid(
                f"The server's certificate did not verify ({exc}); nothing was stored.",
                code=CERTIFICATE_INVALID,
            ) from exc
        assert isinstance(aid, str) and isinstance(token, str)
        self._save(
            State(
                product=self.product,
                installation_id=self.installation_id,
                server=self.server,
                activation_id=aid,
                activation_token=token,
                certificate=text,
                last_seen=cert.iat,
            )
        )
        return self.status()

    def checkin(self) -> Status:
        """Refresh the certificate; returns the new status.

        ``Deactivated`` removes the local activation. A suspended, revoked or
        expired licence raises and is remembered, so ``status()`` reports it.
        """
        state = self._stored_state()
        try:
            _, answer = self._http().request(
                "POST",
                f"/api/v1/activations/{quote(state.activation_id, safe='')}/checkin",
                self._checkin_body(state.activation_token),
            )
        except Deactivated:
            self._store.remove()
            self._verified = None
            raise
        except (LicenseSuspended, LicenseRevoked, LicenseExpired) as exc:
            self._save(state.with_(refusal=_REFUSAL_CODES[type(exc)]), quiet=True)
            raise
        try:
            text, cert = self._accept(answer.get("certificate"), state.activation_id)
        except InvalidToken as exc:
            raise CertificateInvalid(
                f"The server's certificate did not verify ({exc}); nothing was stored.",
                code=CERTIFICATE_INVALID,
            ) from exc
        self._save(state.with_(certificate=text, last_seen=cert.iat, refusal=None))
        return self.status()

    def deactivate(self) -> None:
        """Free this installation's seat on the server, then forget the local activation."""
        state = self._stored_state()
        self._http().request(
            "DELETE",
            f"/api/v1/activations/{quote(state.activation_id, safe='')}",
            headers={"Authorization": f"Activation {state.activation_token}"},
        )
        self._store.remove()
        self._verified = None

    def release(self) -> None:
        """Give the seat back when the product exits. On a floating licence this
        releases the lease at once (another machine may take it; releases never
        count against the licence's deactivation budget); on a node-locked
        licence it is ``deactivate()``. Either way the local activation is gone,
        and the next start activates again."""
        self.deactivate()

    def check_for_update(
        self,
        current_version: str,
        channel: str = "stable",
        *,
        platform: str | None = None,
        arch: str | None = None,
    ) -> _update.Update | None:
        """The newest release this licence may have above ``current_version`` on
        ``channel`` (or a more stable one), for ``platform``/``arch`` if given
        (``windows``, ``macos``, ``linux``; ``x86_64``, ``arm64``), or None.
        Its UP1 manifest is verified with the pinned keys
        (``CertificateInvalid`` otherwise); errors as for ``checkin()``."""
        state = self._stored_state()
        body: dict[str, Any] = {
            "activation_id": state.activation_id,
            "activation_token": state.activation_token,
            "current_version": current_version,
            "channel": channel,
        }
        if platform is not None:
            body["platform"] = platform
        if arch is not None:
            body["arch"] = arch
        _, answer = self._http().request("POST", "/api/v1/updates", body)
        found = answer.get("update")
        if found is None:
            return None
        if not isinstance(found, dict):
            raise LicenseError("The server's update answer is not an object.")
        return _update.from_answer(
            found,
            self.product,
            self._keys,
            timeout=max(self.timeout, 30.0),
            retries=self.retries,
            user_agent=f"licclient/{__version__} Python/{sys.version.split()[0]}",
        )

    @contextlib.contextmanager
    def lease(self, **credentials: str) -> Iterator[Status]:
        """``with client.lease(license_key=...) as status:`` — activate (take a
        floating lease) unless this installation is already valid, and release
        it on the way out, whatever happens inside. Check in at least every
        ``status.heartbeat_interval`` (or before ``offline_until``) meanwhile."""
        current = self.status()
        if not current.valid:
            current = self.activate(**credentials)
        try:
            yield current
        finally:
            try:
                self.release()
            except LicenseError as exc:
                log.warning("could not release the lease: %s", exc)

    def auto_checkin(self, *, within: float | timedelta | None = None) -> Status:
        """Check in when it is due, and tolerate the server being away meanwhile.

        Due: less than ``within`` (seconds or a timedelta; default half the
        offline grace period) is left before ``offline_until``, or the status
        is one a check-in may cure (CHECKIN_REQUIRED, CLOCK_TAMPERED, and a
        suspended, revoked or expired licence the vendor may have restored).
        When the server cannot be reached, busy or failing, returns
        ``status()``: valid until the deadline, CHECKIN_REQUIRED after it. The
        server's refusals raise as in ``checkin()``.
        """
        now = self._clock()
        local = self._local()
        if isinstance(local, Status):
            return local  # nothing to check in with
        _, state, cert = local
        current = self._evaluate(state, cert, now)
        if current.valid:
            margin = within.total_seconds() if isinstance(within, timedelta) else within
            if margin is None:
                margin = (cert.until - cert.iat) / 2
            if cert.until - now > margin:
                return self.status()
        try:
            return self.checkin()
        except (ServerUnavailable, RateLimited) as exc:
            log.info("check-in postponed: %s", exc)
        except LicenseError as exc:
            if exc.status is None or exc.status < 500:
                raise
            log.info("check-in postponed: %s", exc)
        return self.status()

    # ---- offline (air-gapped) activation -------------------------------------

    def offline_request(
        self,
        *,
        license_id: str | None = None,
        license_key: str | None = None,
        machine_name: str | None = None,
    ) -> str:
        """A request code for activating this machine without a network
        (``LOR1.…``, in lines of 64 characters): paste it into the licence
        server's portal, which answers with a certificate file for
        ``import_certificate``. Needs the licence: ``license_id`` or
        ``license_key``, or neither when this installation is already activated
        (a renewal of its certificate). Only the latest request's certificate
        can be imported. Offline; raises ``ValueError`` for bad arguments.
        """
        if license_id is not None and license_key is not None:
            raise ValueError("give license_id or license_key, not both")
        if license_key is not None:
            license_id = self._key_license_id(license_key)
        elif license_id is None:
            local = self._local()
            if isinstance(local, Status):
                raise ValueError("give license_id= or license_key= (this machine is not activated)")
            license_id = local[2].lid
        if not isinstance(license_id, str) or not _LICENSE_ID_RE.match(license_id):
            raise ValueError(
                f"license_id must be a licence id like 'L-7K3M-9QX2', not {license_id!r}"
            )
        name = machine_name if machine_name is not None else _default_machine_name()
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise ValueError("machine_name: 1 to 255 characters")
        now, nonce = int(self._clock()), _offline.new_nonce()
        code = _offline.request_code(
            {
                "lid": license_id,
                "prod": self.product,
                "iid": self.installation_id,
                "mn": name,
                "nonce": nonce,
                "iat": now,
                "client": self._client_info(),
            }
        )
        store = self._offline_store()
        remembered = store.read(self.installation_id)
        try:
            store.write(
                _offline.OfflineState(
                    self.installation_id,
                    _offline.Pending(license_id, nonce, now),
                    remembered.deactivated,
                    remembered.last_code,
                )
            )
        except OSError as exc:
            raise LicenseError(
                f"Could not store the request in {self.state_dir}: {exc.strerror or exc}"
            ) from exc
        return _offline.wrap(code)

    def import_certificate(self, text: str) -> Status:
        """Store the certificate file the server made for this machine's request
        (the text of the file, ``LOC1.…``; line breaks and ``#`` lines are
        ignored); returns the new status. Verified in full first: the server's
        signature against the pinned keys, the product, this installation, and
        the nonce of the pending request (when there is one). Raises
        ``CertificateInvalid`` and stores nothing when any check fails.
        """
        try:
            env = _offline.envelope(text, self._keys)
            cert_text, cert = self._accept(env.certificate, env.activation_id)
            if env.installation_id != self.installation_id:
                raise InvalidToken("it is for another installation")
            remembered = self._offline_store().read(self.installation_id)
            pending = remembered.pending
            if pending is not None and env.nonce != pending.nonce:
                raise InvalidToken(
                    "it answers another request code than this machine's latest one; "
                    "paste the latest request code into the portal"
                )
            if env.activation_id in remembered.deactivated:
                raise InvalidToken("its activation was deactivated on this machine")
        except InvalidToken as exc:
            raise CertificateInvalid(
                f"The certificate file was refused ({exc}); nothing was stored.",
                code=CERTIFICATE_INVALID,
            ) from exc
        self._save(
            State(
                product=self.product,
                installation_id=self.installation_id,
                server=self.server,
                activation_id=env.activation_id,
                activation_token=env.activation_token,
                certificate=cert_text,
                last_seen=cert.iat,
            )
        )
        if pending is not None:
            try:
                self._offline_store().write(replace(remembered, pending=None))
            except OSError as exc:
                log.warning("could not clear the offline request: %s", exc)
        return self.status()

    def deactivate_offline(self) -> str:
        """Delete this machine's activation and return the code that proves it
        (``LOD1.…``, in lines of 64 characters): pasted into the portal, it frees
        the seat; it can be used once. Offline. Called again on a machine it
        deactivated, it returns the same code (nothing else is active then).
        """
        store = self._offline_store()
        remembered = store.read(self.installation_id)
        try:
            state = self._stored_state()
        except LicenseError as exc:
            if exc.code == NOT_ACTIVATED and remembered.last_code:
                return _offline.wrap(remembered.last_code)
            raise
        code = _offline.deactivation_code(
            state.activation_token, state.activation_id, self.installation_id, int(self._clock())
        )
        try:
            store.write(
                _offline.OfflineState(
                    self.installation_id,
                    None,
                    (*remembered.deactivated, state.activation_id),
                    code,
                )
            )
        except OSError as exc:
            raise LicenseError(
                f"Could not record the deactivation in {self.state_dir}: {exc.strerror or exc}"
            ) from exc
        self._store.remove()
        self._verified = None
        return _offline.wrap(code)

    def _offline_store(self) -> _offline.OfflineStore:
        return _offline.OfflineStore(self.state_dir, self.product)

    def _key_license_id(self, license_key: str) -> str:
        """The licence a key names; its product must be ours when it verifies."""
        for_product = _verify.license_key_product(license_key, self._keys)
        if for_product is not None and for_product != self.product:
            raise InvalidCredentials(
                f"This licence key is for the product '{for_product}', not '{self.product}'.",
                code="INVALID_CREDENTIALS",
            )
        try:
            payload = json.loads(_verify.b64u_decode(license_key.strip().split(".")[1]))
        except (ValueError, IndexError, UnicodeDecodeError, AttributeError) as exc:
            raise ValueError("license_key is not a licence key (LK1.…)") from exc
        lid = payload.get("lid") if isinstance(payload, dict) else None
        if not isinstance(lid, str):
            raise ValueError("license_key is not a licence key (LK1.…)")
        return lid

    # ---- helpers ------------------------------------------------------------

    @staticmethod
    def _credentials(
        license_key: str | None,
        license_id: str | None,
        activation_password: str | None,
        customer_number: str | None,
        company_password: str | None,
    ) -> dict[str, str]:
        kinds = [
            {"license_key": license_key},
            {"license_id": license_id, "activation_password": activation_password},
            {"customer_number": customer_number, "company_password": company_password},
        ]
        given = [k for k in kinds if any(v is not None for v in k.values())]
        if len(given) != 1 or any(not v or not isinstance(v, str) for v in given[0].values()):
            raise ValueError(
                "give exactly one of: license_key; license_id and activation_password; "
                "customer_number and company_password"
            )
        return {k: v for k, v in given[0].items() if v is not None}

    def _accept(self, text: object, activation_id: str) -> tuple[str, Certificate]:
        """The server's certificate, verified and for this installation and activation."""
        cert = _verify.certificate(text, self._keys)
        assert isinstance(text, str)
        if cert.prod != self.product:
            raise InvalidToken(f"it is for the product '{cert.prod}', not '{self.product}'")
        if cert.iid != self.installation_id:
            raise InvalidToken("it is for another installation")
        if cert.aid != activation_id:
            raise InvalidToken("it is for another activation")
        return text, cert

    def _release_unverified(self, raw: bytes) -> None:
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return
        aid = answer.get("activation_id") if isinstance(answer, dict) else None
        token = answer.get("activation_token") if isinstance(answer, dict) else None
        if isinstance(aid, str) and aid and isinstance(token, str) and token:
            self._release(aid, token)

    def _release(self, activation_id: str, token: str) -> None:
        """Free a seat taken by an answer we cannot use (best effort)."""
        try:
            self._http().request(
                "DELETE",
                f"/api/v1/activations/{quote(activation_id, safe='')}",
                headers={"Authorization": f"Activation {token}"},
                retries=0,
            )
        except LicenseError as exc:
            log.warning("could not free the seat of activation %s: %s", activation_id, exc)

    def _stored_state(self) -> State:
        """The stored activation for the online calls (its certificate may be stale)."""
        try:
            raw = self._store.read()
        except OSError as exc:
            raise CertificateInvalid(
                f"The stored activation cannot be read ({exc}).", code=CERTIFICATE_INVALID
            ) from exc
        if raw is None:
            raise LicenseError("This installation is not activated.", code=NOT_ACTIVATED)
        try:
            state = _state.decode(raw)
        except StateError as exc:
            raise CertificateInvalid(
                f"The stored activation is unreadable ({exc}); activate again.",
                code=CERTIFICATE_INVALID,
            ) from exc
        if state.product != self.product or state.installation_id != self.installation_id:
            raise CertificateInvalid(
                "The stored activation belongs to another product or installation; activate again.",
                code=CERTIFICATE_INVALID,
            )
        return state

    def _save(self, state: State, *, quiet: bool = False) -> None:
        try:
            self._store.write(state)
        except OSError as exc:
            if quiet:
                log.warning("could not update %s: %s", self._store.path, exc)
                return
            raise LicenseError(
                f"Could not store the activation in {self.state_dir}: {exc.strerror or exc}"
            ) from exc
        self._verified = None

    def _checkin_body(self, token: str) -> dict[str, Any]:
        body: dict[str, Any] = {"activation_token": token}
        if self.release_date is not None:
            body["release_date"] = self.release_date.isoformat()
        return body

    def _secondary(self) -> Mapping[str, str] | None:
        """The secondary identifiers sent with an activation (hashes; see _fingerprint)."""
        if self._fingerprints is None and self._want_fingerprints:
            try:
                self._fingerprints = _fingerprint.secondary_identifiers(self.product)
            except OSError as exc:
                log.debug("no secondary identifiers: %s", exc)
                self._fingerprints = {}
        return self._fingerprints

    def _client_info(self) -> dict[str, str]:
        info = {
            "os": f"{platform.system()} {platform.release()}".strip()[:200],
            "hostname": socket.gethostname()[:255],
            "app_version": (self.app_version or "")[:100],
        }
        return {k: v for k, v in info.items() if v}

    def _http(self) -> Transport:
        if self._transport is None:
            from licclient._http import Transport  # not needed by status(): import on first use

            self._transport = Transport(
                self.server,
                timeout=self.timeout,
                retries=self.retries,
                user_agent=f"licclient/{__version__} Python/{platform.python_version()}",
                public_keys=self._keys,
            )
        return self._transport


def _release_date(value: date | str | None) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"release_date must be a date or 'YYYY-MM-DD', not {value!r}")


def _default_machine_name() -> str:
    name = (socket.gethostname() or platform.node() or "").strip()
    if sys.platform == "win32":
        name = os.environ.get("COMPUTERNAME", name)
    return name[:255] or "unknown"
