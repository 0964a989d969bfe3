"""licclient: the client SDK of licserver.

Activate a product on a machine, keep its signed certificate, and know at
every start — offline — whether it is licensed::

    from licclient import LicenseClient
    client = LicenseClient("https://lic.example.com", product="cad-pro",
                           public_keys={"k-20261122-3fa9c1": "base64url..."})
    status = client.status()

See ``client_sdk/python/README.md`` for a complete example.
"""

from licclient._client import LicenseClient, Status, __version__
from licclient._update import Update
from licclient.errors import (
    CertificateInvalid,
    Deactivated,
    DeactivationLimitReached,
    InvalidCredentials,
    LicenseError,
    LicenseExpired,
    LicenseRevoked,
    LicenseSuspended,
    RateLimited,
    SeatLimitReached,
    ServerUnavailable,
    TrialAlreadyUsed,
)

__all__ = [
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
]
