"""Typed tables only: no rules, no requests."""

# Tables of later features, each in its own module (imported so that
# Base.metadata holds them all).
import licserver.models.dashboard  # noqa: F401
import licserver.models.imports  # noqa: F401
import licserver.models.license_request  # noqa: F401
from licserver.models import offline, release, staff, store, update, webhook  # noqa: F401
from licserver.models.activation import Activation
from licserver.models.base import Base, utcnow
from licserver.models.customer import Customer
from licserver.models.event import Event
from licserver.models.license import License
from licserver.models.order import Order, OrderItem
from licserver.models.policy import Policy, TrialUse
from licserver.models.product import Product
from licserver.models.signing_key import SigningKey
from licserver.models.token import AdminToken
from licserver.models.user import User, user_licenses

__all__ = [
    "Activation",
    "AdminToken",
    "Base",
    "Customer",
    "Event",
    "License",
    "Order",
    "OrderItem",
    "Policy",
    "Product",
    "SigningKey",
    "TrialUse",
    "User",
    "user_licenses",
    "utcnow",
]
