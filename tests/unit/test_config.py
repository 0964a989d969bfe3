"""Configuration through ``create_app``: defaults, then the TOML file named by
LICSERVER_CONFIG, then LICSERVER_* environment variables, then the mapping a
test passes; every bad setting stops start-up with a ConfigError naming it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from licserver import create_app
from licserver.config import DEFAULTS, ConfigError
from licserver.extensions import db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LICSERVER_* setting from the outside, and an empty working directory."""
    for name in list(os.environ):
        if name.startswith("LICSERVER_") and not name.startswith("LICSERVER_TEST_"):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    """Apps made by a test; their engines are disposed afterwards."""
    made: list[Flask] = []
    yield made
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def make_app(apps: list[Flask]) -> Any:
    def make(config: dict[str, Any] | None = None) -> Flask:
        app = create_app(config)
        apps.append(app)
        return app

    return make


def write_toml(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "licserver.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("LICSERVER_CONFIG", str(path))
    return path


# ---- defaults ---------------------------------------------------------------------


def test_defaults_with_no_configuration_at_all(make_app: Any, clean_env: Path) -> None:
    app = make_app()
    cfg = app.config
    instance = clean_env / "instance"
    assert cfg["DATABASE_URL"] == f"sqlite:///{instance / 'licserver.db'}"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == cfg["DATABASE_URL"]
    assert instance.is_dir()
    assert cfg["KEYS_DIR"] == str(clean_env / "keys")
    assert cfg["RATE_LIMITS"] == "on"
    assert cfg["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert cfg["FAILED_ATTEMPTS_LIMIT"] == 20
    assert cfg["FAILED_ATTEMPTS_WINDOW_SECONDS"] == 3600
    assert cfg["CLIENT_RATE_LIMIT"] == "600 per minute"
    assert cfg["SMTP_STARTTLS"] is False
    assert cfg["TESTING"] is False
    assert cfg["SECRET_KEY"]


def test_instance_dir_from_the_environment(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    instance = tmp_path / "elsewhere" / "inst"
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(instance))
    app = make_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'licserver.db'}"
    assert (instance / "secret_key").is_file()
    assert not (clean_env / "instance").exists()


def test_the_example_file_loads_as_is(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    # (that it lists every setting with its default is tests/unit/test_config_example.py)
    monkeypatch.setenv("LICSERVER_CONFIG", str(REPO / "config.example.toml"))
    cfg = make_app().config
    assert cfg["DATABASE_URL"] == f"sqlite:///{clean_env / 'instance' / 'licserver.db'}"
    assert cfg["KEYS_DIR"] == str(clean_env / "keys")
    assert cfg["RATE_LIMITS"] == "on"
    assert cfg["SMTP_STARTTLS"] is False
    assert cfg["DB_POOL_SIZE"] == DEFAULTS["DB_POOL_SIZE"]


# ---- the order: file, environment, mapping ------------------------------------------


def test_toml_file_with_lower_case_keys(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "from-file.db"
    write_toml(
        tmp_path,
        f'database_url = "sqlite:///{db_path}"\n'
        "smtp_port = 2525\n"
        "smtp_starttls = true\n"
        'Mail_From = "Licences <lic@example.com>"\n'
        'RATE_LIMITS = "off"\n'
        'keys_dir = "/srv/keys"\n',
        monkeypatch,
    )
    cfg = make_app().config
    assert cfg["DATABASE_URL"] == f"sqlite:///{db_path}"
    assert cfg["SMTP_PORT"] == 2525
    assert cfg["SMTP_STARTTLS"] is True
    assert cfg["MAIL_FROM"] == "Licences <lic@example.com>"
    assert cfg["RATE_LIMITS"] == "off"
    assert cfg["RATELIMIT_ENABLED"] is False
    assert cfg["KEYS_DIR"] == "/srv/keys"


def test_environment_overrides_the_file(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path, "db_pool_size = 7\nsmtp_ssl = true\nsmtp_host = 'mail.a'\n", monkeypatch)
    monkeypatch.setenv("LICSERVER_DB_POOL_SIZE", "9")
    monkeypatch.setenv("LICSERVER_SMTP_SSL", "no")
    cfg = make_app().config
    assert cfg["DB_POOL_SIZE"] == 9
    assert cfg["SMTP_SSL"] is False
    assert cfg["SMTP_HOST"] == "mail.a"  # not overridden: the file's value stays


def test_mapping_overrides_the_environment(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path, "db_pool_size = 7\n", monkeypatch)
    monkeypatch.setenv("LICSERVER_DB_POOL_SIZE", "9")
    monkeypatch.setenv("LICSERVER_SECRET_KEY", "from-env")
    cfg = make_app({"DB_POOL_SIZE": 11}).config
    assert cfg["DB_POOL_SIZE"] == 11
    assert cfg["SECRET_KEY"] == "from-env"


def test_environment_values_are_converted(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICSERVER_MAX_CONTENT_LENGTH", "131072")
    monkeypatch.setenv("LICSERVER_SMTP_STARTTLS", "TRUE")
    monkeypatch.setenv("LICSERVER_RATE_LIMITS", "Off")
    cfg = make_app().config
    assert cfg["MAX_CONTENT_LENGTH"] == 131072
    assert cfg["SMTP_STARTTLS"] is True
    assert cfg["RATE_LIMITS"] == "off"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://lic:pw@db.internal:5432/lic",
            "postgresql+psycopg://lic:pw@db.internal:5432/lic",
        ),
        ("postgresql://lic@db/lic", "postgresql+psycopg://lic@db/lic"),
        ("postgresql+psycopg://lic@db/lic", "postgresql+psycopg://lic@db/lic"),
    ],
)
def test_postgres_urls_use_psycopg_3(make_app: Any, given: str, expected: str) -> None:
    app = make_app({"DATABASE_URL": given, "SECRET_KEY": "x"})
    assert app.config["DATABASE_URL"] == expected
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"


# ---- the instance secret -------------------------------------------------------------------


def test_instance_secret_is_made_once_owner_only_and_reused(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(instance))
    first = make_app().config["SECRET_KEY"]
    path = instance / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first
    assert len(first) >= 32
    assert make_app().config["SECRET_KEY"] == first
    assert sorted(p.name for p in instance.iterdir() if "secret" in p.name) == ["secret_key"]


def test_configured_secret_key_writes_no_file(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("LICSERVER_INSTANCE_DIR", str(instance))
    monkeypatch.setenv("LICSERVER_SECRET_KEY", "shared-by-all-servers")
    assert make_app().config["SECRET_KEY"] == "shared-by-all-servers"
    assert not (instance / "secret_key").exists()


# ---- invalid settings ---------------------------------------------------------------------


def _refused(match: str, config: dict[str, Any] | None = None) -> ConfigError:
    with pytest.raises(ConfigError, match=match) as info:
        create_app(config)
    return info.value


def test_unknown_key_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path, "db_pool_size = 3\ndatabse_url = 'sqlite://'\n", monkeypatch)
    err = _refused("unknown setting")
    assert "databse_url" in str(err) and str(path) in str(err)


def test_table_in_the_file_is_an_unknown_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(tmp_path, "[database]\nurl = 'sqlite://'\n", monkeypatch)
    _refused("unknown setting.*database")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("LICSERVER_CONFIG", str(missing))
    err = _refused("LICSERVER_CONFIG: cannot read")
    assert str(missing) in str(err)
    monkeypatch.setenv("LICSERVER_CONFIG", str(tmp_path))  # a directory
    _refused("LICSERVER_CONFIG: cannot read")


@pytest.mark.parametrize(
    "text",
    ["db_pool_size = ", "db_pool_size = 5\ndb_pool_size = 6\n", "[[x]", "smtp_host = 'a\n"],
    ids=["no-value", "duplicate", "broken-table", "open-string"],
)
def test_invalid_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = write_toml(tmp_path, text, monkeypatch)
    err = _refused("not valid TOML")
    assert str(path) in str(err)


def test_non_utf8_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("mail_from = 'Bücher'\n".encode("latin-1"))
    monkeypatch.setenv("LICSERVER_CONFIG", str(path))
    _refused("not valid TOML")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DB_POOL_SIZE", "five"),
        ("SMTP_PORT", "25.5"),
        ("MAX_CONTENT_LENGTH", ""),
        ("FAILED_ATTEMPTS_LIMIT", "1e3"),
        ("INVITATION_TTL_HOURS", "72h"),
    ],
)
def test_bad_int_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(f"LICSERVER_{key}", value)
    _refused(f"{key} must be a whole number")


