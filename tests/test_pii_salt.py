"""The PII salt: written once per value, refused when too short, and the demo salt only for demo data."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from ingestion.pii_salt import DEMO_PII_SALT, write_pii_salt
from orchestration.assets.pii import PiiSaltResource, pii_salt


def _raw_layer(path, source: str) -> None:
    with duckdb.connect(str(path)) as con:
        for schema, table in (("raw_crm", "contacts"), ("raw_web", "form_submissions")):
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {schema}.{table} as select 'x@example.com' as email, ? as _source", [source])


def test_write_is_idempotent_and_replaces_a_changed_salt(tmp_path):
    db = tmp_path / "w.duckdb"
    assert write_pii_salt(db, "first-salt-123") is True
    assert write_pii_salt(db, "first-salt-123") is False
    assert write_pii_salt(db, "second-salt-456") is True
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select salt from raw_pii.salt").fetchall() == [("second-salt-456",)]


def test_a_short_salt_is_refused(tmp_path):
    with pytest.raises(ValueError, match="SMARKETING_PII_SALT must be at least 8 characters"):
        write_pii_salt(tmp_path / "w.duckdb", "short")


def _materialize(db, resource: PiiSaltResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [pii_salt], resources={"pii": resource, "duckdb": DuckDBResource(database=str(db))}, raise_on_error=False
    )


def test_demo_salt_is_used_for_the_demo_world_and_never_shown(tmp_path):
    db = tmp_path / "w.duckdb"
    _raw_layer(db, "demo:contacts.parquet")
    result = _materialize(db, PiiSaltResource(salt=DEMO_PII_SALT, demo_default=True))
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["salt_source"].value == "demo default"
    assert DEMO_PII_SALT not in str(metadata) and "***" in metadata["preview"].value


def test_demo_salt_is_refused_for_real_data(tmp_path):
    db = tmp_path / "w.duckdb"
    _raw_layer(db, "hubspot:contacts export 2026-11-20.csv")
    result = _materialize(db, PiiSaltResource(salt=DEMO_PII_SALT, demo_default=True))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "SMARKETING_PII_SALT is not set" in failure.step_failure_data.error.message
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables() where schema_name = 'raw_pii'").fetchone()[0] == 0
    # With a real salt it goes through.
    assert _materialize(db, PiiSaltResource(salt="a-real-secret-salt")).success
