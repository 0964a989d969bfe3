"""Extensions, created unbound; ``create_app`` binds them with ``init_app``."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

from licserver.models.base import Base

db = SQLAlchemy(model_class=Base)
