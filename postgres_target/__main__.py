"""Command line: ``python -m postgres_target {copy-raw,publish} [--warehouse PATH]``.

``copy-raw`` replaces the raw schemas of the SMARKETING_PG_* database with the DuckDB warehouse's
(then ``dbt build --target postgres`` runs there); ``publish`` publishes the warehouse's marts to
SMARKETING_PG_PUBLISH_DSN with the read-only BI role. Passwords come from the environment only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from ingestion.pii_salt import PII_SCHEMA
from ingestion.raw_schema import RAW_TABLES
from postgres_target.connection import (
    BI_PASSWORD_ENV,
    BI_ROLE_ENV,
    DEFAULT_BI_ROLE,
    PUBLISH_DSN_ENV,
    PostgresSettings,
    connect,
    redact_dsn,
)
from postgres_target.copy import copy_schemas
from postgres_target.publish import publish_marts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postgres_target", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["copy-raw", "publish"])
    parser.add_argument("--warehouse", default=os.environ.get("SMARKETING_WAREHOUSE", "data/warehouse.duckdb"))
    args = parser.parse_args(argv)
    if args.command == "copy-raw":
        dsn = PostgresSettings.from_env().dsn()
        with contextlib.closing(connect(dsn)) as conn:
            copied = copy_schemas(args.warehouse, conn, [*RAW_TABLES, PII_SCHEMA])
        print(f"copied {sum(copied.values())} rows in {len(copied)} tables to {redact_dsn(dsn)}")
        return 0
    dsn = os.environ.get(PUBLISH_DSN_ENV)
    if not dsn:
        print(f"{PUBLISH_DSN_ENV} is not set", file=sys.stderr)
        return 2
    result = publish_marts(
        args.warehouse, dsn, bi_role=os.environ.get(BI_ROLE_ENV, DEFAULT_BI_ROLE),
        bi_password=os.environ.get(BI_PASSWORD_ENV) or None,
    )  # fmt: skip
    print(f"published {result.total_rows} rows in {len(result.tables)} marts to {redact_dsn(dsn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
