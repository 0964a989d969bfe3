"""What the per-request hooks cost the floor, in-process.

Calls the real app's WSGI callable directly (no HTTP server, no test client)
with the environ gunicorn makes for ``GET /healthz``, and times it with every
hook in place and then with each one taken out: the query-string guard
(``licserver.security.QueryStringGuard``), the security headers
(``licserver.security``), the request id and metrics (``licserver.observability``)
and the app-wide hooks of Flask-Login and Flask-WTF (the portal's and the staff
console's sessions and CSRF check, which every request passes through).
The fastest of several batches is kept; the differences are each hook's cost.

    python -m bench.hooks                  # µs per request, each hook's share
    python -m bench.hooks --path /api/v1/products --n 20000
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask


def environ(path: str, query: str = "") -> dict[str, Any]:
    """Like gunicorn's sync worker's environ for a keep-alive-less GET."""
    target = f"{path}?{query}" if query else path
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": target,
        "REQUEST_URI": target,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    return None


def per_request_us(wsgi: Callable[..., Iterable[bytes]], path: str, query: str, n: int) -> float:
    """One batch of ``n`` requests, in µs of this process's CPU time per
    request (CPU time: other work on the machine moves it much less than the
    wall clock)."""
    t0 = time.process_time()
    for _ in range(n):
        body = wsgi(environ(path, query), _start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.process_time() - t0) / n * 1e6


def _without(app: Flask, names: set[str], guard: bool) -> Callable[..., Iterable[bytes]]:
    """The app's WSGI callable with the hooks whose function names are in
    ``names`` taken out (and the query-string guard unless ``guard``)."""
    saved_before = {k: list(v) for k, v in app.before_request_funcs.items()}
    saved_after = {k: list(v) for k, v in app.after_request_funcs.items()}
    hook_lists: tuple[dict[Any, list[Any]], ...] = (
        app.before_request_funcs,
        app.after_request_funcs,
    )
    for funcs in hook_lists:
        for key, fs in funcs.items():
            funcs[key] = [f for f in fs if _name(f) not in names]
    wsgi = app.wsgi_app if guard else getattr(app.wsgi_app, "app", app.wsgi_app)

    def call(env: dict[str, Any], sr: Callable[..., Any]) -> Iterable[bytes]:
        return wsgi(env, sr)

    call.restore = lambda: (  # type: ignore[attr-defined]
        app.before_request_funcs.update(saved_before),
        app.after_request_funcs.update(saved_after),
    )
    return call


def _name(f: Any) -> str:
    return f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', '')}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hooks", description=__doc__.split("\n\n")[0])
    p.add_argument("--path", default="/healthz")
    p.add_argument("--query", default="", help="a query string to send")
    p.add_argument("--n", type=int, default=3000, help="requests per batch (default 3000)")
    p.add_argument("--rounds", type=int, default=7, help="batches of each (default 7)")
    a = p.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="licserver-hooks-")
    os.environ.setdefault("LICSERVER_INSTANCE_DIR", tmp)
    from licserver import create_app

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp}/hooks.db",
            "KEYS_DIR": f"{tmp}/keys",
            "SECRET_KEY": "bench-secret",
            "RATE_LIMITS": "off",
        }
    )
    hooks = sorted(
        {_name(f) for fs in app.before_request_funcs.values() for f in fs}
        | {_name(f) for fs in app.after_request_funcs.values() for f in fs}
    )
    print("hooks on this app:", ", ".join(hooks))
    groups = {
        "query-string guard (security)": (set(), False),
        "security headers": ({h for h in hooks if h.startswith("licserver.security.")}, True),
        "request id, metrics (observability)": (
            {h for h in hooks if h.startswith("licserver.observability.")},
            True,
        ),
        "Flask-Login, Flask-WTF hooks (app-wide)": (
            {h for h in hooks if h.startswith(("flask_login.", "flask_wtf."))},
            True,
        ),
    }
    every = set().union(*(names for names, _ in groups.values()))
    configs: dict[str, tuple[set[str], bool]] = {"all hooks": (set(), True)}
    configs.update({f"without {label}": v for label, v in groups.items()})
    configs["none of them"] = (every, False)
    per_request_us(app.wsgi_app, a.path, a.query, 500)  # warm
    best = {label: float("inf") for label in configs}
    # rounds of every configuration in turn, the fastest batch of each kept
    for _ in range(a.rounds):
        for label, (names, guard) in configs.items():
            call = _without(app, names, guard)
            try:
                best[label] = min(best[label], per_request_us(call, a.path, a.query, a.n))
            finally:
                call.restore()  # type: ignore[attr-defined]
    shutil.rmtree(tmp, ignore_errors=True)
    full, bare = best["all hooks"], best["none of them"]
    rows = list(best.items())
    print(f"GET {a.path}{'?' + a.query if a.query else ''}, in-process, µs per request:")
    for label, us in rows:
        extra = f"  (hook: {full - us:5.1f} µs)" if label.startswith("without") else ""
        print(f"  {label:<48} {us:7.1f}{extra}")
    print(f"  all of them together cost {full - bare:.1f} µs of {full:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
