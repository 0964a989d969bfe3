"""Where release artifacts are kept: a folder under the instance (``local``) or
an S3-compatible bucket (``s3``, through boto3, handed out as pre-signed URLs).

A key is always made by us (``product/version-random/filename``), never taken
from a request as given."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class StorageError(RuntimeError):
    """The store could not keep or hand out a file (the reason is for logs)."""


class Storage(Protocol):
    kind: str

    def put(self, key: str, source: Path) -> None:
        """Keep the file at ``source`` (moved or copied) under ``key``."""

    def delete(self, key: str) -> None: ...

    def read(self, key: str) -> bytes: ...

    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None:
        """A URL that serves the file with no other credential for ``seconds``,
        or None when this server serves it itself."""


@dataclass
class LocalStorage:
    root: Path
    kind: str = "local"

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StorageError("key outside the releases folder")
        return path

    def put(self, key: str, source: Path) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, final)
        except OSError:  # another file system
            shutil.copyfile(source, final)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None:
        return None


@dataclass
class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, R2...). ``endpoint_url`` empty:
    AWS itself. Credentials: the given keys, else boto3's usual chain."""

    bucket: str
    prefix: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    kind: str = "s3"

    def __post_init__(self) -> None:
        import boto3  # an extra: pip install 'licserver[s3]'
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "region_name": self.region,
            "config": Config(signature_version="s3v4", retries={"max_attempts": 3}),
        }
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if self.access_key_id:
            kwargs["aws_access_key_id"] = self.access_key_id
            kwargs["aws_secret_access_key"] = self.secret_access_key
        self._client = boto3.client("s3", **kwargs)

    def _key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def put(self, key: str, source: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.upload_file(str(source), self.bucket, self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store {key} in bucket {self.bucket}: {exc}") from exc
        source.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def read(self, key: str) -> bytes:
        body = self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        data: bytes = body.read()
        return data

    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=seconds,
        )
        return url


def from_config(cfg: Any) -> Storage:
    """The store ``RELEASES_STORAGE`` names (``local``, the default, or ``s3``)."""
    kind = cfg.get("RELEASES_STORAGE", "local")
    if kind == "s3":
        return S3Storage(
            bucket=cfg["S3_BUCKET"],
            prefix=cfg.get("S3_PREFIX", ""),
            endpoint_url=cfg.get("S3_ENDPOINT_URL", ""),
            region=cfg.get("S3_REGION", "us-east-1"),
            access_key_id=cfg.get("S3_ACCESS_KEY_ID", ""),
            secret_access_key=cfg.get("S3_SECRET_ACCESS_KEY", ""),
        )
    return LocalStorage(Path(cfg["RELEASES_DIR"]))
