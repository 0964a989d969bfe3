"""How long ``LicenseClient.status()`` takes, against PyJWT's EdDSA decode of a
token of the same size, measured in the same run; prints the ratios.

``status()`` runs at every start of the product, so the figure that matters
is the first call of a new client (it reads the state file, parses it and
verifies the Ed25519 signature); later calls on the same client skip the
signature while the file is unchanged. The reference is ``jwt.decode`` of a
JWT (EdDSA, Ed25519) carrying the same claims, padded to the certificate's
length, with its key already loaded. Goal: the first call no slower.

    python -m bench.status_bench            # or: python bench/status_bench.py
    python -m bench.status_bench --number 5000 --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from licclient import LicenseClient
from licclient._state import State, StateStore

from licserver import signing

PRODUCT = "cad-pro"
INSTALLATION = "3f2a9c0e7d5b41a8b2c4d6e8f0a1b3c5d7e9f1a3"
KID = "k-20261122-3fa9c1"


def certificate(key: Ed25519PrivateKey, now: int) -> tuple[str, dict[str, object]]:
    """An AC1 certificate as the server issues one (the server's own encoder)."""
    payload = signing.certificate_payload(
        aid="A-5TQ0V8M3R7K2X9W4",
        lid="L-7K3M-9QX2",
        prod=PRODUCT,
        cust="C-4F7K2Q",
        iid=INSTALLATION,
        mn="DESIGN-PC-07",
        seats=5,
        features=["export", "plot", "cloud-sync"],
        iat=now,
        exp=now + 365 * 86400,
        until=now + 14 * 86400,
    )
    return signing.encode(signing.CERTIFICATE_PREFIX, payload, KID, key), payload


def reference_token(key: Ed25519PrivateKey, claims: dict[str, object], length: int) -> str:
    """A JWT of ``length`` characters (give or take one): the certificate's claims,
    fewer of them if the JWT header makes it too long, padded up to the length."""
    claims = dict(claims)

    def encode(pad: str) -> str:
        return jwt.encode({**claims, "pad": pad}, key, algorithm="EdDSA", headers={"kid": KID})

    for spare in ("features", "mn", "cust", "seats"):
        if len(encode("")) <= length:
            break
        claims.pop(spare)
    pad = ""
    while len(encode(pad)) < length:
        pad += "x"
    return encode(pad)


def per_call(fns: list[Callable[[], object]], number: int, repeat: int) -> list[float]:
    """Median seconds per call of each of ``fns``, over ``repeat`` rounds of ``number``
    calls; the rounds of the functions alternate, so a busy machine slows all alike."""
    for fn in fns:
        fn()  # warm up (imports, caches)
    rounds: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            rounds[i].append(timeit.timeit(fn, number=number) / number)
    return [statistics.median(r) for r in rounds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per round")
    parser.add_argument("--repeat", type=int, default=9, help="rounds (the median is kept)")
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    public_keys = {KID: signing.public_key_b64(key.public_key())}
    now = int(time.time())
    cert, claims = certificate(key, now)
    token = reference_token(key, {k: v for k, v in claims.items() if k != "v"}, len(cert))
    public_key = key.public_key()

    with tempfile.TemporaryDirectory(prefix="licclient-bench-") as tmp:
        state_dir = Path(tmp)
        StateStore(state_dir, PRODUCT).write(
            State(
                product=PRODUCT,
                installation_id=INSTALLATION,
                server="https://lic.example.com",
                activation_id=str(claims["aid"]),
                activation_token="bench-token",
                certificate=cert,
                last_seen=now,
            )
        )

        def new_client() -> LicenseClient:
            return LicenseClient(
                "https://lic.example.com",
                product=PRODUCT,
                public_keys=public_keys,
                state_dir=state_dir,
                installation_id=INSTALLATION,
            )

        client = new_client()
        assert client.status().valid
        clients = iter([new_client() for _ in range(args.number * args.repeat + 2)])
        decoded = jwt.decode(token, public_key, algorithms=["EdDSA"])
        assert decoded["iid"] == INSTALLATION

        reference, first, later = per_call(
            [
                lambda: jwt.decode(token, public_key, algorithms=["EdDSA"]),
                lambda: next(clients).status(),
                client.status,
            ],
            args.number,
            args.repeat,
        )

    print(f"certificate {len(cert)} characters, reference JWT {len(token)} characters")
    print(f"PyJWT jwt.decode (EdDSA), the reference   {reference * 1e6:8.1f} µs per call")
    print(f"status(), first call of a new client      {first * 1e6:8.1f} µs per call")
    print(f"status(), later calls, file unchanged     {later * 1e6:8.1f} µs per call")
    print(f"ratio first call / reference: {first / reference:.2f}")
    print(f"ratio later calls / reference: {later / reference:.2f}")
    verdict = "met" if first <= reference else "NOT met"
    print(f"goal (first call no slower than the reference): {verdict}")


if __name__ == "__main__":
    main()
