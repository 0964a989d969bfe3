"""Updates over real HTTP: the SDK tests' gunicorn (``server``, ``staff``,
from tests/support/sdk.py) and a local S3-compatible server (``s3_endpoint``,
moto's server mode); helpers in tests/updates/helpers.py."""

from collections.abc import Iterator

import pytest

from tests.updates.s3server import s3_server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("boto3")
    with s3_server() as url:
        yield url
