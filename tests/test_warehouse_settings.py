"""DuckDB's settings come from one place (ingestion/warehouse.py) and reach every connection and dbt."""

from __future__ import annotations

import pydantic
import pytest

from ingestion.warehouse import (
    CHECKPOINT_THRESHOLD_ENV,
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


def test_commits_do_not_checkpoint_until_the_log_is_large(tmp_path, monkeypatch):
    """A large checkpoint threshold: a process's commits stay in the write-ahead log and one
    checkpoint writes them when it closes the file; nothing committed is lost in between."""
    db = tmp_path / "w.duckdb"
    monkeypatch.delenv(CHECKPOINT_THRESHOLD_ENV, raising=False)
    with connect(db) as con:
        assert con.execute("select current_setting('checkpoint_threshold')").fetchone()[0] == "7.4 GiB"  # 8 GB
        con.execute("create table t as select range as i from range(100000)")
        con.execute("insert into t select range from range(100000, 200000)")
        assert (tmp_path / "w.duckdb.wal").exists()  # committed, not yet checkpointed
        # Another process (a reader opening the file now) would replay the log: simulate it with a copy.
        (tmp_path / "copy.duckdb").write_bytes(db.read_bytes())
        (tmp_path / "copy.duckdb.wal").write_bytes((tmp_path / "w.duckdb.wal").read_bytes())
    assert not (tmp_path / "w.duckdb.wal").exists()  # closing checkpointed
    for path in (db, tmp_path / "copy.duckdb"):
        with connect(path, read_only=path == db) as con:
            assert con.execute("select count(*), sum(i) from t").fetchone() == (200000, sum(range(200000)))
    monkeypatch.setenv(CHECKPOINT_THRESHOLD_ENV, "16MB")
    with connect(db) as con:
        assert con.execute("select current_setting('checkpoint_threshold')").fetchone()[0] == "15.2 MiB"


def test_dbt_gets_the_same_settings_as_environment_variables(tmp_path):
    settings = DuckDBSettings.from_env({INSERTION_ORDER_ENV: "false", MEMORY_LIMIT_ENV: "2GB"})
    env = settings.env(tmp_path / "w.duckdb")
    assert env[INSERTION_ORDER_ENV] == "false" and env[MEMORY_LIMIT_ENV] == "2GB"
    assert env[CHECKPOINT_THRESHOLD_ENV] == "8GB"
    # What dbt's profile reads back: the round trip gives the same settings.
    assert DuckDBSettings.from_env(env) == settings.model_copy(update={"temp_directory": tmp_path / "w.duckdb.tmp"})


def test_a_bad_value_is_refused_naming_the_field():
    with pytest.raises(pydantic.ValidationError, match="preserve_insertion_order"):
        DuckDBSettings.from_env({INSERTION_ORDER_ENV: "sometimes"})
