"""A real DuckDB 1.x driver, as BI tools ship it, to prove it reads the serving file.

``python_with_duckdb_1x`` creates (once, then reuses) a small virtual environment holding
``duckdb==1.1.3`` (the release Metabase's and Superset's DuckDB drivers shipped with for most of 1.x)
from the package index pip is configured with. It lives under pytest's cache directory, guarded by a
file lock so parallel test workers build it once. ``read_with_duckdb_1x`` opens a DuckDB file
read-only in a subprocess of that interpreter and queries every table of the given schemas.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

OLD_DUCKDB = "1.1.3"

_READER = r"""
import json, sys
import duckdb
path, schemas = sys.argv[1], json.loads(sys.argv[2])
out = {"version": duckdb.__version__, "tables": {}}
with duckdb.connect(path, read_only=True) as con:
    out["catalog"] = con.execute("select current_database()").fetchone()[0]
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
        "and list_contains(?::varchar[], schema_name) order by all", [schemas]
    ).fetchall()
    for schema, table in rows:
        relation = f'"{schema}"."{table}"'
        # Read every value of every column (to text, so each type's decoder runs), not only the count.
        count, text = con.execute(
            f"select count(*), coalesce(sum(length(cast(t as varchar))), 0) from {relation} as t"
        ).fetchone()
        out["tables"][f"{schema}.{table}"] = {"rows": count, "text_length": int(text)}
print(json.dumps(out))
"""


def python_with_duckdb_1x(cache_dir: Path, version: str = OLD_DUCKDB) -> Path:
    """The interpreter of a virtual environment with ``duckdb==version`` (created on first use)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    env_dir = cache_dir / f"duckdb-{version}"
    python = env_dir / "bin" / "python"
    with open(cache_dir / f"duckdb-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _has_duckdb(python, version):
            venv.EnvBuilder(clear=True, with_pip=True).create(env_dir)
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--only-binary=:all:", f"duckdb=={version}"],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"installing duckdb=={version} failed:\n{done.stdout}\n{done.stderr}")
            if not _has_duckdb(python, version):
                raise RuntimeError(f"{python} does not import duckdb {version} after installing it")
    return python


def _has_duckdb(python: Path, version: str) -> bool:
    if not python.exists():
        return False
    done = subprocess.run(
        [str(python), "-c", "import duckdb; print(duckdb.__version__)"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode == 0 and done.stdout.strip() == version


def read_with_duckdb_1x(python: Path, database: Path, schemas: list[str]) -> dict:
    """Open ``database`` with the old driver, read every table of ``schemas``; what it saw."""
    done = subprocess.run(
        [str(python), "-c", _READER, str(database), json.dumps(schemas)],
        capture_output=True, text=True, timeout=600, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},  # nothing of the test's venv
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"DuckDB {OLD_DUCKDB} could not read {database}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


if __name__ == "__main__":  # python -m tests.duckdb_1x <cache dir>: prepare the environment ahead
    print(python_with_duckdb_1x(Path(sys.argv[1])))
