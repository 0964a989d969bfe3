"""What signing answers costs a validate, in-process.

Calls the real app's WSGI callable directly (no HTTP server, no test client)
with the environ gunicorn makes for ``POST /api/v1/validate`` (a live
activation's licence key and installation, a ``Licserver-Nonce``), on SQLite in
a temporary folder, and times batches of it with the signed-answer hooks
(``licserver.api.answers``: the nonce check and the signature) in place and
taken out, in turn; the fastest batch of each is kept and the difference is
signing's cost. (Not a clock around each hook: reading the CPU clock costs
~11 µs on this machine, more than the hooks' other work.)

    python -m bench.answers            # µs per validate, and the signing's share
    python -m bench.answers --n 2000 --rounds 9
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.hooks import _name, _start_response, environ

SIGNING_HOOKS = {"licserver.api.answers._check_nonce", "licserver.api.answers._sign"}


def validate_environ(body: bytes) -> dict[str, Any]:
    env = environ("/api/v1/validate")
    env.update(
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(body)),
        HTTP_LICSERVER_NONCE="n-3f9a1c0e5b7d4e21",
    )
    env["wsgi.input"] = io.BytesIO(body)
    return env


def per_request_us(call: Any, body: bytes, n: int) -> float:
    """One batch of ``n`` validates, in µs of this process's CPU time each."""
    t0 = time.process_time()
    for _ in range(n):
        out = call(validate_environ(body), _start_response)
        for _chunk in out:
            pass
        close = getattr(out, "close", None)
        if close is not None:
            close()
    return (time.process_time() - t0) / n * 1e6


def _app_with_a_licence(tmp: str) -> tuple[Any, bytes]:
    from bench.data import make_scenario_rows
    from licserver import create_app, migrate
    from licserver.extensions import db
    from licserver.runtime import context, runtime
    from licserver.services.keys import ensure_signing_key

    config = {
        "DATABASE_URL": f"sqlite:///{tmp}/answers.db",
        "KEYS_DIR": f"{tmp}/keys",
        "SECRET_KEY": "bench-secret",
        "RATE_LIMITS": "off",
    }
    app = create_app(config)
    with app.app_context():
        migrate.upgrade(db.engine)
        runtime().box(create=True)
        ensure_signing_key(context(), Path(config["KEYS_DIR"]), "")
        db.session.remove()
    rows = make_scenario_rows(app, licences=1, live_per_licence=1)
    key, iid = rows.validate[0]
    return app, json.dumps({"license_key": key, "installation_id": iid}).encode()


def _hook_lists(app: Any) -> tuple[dict[Any, list[Any]], dict[Any, list[Any]]]:
    """(with, without): the app's before- and after-request hook lists as they
    are, and without the two signed-answer hooks."""
    with_ = {
        "before": {k: list(v) for k, v in app.before_request_funcs.items()},
        "after": {k: list(v) for k, v in app.after_request_funcs.items()},
    }
    without = {
        where: {k: [f for f in fs if _name(f) not in SIGNING_HOOKS] for k, fs in lists.items()}
        for where, lists in with_.items()
    }
    return with_, without


def _use(app: Any, lists: dict[Any, Any]) -> None:
    app.before_request_funcs = {k: list(v) for k, v in lists["before"].items()}
    app.after_request_funcs = {k: list(v) for k, v in lists["after"].items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.answers", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--n", type=int, default=1000, help="validates per batch (default 1000)")
    p.add_argument("--rounds", type=int, default=7, help="batches of each (default 7)")
    a = p.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="licserver-answers-")
    os.environ.setdefault("LICSERVER_INSTANCE_DIR", tmp)
    app, body = _app_with_a_licence(tmp)
    hooks = {_name(f) for fs in app.after_request_funcs.values() for f in fs}
    hooks |= {_name(f) for fs in app.before_request_funcs.values() for f in fs}
    assert SIGNING_HOOKS <= hooks, hooks
    status: list[str] = []
    headers: list[Any] = []

    def start(s: str, h: Any, e: Any = None) -> None:
        status.append(s)
        headers.append(dict(h))

    out = b"".join(app.wsgi_app(validate_environ(body), start))
    assert status[0].startswith("200") and b'"valid":true' in out.replace(b" ", b""), out
    assert "Licserver-Answer-Signature" in headers[0], headers[0]
    signed, unsigned = _hook_lists(app)
    per_request_us(app.wsgi_app, body, 200)  # warm
    best = {"signed": float("inf"), "unsigned": float("inf")}
    # in turn, the fastest batch of each: other work on the machine only ever adds time
    for _ in range(a.rounds):
        for name, lists in (("signed", signed), ("unsigned", unsigned)):
            _use(app, lists)
            best[name] = min(best[name], per_request_us(app.wsgi_app, body, a.n))
    shutil.rmtree(tmp, ignore_errors=True)
    cost = best["signed"] - best["unsigned"]
    print("POST /api/v1/validate, in-process, µs of CPU per request:")
    print(f"  the whole validate, signed       {best['signed']:8.1f}")
    print(f"  the same without the two hooks   {best['unsigned']:8.1f}")
    print(f"  signing's cost (the difference)  {cost:8.1f}  ({cost / best['signed'] * 100:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
