"""The salt of the personal-data hashes, written where dbt reads it (``raw_pii.salt``).

Marts carry e-mails only as ``sha256(salt || ':' || e-mail)``: without the salt a hash cannot be
reversed by hashing a list of known e-mails. The salt comes from ``SMARKETING_PII_SALT``; the demo
world, and only it, may fall back to ``DEMO_PII_SALT``, a documented value that is not a secret.
It is written as a table rather than put in SQL text so that it never shows in dbt's logs or
compiled SQL; the schema is internal (the BI role cannot read it).
"""

from __future__ import annotations

from pathlib import Path

from ingestion.warehouse import connect as connect_warehouse

PII_SALT_ENV = "SMARKETING_PII_SALT"
DEMO_PII_SALT = "smarketing-demo-salt-not-secret"
PII_SCHEMA = "raw_pii"
PII_TABLE = "salt"
MIN_SALT_LENGTH = 8


def check_salt(salt: str) -> str:
    if len(salt) < MIN_SALT_LENGTH:
        raise ValueError(f"{PII_SALT_ENV} must be at least {MIN_SALT_LENGTH} characters long")
    return salt


def write_pii_salt(db_path: str | Path, salt: str) -> bool:
    """Replace ``raw_pii.salt`` with the one-row salt table, in one transaction.

    Returns False (and writes nothing) when the table already holds exactly this salt.
    """
    check_salt(salt)
    with connect_warehouse(db_path) as con:
        exists = con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [PII_SCHEMA, PII_TABLE]
        ).fetchone()[0]
        if exists and con.execute(f"select list(salt) from {PII_SCHEMA}.{PII_TABLE}").fetchone()[0] == [salt]:
            return False
        con.execute("begin")
        con.execute(f"create schema if not exists {PII_SCHEMA}")
        con.execute(f"create or replace table {PII_SCHEMA}.{PII_TABLE} (salt varchar not null)")
        con.execute(f"insert into {PII_SCHEMA}.{PII_TABLE} values (?)", [salt])
        con.execute("commit")
    return True
