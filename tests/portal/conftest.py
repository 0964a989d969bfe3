"""The portal's fixtures are tests/support/portal.py's (a plugin); here
``staff`` is the admin API through the test client."""

import pytest

from tests.support.portal import Staff


@pytest.fixture
def staff(portal_staff: Staff) -> Staff:
    return portal_staff
