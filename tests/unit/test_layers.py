"""licserver.tools.layers finds each kind of breach in a small package made here."""

from __future__ import annotations

from pathlib import Path

from licserver.tools import layers


def _tree(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "licserver"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        for parent in path.relative_to(pkg).parents:
            (pkg / parent / "__init__.py").touch()
    return pkg


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "domain/seats.py": "import math\n",
            "services/seats.py": "from licserver.domain import seats\n",
            "web/portal/views.py": (
                "from licserver.services import seats\nfrom licserver.web import shared\n"
            ),
            "web/shared.py": "",
        },
    )
    assert layers.check(pkg) == []


def test_each_rule_is_enforced(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "domain/seats.py": "import flask\n",
            "services/seats.py": "from licserver.web.portal import views\n",
            "web/portal/views.py": "from licserver.extensions import db\n",
            "web/staff/views.py": "from ..portal import views\n",
            "cli/tokens.py": "from licserver.models import AdminToken\n",
            "models.py": "",
            "extensions.py": "",
        },
    )
    found = "\n".join(layers.check(pkg))
    assert "licserver.domain.seats:1 imports flask" in found
    assert "licserver.services.seats:1 imports licserver.web.portal.views" in found
    assert "licserver.web.portal.views:1 imports licserver.extensions.db" in found
    assert "licserver.web.staff.views:1 imports licserver.web.portal.views" in found
    assert "licserver.cli.tokens:1 imports licserver.models.AdminToken" in found


def test_typing_only_and_clock_imports_are_allowed_in_pages(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "web/staff/views.py": (
                "from typing import TYPE_CHECKING\n"
                "from licserver.models import utcnow\n"
                "if TYPE_CHECKING:\n    from licserver.models import License\n"
            ),
            "models.py": "",
        },
    )
    assert layers.check(pkg) == []


def test_a_cycle_at_module_level_is_found_but_not_a_late_import(tmp_path: Path) -> None:
    pkg = _tree(
        tmp_path,
        {
            "services/a.py": "from licserver.services import b\n",
            "services/b.py": "from licserver.services import c\n",
            "services/c.py": "import licserver.services.a\n",
            "services/d.py": "from licserver.services import e\n",
            "services/e.py": "def late():\n    from licserver.services import d\n",
        },
    )
    found = layers.check(pkg)
    assert found == [
        "import cycle: licserver.services.a -> licserver.services.b -> licserver.services.c"
    ]
