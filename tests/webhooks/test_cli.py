"""``licserver webhooks ...`` run for real, as subprocesses on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from licserver.domain import webhooks as rules
from tests.api.helpers import activated, by_password
from tests.support.database import TestDatabase
from tests.support.factory import Factory
from tests.webhooks.helpers import Worker
from tests.webhooks.receiver import Receiver

BIN = Path(sys.executable).parent / "licserver"


def _env(db: TestDatabase, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LICSERVER_", "FLASK_"))}
    env.update(
        LICSERVER_DATABASE_URL=db.url,
        LICSERVER_KEYS_DIR=str(db.keys_dir),
        LICSERVER_INSTANCE_DIR=str(tmp_path / "cli-instance"),
        LICSERVER_SECRET_KEY="cli",
        LICSERVER_WEBHOOK_ALLOW_PRIVATE="true",
        PYTHONWARNINGS="error",
    )
    return env


def test_add_list_deliver_disable(
    app: Flask, client: FlaskClient, factory: Factory, receiver: Receiver
) -> None:
    runner = app.test_cli_runner()
    lic = factory.license()
    added = runner.invoke(
        args=["webhooks", "add", "--url", receiver.url + "/cli", "--event", "activation.*"]
    )
    assert added.exit_code == 0, added.output
    webhook_id, secret = added.output.split()
    assert rules.WEBHOOK_ID_RE.match(webhook_id) and secret.startswith("whsec_")
    listed = runner.invoke(args=["webhooks", "list"])
    assert listed.output.split("\t") == [
        webhook_id,
        "enabled",
        receiver.url + "/cli",
        "activation.*\n",
    ]

    activated(client, by_password(lic), "install-cli-1")
    one = runner.invoke(args=["webhooks", "deliver"])
    assert one.exit_code == 0, one.output
    assert one.output.strip() == "queued 1, delivered 1, retrying 0, failed 0"
    [sent] = receiver.requests
    assert rules.verify(
        secret, sent.headers[rules.SIGNATURE_HEADER], sent.body, now=int(time.time())
    )

    off = runner.invoke(args=["webhooks", "disable", webhook_id])
    assert (off.exit_code, off.output.strip()) == (0, f"{webhook_id} disabled")
    assert runner.invoke(args=["webhooks", "list"]).output.split("\t")[1] == "disabled"


def test_bad_input_is_a_readable_error(app: Flask) -> None:
    runner = app.test_cli_runner()
    r = runner.invoke(args=["webhooks", "add", "--url", "ftp://example.com/x", "--event", "*"])
    assert r.exit_code == 1
    assert "Error: url: Must start with http:// or https://." in r.output
    r = runner.invoke(args=["webhooks", "disable", "W-00000000"])
    assert r.exit_code == 1
    assert "No webhook endpoint with id 'W-00000000'" in r.output


def test_the_worker_loop_runs_until_sigterm(
    client: FlaskClient,
    factory: Factory,
    receiver: Receiver,
    worker: Worker,
    test_database: TestDatabase,
    tmp_path: Path,
) -> None:
    """The real command in its own process: it picks up new events until SIGTERM."""
    lic = factory.license()
    worker.add(receiver.url + "/loop", ["*"])
    loop = subprocess.Popen(
        [str(BIN), "webhooks", "deliver", "--loop", "--interval", "0.2"],
        env=_env(test_database, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        activated(client, by_password(lic), "install-loop-1")
        deadline = time.monotonic() + 40
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.json["type"] for r in receiver.requests] == ["activation.created"]
        loop.send_signal(signal.SIGTERM)
        out, err = loop.communicate(timeout=15)
    finally:
        if loop.poll() is None:
            loop.kill()
            loop.communicate()
    assert loop.returncode == 0, err
    assert "queued 1, delivered 1, retrying 0, failed 0" in out
