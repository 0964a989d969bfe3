"""Typed tables only: no rules, no requests."""

from licserver.models.activation import Activation
from licserver.models.base import Base, utcnow
from licserver.models.customer import Customer
from licserver.models.event import Event
from licserver.models.license import License
from licserver.models.order import Order, OrderItem
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
    "Product",
    "SigningKey",
    "User",
    "user_licenses",
    "utcnow",
]
