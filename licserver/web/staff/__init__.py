"""The staff console: server-rendered pages under ``/admin`` for the vendor's staff.

Contract for modules that add console pages (offline activation, releases,
webhooks...):

- ``licserver/web/staff/base.py`` exposes
  - ``bp``: the Blueprint (name ``staff``, url_prefix ``/admin``); register
    routes on it (``@bp.route("/webhooks")`` -> endpoint ``staff.<func name>``);
  - ``staff_required(role="support", *, action=None)``: decorator for every
    view; not logged in -> redirect to the log-in page; role below ``role`` (or,
    with ``action``, not allowed by ``licserver.domain.staff.MATRIX``) -> 403 page.
    Roles: ``"support"`` < ``"admin"``;
  - ``current_staff()``: the logged-in ``StaffIdentity`` (``.email``, ``.name``,
    ``.role``, ``.public_id``, ``.actor_id``);
  - ``staff_origin()``: the ``Origin`` to pass to services for events
    (actor type ``admin``, id ``staff:<email>``);
  - ``licserver.runtime.context()``: the services' ``Context``;
  - ``NAV`` and ``add_nav(endpoint, label, min_role="support")``: call
    ``add_nav("staff.webhooks", "Webhooks", "admin")`` at import time of your
    module; ``base.html`` renders the menu from ``NAV`` for roles >= min_role;
  - ``page(status, title, message)``: a plain message page.
  CSRF is checked on every non-GET request of the blueprint (put
  ``{{ form.csrf_token }}`` in your forms, or use ``licserver.web.staff.forms.ConfirmForm``);
  domain errors (``licserver.domain.errors``) raised in a view become error pages.
- ``templates/staff/base.html`` with ``{% block title %}`` and
  ``{% block content %}`` (and ``staff/_field.html``'s ``field`` macro for form
  fields). Templates get ``me`` (the identity or None), ``staff_can(action)`` and
  ``staff_rules`` (``licserver.domain.staff``).
- Modules are imported at the bottom of ``licserver/web/staff/views.py``: add your
  own ``import licserver.web.staff.yourmodule  # noqa: E402,F401`` line there (this
  form, so that import sorting keeps one line per module).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console (``web.shared.init_app`` runs first)."""
    from licserver.web.staff.views import bp

    app.register_blueprint(bp)
