"""Every page of the console, registered on one blueprint. Modules that add
pages import themselves at the bottom of this file (one line each)."""

from __future__ import annotations

from licserver.web.staff import accounts, auth, customers, licenses, search, tokens
from licserver.web.staff.base import bp

__all__ = ["accounts", "auth", "bp", "customers", "licenses", "search", "tokens"]

# Pages added by other modules: one import line each, below.
import licserver.web.staff.audit  # noqa: E402,F401
import licserver.web.staff.bulk  # noqa: E402,F401
import licserver.web.staff.catalog  # noqa: E402,F401
import licserver.web.staff.customer_edit  # noqa: E402,F401
import licserver.web.staff.imports  # noqa: E402,F401
import licserver.web.staff.integrations  # noqa: E402,F401
import licserver.web.staff.license_edit  # noqa: E402,F401
import licserver.web.staff.lists  # noqa: E402,F401
import licserver.web.staff.offline  # noqa: E402,F401
import licserver.web.staff.order_edit  # noqa: E402,F401
import licserver.web.staff.policies  # noqa: E402,F401
import licserver.web.staff.releases  # noqa: E402,F401
import licserver.web.staff.requests  # noqa: E402,F401
import licserver.web.staff.webhooks  # noqa: E402,F401
