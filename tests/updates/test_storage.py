"""Artifact storage: the instance folder, and an S3-compatible bucket on a real
local S3 server (moto's server mode), fetched back through its pre-signed URL."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from licserver.storage import LocalStorage, S3Storage, StorageError

pytest.importorskip("boto3")


def _bucket(endpoint: str, name: str) -> S3Storage:
    store = S3Storage(
        bucket=name,
        prefix="releases",
        endpoint_url=endpoint,
        access_key_id="test",
        secret_access_key="test",
    )
    store._client.create_bucket(Bucket=name)
    return store


def test_s3_round_trip_through_a_presigned_url(s3_endpoint: str, tmp_path: Path) -> None:
    store = _bucket(s3_endpoint, "licserver-test")
    data = b"\x00update bytes\xff" * 5000
    src = tmp_path / "incoming"
    src.write_bytes(data)
    store.put("APP/1.2.0-ab12/app.zip", src)
    assert not src.exists()
    assert store.read("APP/1.2.0-ab12/app.zip") == data

    url = store.presigned_url("APP/1.2.0-ab12/app.zip", "app.zip", 600)
    assert url is not None and url.startswith(s3_endpoint)
    with urllib.request.urlopen(url, timeout=10) as resp:  # no other credential
        assert hashlib.sha256(resp.read()).digest() == hashlib.sha256(data).digest()
        assert 'filename="app.zip"' in resp.headers["Content-Disposition"]

    # moto does not check signatures or expiry (S3 and MinIO do): the URL
    # must at least ask for the time we gave.
    assert "X-Amz-Expires=600" in url and "X-Amz-Signature=" in url

    store.delete("APP/1.2.0-ab12/app.zip")
    with pytest.raises(Exception):  # noqa: B017 - botocore's NoSuchKey
        store.read("APP/1.2.0-ab12/app.zip")


def test_local_storage_keeps_files_inside_its_folder(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "releases")
    src = tmp_path / "in"
    src.write_bytes(b"abc")
    store.put("APP/1.0.0-x/app.bin", src)
    assert store.read("APP/1.0.0-x/app.bin") == b"abc"
    assert store.presigned_url("APP/1.0.0-x/app.bin", "app.bin", 60) is None
    with pytest.raises(StorageError):
        store.read("../../etc/passwd")
