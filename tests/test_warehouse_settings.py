"""DuckDB's settings come from one place (ingestion/warehouse.py) and reach every connection and dbt."""

from __future__ import annotations

import pydantic
import pytest

from ingestion.warehouse import (
    DISABLED_COMPRESSION_ENV,
    INSERTION_ORDER_ENV,
    MEMORY_LIMIT_ENV,
    DuckDBSettings,
    connect,
)


def test_connections_do_not_preserve_insertion_order_unless_asked(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    monkeypatch.delenv(INSERTION_ORDER_ENV, raising=False)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    with connect(db) as con:
        assert con.execute("select current_setting('preserve_insertion_order')").fetchone()[0] is False
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "953.6 MiB"  # 1 GB in MiB
    monkeypatch.setenv(INSERTION_ORDER_ENV, "true")
    with connect(db) as con:
        assert con.execute("select current_setting('preserve_insertion_order')").fetchone()[0] is True


def _string_compressions(db, monkeypatch, disabled):
    if disabled is None:
        monkeypatch.delenv(DISABLED_COMPRESSION_ENV, raising=False)
    else:
        monkeypatch.setenv(DISABLED_COMPRESSION_ENV, disabled)
    with connect(db) as con:  # two row groups of ids and of a low-cardinality label, written to blocks
        con.execute("create or replace table t as select md5(i::varchar) as id, (i % 7)::varchar as label "
                    "from range(300000) as r(i)")  # fmt: skip
        con.execute("checkpoint")
        rows = con.execute("select compression from pragma_storage_info('t') where segment_type = 'VARCHAR'").fetchall()
        return {r[0] for r in rows}


def test_string_compression_is_duckdbs_unless_methods_are_disabled(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    assert {"Dictionary", "FSST"} <= _string_compressions(db, monkeypatch, None)  # every method by default
    assert "Dictionary" not in _string_compressions(db, monkeypatch, "dictionary")
    assert not {"Dictionary", "FSST"} & _string_compressions(db, monkeypatch, "dictionary,fsst")


def test_dbt_gets_the_same_settings_as_environment_variables(tmp_path):
    settings = DuckDBSettings.from_env({INSERTION_ORDER_ENV: "false", MEMORY_LIMIT_ENV: "2GB", DISABLED_COMPRESSION_ENV: "fsst"})
    env = settings.env(tmp_path / "w.duckdb")
    assert env[INSERTION_ORDER_ENV] == "false" and env[MEMORY_LIMIT_ENV] == "2GB" and env[DISABLED_COMPRESSION_ENV] == "fsst"
    # What dbt's profile reads back: the round trip gives the same settings.
    assert DuckDBSettings.from_env(env) == settings.model_copy(update={"temp_directory": tmp_path / "w.duckdb.tmp"})


def test_a_bad_value_is_refused_naming_the_field():
    with pytest.raises(pydantic.ValidationError, match="preserve_insertion_order"):
        DuckDBSettings.from_env({INSERTION_ORDER_ENV: "sometimes"})
