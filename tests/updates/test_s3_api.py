"""RELEASES_STORAGE=s3 end to end: a release uploaded through the admin API of
a real gunicorn lands in the bucket (a local S3-compatible server), and a
machine's update check hands out a link that redirects to a pre-signed URL
serving the very bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import boto3

from tests.live import LiveServer
from tests.support import loopback
from tests.support.factory import Factory
from tests.updates.helpers import activate, ask, ok, payload, release

BUCKET = "licserver-releases"


def test_upload_check_and_download_through_s3(
    s3_endpoint: str,
    start_server: Callable[..., LiveServer],
    admin_token: str,
    factory: Factory,
) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket=BUCKET)
    env = {
        "LICSERVER_RELEASES_STORAGE": "s3",
        "LICSERVER_S3_BUCKET": BUCKET,
        "LICSERVER_S3_PREFIX": "acme",
        "LICSERVER_S3_ENDPOINT_URL": s3_endpoint,
        "LICSERVER_S3_ACCESS_KEY_ID": "test",
        "LICSERVER_S3_SECRET_ACCESS_KEY": "test",
    }
    server = start_server(env=env)
    product = factory.product("APP")
    lic = factory.license(product)
    first, second = payload("1.2.0", "windows"), payload("1.2.0", "linux")
    with server.client(admin_token) as staff:
        release(staff, product, "1.2.0", platform="windows", data=first, publish=False)
        files = {"file": ("app-linux.zip", second)}
        url = f"/api/v1/products/{product}/releases/1.2.0/artifacts"
        ok(staff.post(url, data={"platform": "linux"}, files=files), 201)
        ok(staff.post(f"/api/v1/products/{product}/releases/1.2.0/publish", json={}))

    # both files are in the bucket, none under the instance's releases folder
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 2 and all(k.startswith(f"acme/{product}/1.2.0-") for k in keys)
    assert not list((server.dir / "instance" / "releases").rglob("*.zip"))

    with server.client() as http:
        machine = activate(http, lic.key)
        for platform, data in (("windows", first), ("linux", second)):
            update: dict[str, Any] = ok(ask(http, machine, "1.0.0", platform=platform))["update"]
            assert update["sha256"] == hashlib.sha256(data).hexdigest()
            hop = loopback.get(update["download_url"])  # no other credential
            assert hop.status_code == 302, hop.text
            signed = hop.headers["Location"]
            assert (
                signed.startswith(f"{s3_endpoint}/{BUCKET}/acme/") and "X-Amz-Signature=" in signed
            )
            got = loopback.get(signed)
            assert got.status_code == 200 and got.content == data
