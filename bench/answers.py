"""What signing answers costs a validate, in-process.

Calls the real app's WSGI callable directly (no HTTP server, no test client)
with the environ gunicorn makes for ``POST /api/v1/validate`` (a live
activation's licence key and installation, a ``Licserver-Nonce``), on SQLite in
a temporary folder, and times it with the signed-answer hooks
(``licserver.api.answers``: the nonce check and the signature) in place and
timed on their own inside the same requests (their CPU time, wrapped around
each call); the fastest batch of each is kept.

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


def _timed(app: Any, spent: list[float]) -> None:
    """Wrap the signed-answer hooks in the app's hook lists so that each call
    adds its CPU time to ``spent[0]``."""

    def wrap(f: Any) -> Any:
        def timed(*args: Any) -> Any:
            t0 = time.process_time()
            try:
                return f(*args)
            finally:
                spent[0] += time.process_time() - t0

        timed.__qualname__ = f"timed {_name(f)}"
        return timed

    for funcs in (app.before_request_funcs, app.after_request_funcs):
        for key, fs in funcs.items():
            funcs[key] = [wrap(f) if _name(f) in SIGNING_HOOKS else f for f in fs]


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
    out = b"".join(app.wsgi_app(validate_environ(body), lambda s, h, e=None: status.append(s)))
    assert status[0].startswith("200") and b'"valid":true' in out.replace(b" ", b""), out
    per_request_us(app.wsgi_app, body, 200)  # warm
    spent = [0.0]
    _timed(app, spent)
    whole, hooks_us = float("inf"), float("inf")
    # the fastest batch of each: other work on the machine only ever adds time
    for _ in range(a.rounds):
        spent[0] = 0.0
        whole = min(whole, per_request_us(app.wsgi_app, body, a.n))
        hooks_us = min(hooks_us, spent[0] / a.n * 1e6)
    shutil.rmtree(tmp, ignore_errors=True)
    print("POST /api/v1/validate, in-process, µs of CPU per request:")
    print(f"  the whole validate, signed      {whole:8.1f}")
    print(f"  of which the signed-answer hooks {hooks_us:7.1f}  ({hooks_us / whole * 100:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
