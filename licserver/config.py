"""Configuration: defaults, then a TOML file named by ``LICSERVER_CONFIG``, then
``LICSERVER_*`` environment variables, then a mapping given to ``create_app`` (tests).

Every key is UPPERCASE; ``config.example.toml`` documents each one. Invalid
settings stop start-up with a message naming the setting.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from licserver.crypto import (
    PASSWORD_HASH_MEMORY_KIB,
    PASSWORD_HASH_TIME_COST,
    set_password_hash_cost,
    write_secret_file,
)

DEFAULTS: dict[str, Any] = {
    # Storage. Empty means SQLite in the instance folder.
    "DATABASE_URL": "",
    "DB_POOL_SIZE": 5,
    "DB_POOL_TIMEOUT": 10,
    "DB_CONNECT_TIMEOUT": 5,
    "SQLITE_BUSY_TIMEOUT_MS": 10000,
    # Secrets. Empty SECRET_KEY means: generate one once into the instance folder.
    "SECRET_KEY": "",
    "KEYS_DIR": "",
    "KEY_PASSPHRASE": "",
    "DATA_KEY": "",
    # argon2id cost of password and admin-token hashes (crypto.py).
    "PASSWORD_HASH_TIME_COST": PASSWORD_HASH_TIME_COST,
    "PASSWORD_HASH_MEMORY_KIB": PASSWORD_HASH_MEMORY_KIB,
    # HTTP
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "PROXY_FIX_X_FOR": 0,
    "PUBLIC_URL": "http://127.0.0.1:8000",
    # Operations: signing-key refresh, logs, Prometheus metrics
    "KEY_REFRESH_SECONDS": 5,
    "LOG_FORMAT": "text",
    "METRICS_ENABLED": True,
    "METRICS_TOKEN": "",
    # Rate limits
    "RATE_LIMITS": "on",
    "REDIS_URL": "",
    # Prefix of the keys in Redis: deployments (or test runs) sharing one Redis.
    "REDIS_KEY_PREFIX": "",
    "CLIENT_RATE_LIMIT": "600 per minute",
    "FAILED_ATTEMPTS_LIMIT": 20,
    "FAILED_ATTEMPTS_WINDOW_SECONDS": 3600,
    # Email. Empty SMTP_HOST writes mail to the instance folder's outbox/ instead.
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_STARTTLS": False,
    "SMTP_SSL": False,
    "SMTP_TIMEOUT": 10,
    "MAIL_FROM": "licserver <licserver@localhost>",
    "INVITATION_TTL_HOURS": 72,
    # Customer portal. "auto": Secure session cookies unless PUBLIC_URL is
    # http:// on 127.0.0.1 or localhost (development).
    "SESSION_COOKIE_SECURE": "auto",
    "PASSWORD_RESET_TTL_MINUTES": 60,
    "PORTAL_IP_LIMIT": "30 per minute",
    "PORTAL_LOGIN_LIMIT": "10 per 15 minutes",
    "PORTAL_RESET_LIMIT": "5 per hour",
    # CSP violation reports (POST /csp-report) logged per address.
    "CSP_REPORT_LIMIT": "30 per minute",
    # The vendor as invoices name it (the seller): name, postal address (lines
    # separated by newlines), tax number (VAT ID). Empty: left off the invoice.
    "SELLER_NAME": "",
    "SELLER_ADDRESS": "",
    "SELLER_TAX_ID": "",
    # Downloads. Empty RELEASES_DIR: <instance>/releases.
    "RELEASES_DIR": "",
    "RELEASE_MAX_UPLOAD_BYTES": 2 * 1024**3,
    "DOWNLOAD_LINK_SECONDS": 600,
    # Update checks are counted in each worker's memory and written at most
    # once per this many seconds (0: on every check; services.check_counts).
    "UPDATE_COUNT_FLUSH_SECONDS": 1,
    # The largest import file an admin may upload in the console (CSV / JSON lines).
    "IMPORT_MAX_UPLOAD_BYTES": 256 * 1024**2,
    # Where update artifacts are kept (licserver.storage): "local" (under
    # RELEASES_DIR) or "s3" (an S3-compatible bucket; pip install 'licserver[s3]').
    "RELEASES_STORAGE": "local",
    "S3_BUCKET": "",
    "S3_PREFIX": "",
    "S3_ENDPOINT_URL": "",
    "S3_REGION": "us-east-1",
    "S3_ACCESS_KEY_ID": "",
    "S3_SECRET_ACCESS_KEY": "",
    # Security (licserver.security, docs/security.md). Client and portal
    # deactivations per licence, e.g. "3 per 30 days"; 0: no limit.
    "DEACTIVATION_BUDGET": 0,
    # Strict-Transport-Security: "auto" sends it when PUBLIC_URL is https://.
    "HSTS": "auto",
    # Webhooks (services.webhooks): seconds per connect and per read; whether
    # endpoints may be on loopback, private or reserved addresses.
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_ALLOW_PRIVATE": False,
    # Test-only switch: makes the schema with create_all instead of migrations.
    "TESTING": False,
}

_INT_KEYS = {
    "DB_POOL_SIZE",
    "DB_POOL_TIMEOUT",
    "DB_CONNECT_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT_MS",
    "MAX_CONTENT_LENGTH",
    "PROXY_FIX_X_FOR",
    "KEY_REFRESH_SECONDS",
    "PASSWORD_HASH_TIME_COST",
    "PASSWORD_HASH_MEMORY_KIB",
    "FAILED_ATTEMPTS_LIMIT",
    "FAILED_ATTEMPTS_WINDOW_SECONDS",
    "SMTP_PORT",
    "SMTP_TIMEOUT",
    "INVITATION_TTL_HOURS",
    "PASSWORD_RESET_TTL_MINUTES",
    "RELEASE_MAX_UPLOAD_BYTES",
    "IMPORT_MAX_UPLOAD_BYTES",
    "DOWNLOAD_LINK_SECONDS",
    "UPDATE_COUNT_FLUSH_SECONDS",
    "WEBHOOK_TIMEOUT_SECONDS",
}
_BOOL_KEYS = {"SMTP_STARTTLS", "SMTP_SSL", "TESTING", "METRICS_ENABLED", "WEBHOOK_ALLOW_PRIVATE"}


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names it."""


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{key} must be true or false, not {value!r}")


