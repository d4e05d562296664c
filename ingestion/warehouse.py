"""DuckDB's resource settings, in one place: memory limit, threads, spill directory, insertion order,
string compression.

Every process that opens the warehouse (raw loads, checks, publish, dbt through its profile) uses
these, read from ``SMARKETING_DUCKDB_MEMORY_LIMIT``, ``SMARKETING_DUCKDB_THREADS``,
``SMARKETING_DUCKDB_TEMP_DIR``, ``SMARKETING_DUCKDB_PRESERVE_INSERTION_ORDER`` and
``SMARKETING_DUCKDB_DISABLED_COMPRESSION``. A memory limit below
the machine's RAM makes large joins spill to the temp directory instead of being killed. Insertion
order is not preserved by default: no table's meaning depends on the order of its rows (every reader
that needs an order says ``order by``), and keeping it makes DuckDB buffer and re-sort the output of
window functions (scale 10: the session models write in about half the time without it).

DuckDB compresses the strings it writes with every method it has unless told otherwise
(``SMARKETING_DUCKDB_DISABLED_COMPRESSION``, DuckDB's ``disabled_compression_methods``): the default keeps
all of them. Scale 10, `make bench`, one run each: full dbt stage 154.8 s / one-day dbt 64.4 s and a
6.2 GB warehouse with every method; 152.9 / 64.2 s and 7.6 GB without ``dictionary`` (no gain beyond
the noise, and low-cardinality columns read slower: a group-by over the 18 million credits 0.60 s
against 0.16 s); 146.6 / 58.4 s but 22.7 GB without ``dictionary,fsst``: an option for a machine with
disk to spare. The raw loads always skip dictionary compression (ingestion/raw_loader.py). The serving
file BI reads (orchestration/publish.py) keeps every method.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict, Field

MEMORY_LIMIT_ENV = "SMARKETING_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "SMARKETING_DUCKDB_THREADS"
TEMP_DIR_ENV = "SMARKETING_DUCKDB_TEMP_DIR"
INSERTION_ORDER_ENV = "SMARKETING_DUCKDB_PRESERVE_INSERTION_ORDER"
DISABLED_COMPRESSION_ENV = "SMARKETING_DUCKDB_DISABLED_COMPRESSION"


class DuckDBSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_limit: str = Field(default="4GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    temp_directory: Path | None = Field(default=None, description="default: <warehouse file>.tmp, DuckDB's own")
    preserve_insertion_order: bool = False
    # DuckDB's `disabled_compression_methods` (comma-separated; empty: every method allowed).
    disabled_compression_methods: str = Field(default="", pattern=r"^[a-z_]*(,[a-z_]+)*$")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DuckDBSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if env.get(MEMORY_LIMIT_ENV):
            values["memory_limit"] = env[MEMORY_LIMIT_ENV].strip()
        if env.get(THREADS_ENV):
            values["threads"] = int(env[THREADS_ENV])
        if env.get(TEMP_DIR_ENV):
            values["temp_directory"] = Path(env[TEMP_DIR_ENV]).resolve()
        if env.get(INSERTION_ORDER_ENV):
            values["preserve_insertion_order"] = env[INSERTION_ORDER_ENV].strip()
        if DISABLED_COMPRESSION_ENV in env:
            values["disabled_compression_methods"] = env[DISABLED_COMPRESSION_ENV].strip().lower()
        return cls(**values)

    def config(self, db_path: str | Path | None = None) -> dict[str, str]:
        """``duckdb.connect(config=...)`` for a connection to ``db_path``."""
        temp = self.temp_directory
        if temp is None and db_path not in (None, ":memory:"):
            temp = Path(f"{Path(db_path).resolve()}.tmp")
        config = {
            "memory_limit": self.memory_limit,
            "threads": str(self.threads),
            "preserve_insertion_order": str(self.preserve_insertion_order).lower(),
        }
        if temp is not None:
            config["temp_directory"] = str(temp)
        return config

    def env(self, db_path: str | Path) -> dict[str, str]:
        """The same settings as environment variables, for dbt's profile (dbt_project/profiles.yml)."""
        config = self.config(db_path)
        return {MEMORY_LIMIT_ENV: config["memory_limit"], THREADS_ENV: config["threads"],
                TEMP_DIR_ENV: config.get("temp_directory", ""),
                INSERTION_ORDER_ENV: config["preserve_insertion_order"],
                DISABLED_COMPRESSION_ENV: self.disabled_compression_methods}  # fmt: skip

    def apply_write_settings(self, con: duckdb.DuckDBPyConnection) -> None:
        """Settings DuckDB takes only as ``SET`` on an open connection (ignored in ``connect(config=)``)."""
        con.execute(f"set disabled_compression_methods = '{self.disabled_compression_methods}'")


def connect(db_path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the configured memory limit, threads and spill directory."""
    settings = DuckDBSettings.from_env()
    con = duckdb.connect(str(db_path), read_only=read_only, config=settings.config(db_path))
    if not read_only:
        settings.apply_write_settings(con)
    return con
