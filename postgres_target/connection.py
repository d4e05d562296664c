"""PostgreSQL connection settings from environment variables; secrets never reach logs.

The dbt ``postgres`` target and the helpers here read the same variables: ``SMARKETING_PG_HOST``,
``_PORT``, ``_USER``, ``_PASSWORD``, ``_DBNAME``. Publishing takes one libpq connection string instead
(``SMARKETING_PG_PUBLISH_DSN``), as managed PostgreSQL services hand them out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import psycopg2
import psycopg2.extensions
from pydantic import BaseModel, ConfigDict, SecretStr

ENV_PREFIX = "SMARKETING_PG_"
PUBLISH_DSN_ENV = "SMARKETING_PG_PUBLISH_DSN"
BI_ROLE_ENV = "SMARKETING_PG_BI_ROLE"
BI_PASSWORD_ENV = "SMARKETING_PG_BI_PASSWORD"
DEFAULT_BI_ROLE = "smarketing_bi"


class PostgresSettings(BaseModel):
    """Where the dbt ``postgres`` target builds (the same variables ``profiles.yml`` reads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: SecretStr = SecretStr("")
    dbname: str = "smarketing"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PostgresSettings:
        env = os.environ if env is None else env
        values = {
            field: env[ENV_PREFIX + field.upper()]
            for field in ("host", "port", "user", "password", "dbname")
            if ENV_PREFIX + field.upper() in env
        }
        return cls(**values)

    def dsn(self, dbname: str | None = None) -> str:
        """The libpq connection string, password included: pass it to a driver, never to a log."""
        return psycopg2.extensions.make_dsn(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password.get_secret_value() or None,
            dbname=dbname or self.dbname,
        )

    def env(self, dbname: str | None = None) -> dict[str, str]:
        """The environment variables dbt's ``postgres`` target reads, for a subprocess."""
        return {
            ENV_PREFIX + "HOST": self.host,
            ENV_PREFIX + "PORT": str(self.port),
            ENV_PREFIX + "USER": self.user,
            ENV_PREFIX + "PASSWORD": self.password.get_secret_value(),
            ENV_PREFIX + "DBNAME": dbname or self.dbname,
        }


def redact_dsn(dsn: str) -> str:
    """A connection string safe to log or show: everything but the password."""
    try:
        parts = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        return "<unparseable connection string>"
    parts.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in sorted(parts.items()))


def connect(dsn: str) -> psycopg2.extensions.connection:
    """Connect, naming the server but never the password when it fails."""
    try:
        return psycopg2.connect(dsn, application_name="smarketing")
    except psycopg2.OperationalError as exc:
        message = str(exc)
        password = psycopg2.extensions.parse_dsn(dsn).get("password")
        if password:
            message = message.replace(password, "***")
        raise ConnectionError(f"cannot connect to PostgreSQL ({redact_dsn(dsn)}): {message.strip()}") from None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
