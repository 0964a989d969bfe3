"""Downloads and notices: the portal's account fixtures (a user of every role),
a browser with CSRF, the admin API as staff, a real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.portal import Staff


@pytest.fixture
def staff(portal_staff: Staff) -> Staff:
    """Here ``staff`` is the admin API through the test client."""
    return portal_staff


@pytest.fixture
def releases_dir(app_config: dict[str, Any], tmp_path: Any) -> Any:
    """Release files of this test only."""
    path = tmp_path / "releases"
    app_config["RELEASES_DIR"] = str(path)
    return path
