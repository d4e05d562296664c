"""Throwaway PostgreSQL databases and roles on the local server (127.0.0.1:5432, see .ci/run)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg2

from postgres_target.connection import PostgresSettings


def server() -> PostgresSettings:
    """The local server as the tests' superuser sees it (SMARKETING_PG_* or the CI defaults)."""
    env = {k: v for k, v in os.environ.items() if k.startswith("SMARKETING_PG_")}
    return PostgresSettings.from_env(env)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(server().dsn(dbname="postgres"))
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def throwaway_database(prefix: str = "smarketing_test") -> Iterator[str]:
    """Create an empty database, yield its name, drop it (and its connections) afterwards."""
    name = unique_name(prefix)
    with contextlib.closing(_admin()) as admin, admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with contextlib.closing(_admin()) as admin, admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')


def drop_role(role: str) -> None:
    with contextlib.closing(_admin()) as admin, admin.cursor() as cur:
        cur.execute(f'drop role if exists "{role}"')