@pytest.mark.parametrize("value", [True, 1.5, "ten", None])
def test_bad_int_from_the_file_or_mapping(value: Any) -> None:
    _refused("SMTP_TIMEOUT must be a whole number", {"SMTP_TIMEOUT": value})


def test_bad_int_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path, "smtp_port = true\n", monkeypatch)
    _refused("SMTP_PORT must be a whole number")


@pytest.mark.parametrize("value", ["maybe", "2", "yess", "enabled"])
def test_bad_bool(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LICSERVER_SMTP_STARTTLS", value)
    _refused("SMTP_STARTTLS must be true or false")


@pytest.mark.parametrize("value", ["sometimes", "disabled", "", "no"])
def test_bad_rate_limits(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LICSERVER_RATE_LIMITS", value)
    _refused("RATE_LIMITS must be 'on' or 'off'")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://lic@db/lic",
        "mysql+pymysql://lic@db/lic",
        "oracle://db",
        "postgresql+asyncpg://lic@db/lic",
        "postgresql+psycopg2://lic@db/lic",
        "sqlite+aiosqlite:///x.db",
        "not a url",
    ],
)
def test_database_url_must_be_sqlite_or_postgres(url: str) -> None:
    _refused("DATABASE_URL must be a sqlite:/// or postgresql:// URL", {"DATABASE_URL": url})


def test_too_small_body_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICSERVER_MAX_CONTENT_LENGTH", "100")
    _refused("MAX_CONTENT_LENGTH must be at least 1024")


@pytest.mark.parametrize("key", ["FAILED_ATTEMPTS_LIMIT", "FAILED_ATTEMPTS_WINDOW_SECONDS"])
def test_failed_attempt_budget_must_be_positive(key: str) -> None:
    _refused(key, {key: 0})
