"""The SDK as a vendor installs it: its public names, its dependencies (the
standard library and cryptography), and an import that pulls in nothing of
the server."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import licclient

SDK_DIR = Path(__file__).resolve().parents[2] / "client_sdk" / "python" / "licclient"


def test_importing_licclient_loads_neither_flask_nor_sqlalchemy() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, licclient; "
            "c = licclient.LicenseClient; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = {name.split(".")[0] for name in json.loads(out)}
    assert "licclient" in loaded and "cryptography" in loaded
    assert not loaded & {"flask", "sqlalchemy", "licserver", "werkzeug", "marshmallow"}


def test_runtime_dependencies_are_the_standard_library_and_cryptography() -> None:
    assert [r.split(">")[0].split("=")[0].strip() for r in requires("licclient") or []] == [
        "cryptography"
    ]
    imported: set[str] = set()
    for path in SDK_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    outside = imported - set(sys.stdlib_module_names) - {"licclient", "cryptography"}
    assert not outside
    assert (SDK_DIR / "py.typed").exists()


def test_the_public_names() -> None:
    assert set(licclient.__all__) == {
        "LicenseClient",
        "Status",
        "Update",
        "LicenseError",
        "InvalidCredentials",
        "SeatLimitReached",
        "LicenseExpired",
        "LicenseSuspended",
        "LicenseRevoked",
        "Deactivated",
        "DeactivationLimitReached",
        "RateLimited",
        "CertificateInvalid",
        "ServerUnavailable",
        "TrialAlreadyUsed",
        "__version__",
    }
    for name in licclient.__all__:
        value = getattr(licclient, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, licclient.LicenseError)