def _as_int(key: str, value: Any) -> int:
    # int() would accept True and truncate 1.5 without a word
    if isinstance(value, bool | float):
        raise ConfigError(f"{key} must be a whole number, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a whole number, not {value!r}") from None


def load_config(
    app: Flask, overrides: dict[str, Any] | None = None, *, create: bool = True
) -> None:
    """Fill ``app.config`` in the documented order and check it. Without
    ``create`` (the CLI's commands other than ``init``) nothing is created: a
    missing instance folder or SQLite file is a ConfigError, and a missing
    instance secret is replaced by a throw-away one."""
    app.config.from_mapping(DEFAULTS)
    path = os.environ.get("LICSERVER_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"LICSERVER_CONFIG: cannot read {path}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"LICSERVER_CONFIG: {path} is not valid TOML: {exc}") from exc
        unknown = sorted(k for k in data if k.upper() not in DEFAULTS)
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
        app.config.from_mapping({k.upper(): v for k, v in data.items()})
    for key in DEFAULTS:
        env = os.environ.get(f"LICSERVER_{key}")
        if env is not None:
            app.config[key] = env
    if overrides:
        app.config.from_mapping(overrides)
    _normalise(app, create)


# Over 60 lines on purpose: one settings check after another, each a few lines,
# in the order of config.example.toml; the order is the documentation.
def _normalise(app: Flask, create: bool = True) -> None:
    cfg = app.config
    for key in _INT_KEYS:
        cfg[key] = _as_int(key, cfg[key])
    for key in _BOOL_KEYS:
        cfg[key] = _as_bool(key, cfg[key])
    limits = str(cfg["RATE_LIMITS"]).strip().lower()
    if limits not in {"on", "off", "true", "false", "1", "0"}:
        raise ConfigError(f"RATE_LIMITS must be 'on' or 'off', not {cfg['RATE_LIMITS']!r}")
    cfg["RATE_LIMITS"] = "on" if limits in {"on", "true", "1"} else "off"
    _portal(cfg)
    _security(cfg)
    if cfg["MAX_CONTENT_LENGTH"] < 1024:
        raise ConfigError("MAX_CONTENT_LENGTH must be at least 1024 bytes")
    if cfg["FAILED_ATTEMPTS_LIMIT"] < 1 or cfg["FAILED_ATTEMPTS_WINDOW_SECONDS"] < 1:
        raise ConfigError("FAILED_ATTEMPTS_LIMIT and FAILED_ATTEMPTS_WINDOW_SECONDS must be >= 1")
    if not 1 <= cfg["WEBHOOK_TIMEOUT_SECONDS"] <= 120:
        raise ConfigError("WEBHOOK_TIMEOUT_SECONDS must be between 1 and 120")
    if cfg["PASSWORD_HASH_TIME_COST"] < 1 or cfg["PASSWORD_HASH_MEMORY_KIB"] < 8:
        raise ConfigError("PASSWORD_HASH_TIME_COST must be >= 1, PASSWORD_HASH_MEMORY_KIB >= 8")
    set_password_hash_cost(cfg["PASSWORD_HASH_TIME_COST"], cfg["PASSWORD_HASH_MEMORY_KIB"])

    instance = Path(app.instance_path)
    if not cfg["DATABASE_URL"]:
        if create:
            instance.mkdir(parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'licserver.db'}"
    url = str(cfg["DATABASE_URL"])
    if not create:
        _database_exists(url)
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain URLs would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    # the drivers we ship: pysqlite (stdlib) and psycopg 3; any other fails later, obscurely
    if url.split("://", 1)[0] not in {"sqlite", "sqlite+pysqlite", "postgresql+psycopg"}:
        raise ConfigError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")
    cfg["DATABASE_URL"] = url
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app)

    if not cfg["KEYS_DIR"]:
        cfg["KEYS_DIR"] = str(Path.cwd() / "keys")
    if not cfg["RELEASES_DIR"]:
        cfg["RELEASES_DIR"] = str(instance / "releases")
    if cfg["RELEASE_MAX_UPLOAD_BYTES"] < 1024 or cfg["DOWNLOAD_LINK_SECONDS"] < 10:
        raise ConfigError("RELEASE_MAX_UPLOAD_BYTES must be >= 1024, DOWNLOAD_LINK_SECONDS >= 10")
    if cfg["RELEASES_STORAGE"] not in ("local", "s3"):
        raise ConfigError('RELEASES_STORAGE must be "local" or "s3"')
    if cfg["RELEASES_STORAGE"] == "s3" and not cfg["S3_BUCKET"]:
        raise ConfigError('RELEASES_STORAGE = "s3" needs S3_BUCKET')
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = _instance_secret(instance, create)

    if cfg["RATE_LIMITS"] == "off":
        cfg["RATELIMIT_ENABLED"] = False
    cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
    cfg["RATELIMIT_KEY_PREFIX"] = str(cfg["REDIS_KEY_PREFIX"])
    if cfg["REDIS_URL"]:
        # A Redis that is away answers within a second (503), never hangs a worker.
        cfg["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 1}
    cfg["RATELIMIT_HEADERS_ENABLED"] = True
    # Flask-Limiter would put its window's reset as Retry-After on every answer
    # (200s too) and raise a 503's own Retry-After to it; keep it under its own
    # name, and Retry-After for 429 and 503 only (api/problem.py).
    cfg["RATELIMIT_HEADER_RETRY_AFTER"] = "X-RateLimit-Retry-After"
    cfg["RATELIMIT_STRATEGY"] = "moving-window"

    # flask-smorest / OpenAPI
    cfg["API_TITLE"] = "licserver"
    cfg["API_VERSION"] = "v1"
    cfg["OPENAPI_VERSION"] = "3.0.3"
    cfg["OPENAPI_URL_PREFIX"] = "/api/v1"
    cfg["OPENAPI_JSON_PATH"] = "openapi.json"
    cfg["JSON_SORT_KEYS"] = False


def _portal(cfg: Any) -> None:
    from urllib.parse import urlsplit

    from limits import parse_many

    for key in ("PORTAL_IP_LIMIT", "PORTAL_LOGIN_LIMIT", "PORTAL_RESET_LIMIT", "CSP_REPORT_LIMIT"):
        try:
            parse_many(str(cfg[key]))
        except ValueError:
            raise ConfigError(f"{key} must be a limit such as '10 per minute'") from None
    if cfg["PASSWORD_RESET_TTL_MINUTES"] < 1:
        raise ConfigError("PASSWORD_RESET_TTL_MINUTES must be >= 1")
    secure = cfg["SESSION_COOKIE_SECURE"]
    if str(secure).strip().lower() == "auto":
        url = urlsplit(str(cfg["PUBLIC_URL"]))
        local = url.scheme == "http" and url.hostname in {"127.0.0.1", "localhost", "::1"}
        cfg["SESSION_COOKIE_SECURE"] = not local
    else:
        cfg["SESSION_COOKIE_SECURE"] = _as_bool("SESSION_COOKIE_SECURE", secure)


def _security(cfg: Any) -> None:
    from licserver.domain.budget import parse_budget

    try:
        parse_budget(cfg["DEACTIVATION_BUDGET"])
    except ValueError as exc:
        raise ConfigError(f"DEACTIVATION_BUDGET: {exc}") from None
    hsts = cfg["HSTS"]
    if str(hsts).strip().lower() == "auto":
        cfg["HSTS"] = str(cfg["PUBLIC_URL"]).lower().startswith("https://")
    else:
        cfg["HSTS"] = _as_bool("HSTS", hsts)


def engine_options(app: Flask) -> dict[str, Any]:
    url = str(app.config["DATABASE_URL"])
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000}}
    # No pool_pre_ping: licserver.database pings connections that sat idle instead.
    return {
        "pool_size": app.config["DB_POOL_SIZE"],
        "pool_timeout": app.config["DB_POOL_TIMEOUT"],
        "connect_args": {"connect_timeout": app.config["DB_CONNECT_TIMEOUT"]},
    }


def _database_exists(url: str) -> None:
    """A SQLite database named by ``url`` exists (connecting would create an
    empty one); a ConfigError that says where it was looked for otherwise."""
    if not url.startswith("sqlite"):
        return
    name = url.split(":///", 1)[1] if ":///" in url else ""
    if name in ("", ":memory:") or name.startswith("file:"):
        return
    if not Path(name).is_file():
        raise ConfigError(
            f"no database at {Path(name).absolute()}: run 'licserver init' first, or point "
            "LICSERVER_CONFIG, LICSERVER_INSTANCE_DIR or LICSERVER_DATABASE_URL at the "
            "server's (README: The command line)"
        )


def _instance_secret(instance: Path, create: bool = True) -> str:
    """One secret per instance folder, made on first start, readable by its
    owner only. Without ``create`` a missing one is not written: a throw-away
    secret stands in (nothing a command signs with it outlives the command)."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if not create:
            return secrets.token_urlsafe(48)
    instance.mkdir(parents=True, exist_ok=True)
    return write_secret_file(path, secrets.token_urlsafe(48)).strip()
