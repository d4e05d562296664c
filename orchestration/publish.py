"""Write-audit-publish, the publish step: copy the audited marts into the serving file, atomically.

The pipeline builds into the warehouse (``data/warehouse.duckdb``); its ``marts`` schema is the staging
area. BI never opens that file: it reads the serving file (``data/serving/smarketing.duckdb``), which only
this module writes, and only after every blocking check passed. The copy is written to a temporary file
in the serving directory and swapped in with ``os.replace`` (atomic on POSIX), so a reader sees either
the previous publication or the new one, never a half-written file; a failure anywhere before the swap
leaves the published file byte-for-byte as it was.

The serving file holds the ``marts`` schema and, once the weekly snapshot has run, the ``snapshots``
schema (``snapshots.kpi_snapshot``, the frozen weekly KPIs), so BI never needs the warehouse. It is
written with a DuckDB storage version that DuckDB 1.x drivers read (``SERVING_STORAGE_VERSION``), and
carries ``meta.publication`` (one row: build id, time, source) and ``meta.published_tables`` (row
counts), also written beside it as ``<name>.manifest.json``.

Plain Python: no Dagster, so other publishers (PostgreSQL) and tests can call it directly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

# Storage format v1.0.0 (header storage number 64): DuckDB 0.10 and every 1.x release read it. The
# pipeline's DuckDB (1.5) can also write newer formats (`v1.2.0` ... `v1.5.0`) when asked, which older
# drivers refuse to open, so the serving file pins this one explicitly.
SERVING_STORAGE_VERSION = "v1.0.0"
STAGING_SCHEMA = "marts"
# Published with the marts when the warehouse has them: the weekly KPI snapshot (never rebuilt by dbt).
OPTIONAL_SCHEMAS = ("snapshots",)


class PublishError(RuntimeError):
    """The publication could not be written; the previously published file is untouched."""


@dataclass(frozen=True)
class Publication:
    build_id: str
    published_at: str  # ISO 8601, UTC
    serving_path: str
    source_warehouse: str
    storage_version: str
    agreement_version: str | None
    tables: dict[str, int]  # schema.table -> rows

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def manifest_path(serving_path: Path) -> Path:
    return serving_path.with_name(serving_path.stem + ".manifest.json")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def staged_tables(con: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ? order by table_name",
        [catalog, schema],
    ).fetchall()
    return [r[0] for r in rows]


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_marts(
    warehouse: Path,
    serving_path: Path,
    build_id: str,
    *,
    schema: str = STAGING_SCHEMA,
    optional_schemas: Sequence[str] = OPTIONAL_SCHEMAS,
    storage_version: str = SERVING_STORAGE_VERSION,
    agreement_version: str | None = None,
    now: dt.datetime | None = None,
) -> Publication:
    """Copy every table of ``warehouse``'s ``schema`` (which must have some) and of each of
    ``optional_schemas`` that exists into a new ``serving_path``, and swap it in."""
    warehouse, serving_path = Path(warehouse), Path(serving_path)
    if not warehouse.is_file():
        raise PublishError(f"warehouse not found: {warehouse}")
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    published_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{serving_path.name}.", suffix=".tmp", dir=serving_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB creates the file itself; the unique name is what we needed
    try:
        con = duckdb.connect()
        try:
            con.execute(f"attach {_sql_str(str(warehouse))} as staging (read_only)")
            con.execute(f"attach {_sql_str(str(tmp))} as serving (storage_version {_sql_str(storage_version)})")
            if not staged_tables(con, "staging", schema):
                raise PublishError(f"nothing to publish: schema {schema!r} of {warehouse} has no tables")
            plan = {s: staged_tables(con, "staging", s) for s in (schema, *optional_schemas)}
            counts: dict[str, int] = {}
            con.execute("begin")
            for published_schema, tables in plan.items():
                if not tables:
                    continue
                con.execute(f"create schema serving.{_quote(published_schema)}")
                for table in tables:
                    target = f"serving.{_quote(published_schema)}.{_quote(table)}"
                    source = f"staging.{_quote(published_schema)}.{_quote(table)}"
                    con.execute(f"create table {target} as select * from {source}")
                    counts[f"{published_schema}.{table}"] = con.execute(f"select count(*) from {target}").fetchone()[0]
            publication = Publication(
                build_id=build_id,
                published_at=published_at.isoformat(),
                serving_path=str(serving_path),
                source_warehouse=str(warehouse),
                storage_version=storage_version,
                agreement_version=agreement_version,
                tables=counts,
            )
            con.execute("create schema serving.meta")
            con.execute(
                "create table serving.meta.publication (build_id varchar, published_at timestamp, "
                "storage_version varchar, agreement_version varchar, manifest varchar)"
            )
            con.execute(
                "insert into serving.meta.publication values (?, ?, ?, ?, ?)",
                [build_id, published_at.replace(tzinfo=None), storage_version, agreement_version, publication.to_json()],
            )
            con.execute("create table serving.meta.published_tables (table_name varchar, row_count bigint)")
            con.executemany("insert into serving.meta.published_tables values (?, ?)", list(counts.items()))
            con.execute("commit")
            con.execute("detach serving")  # checkpoints: the file is complete and has no WAL
        finally:
            con.close()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, serving_path)
        _fsync_dir(serving_path.parent)
    except duckdb.Error as exc:
        raise PublishError(f"publishing {warehouse} to {serving_path} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    _atomic_write_text(manifest_path(serving_path), publication.to_json())
    return publication


def read_publication(serving_path: Path) -> Publication | None:
    """What is currently published (from the serving file itself), or None before the first publish."""
    if not Path(serving_path).is_file():
        return None
    with duckdb.connect(str(serving_path), read_only=True) as con:
        manifest = con.execute("select manifest from meta.publication").fetchone()[0]
    return Publication(**json.loads(manifest))


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def parquet_file(relation: str) -> Path:
    """Where a published relation goes inside a Parquet build folder: ``<mart>.parquet`` for the marts
    (what tools glob as ``current/*.parquet``), ``<schema>/<table>.parquet`` for the other schemas."""
    schema, table = relation.split(".", 1)
    return Path(table + ".parquet") if schema == STAGING_SCHEMA else Path(schema) / (table + ".parquet")


def publish_parquet(serving_path: Path, parquet_dir: Path) -> Path:
    """Export the published tables as Parquet, one folder per build, and flip ``current`` to it.

    ``<parquet_dir>/builds/<build id>/<mart>.parquet`` (other schemas in ``<schema>/<table>.parquet``) is
    written in full first; then the ``<parquet_dir>/current`` symlink is replaced atomically. The build
    ``current`` pointed to until now is kept, so a reader that resolved ``current`` (``readlink``) just
    before the flip can still read every file of that build; older builds (N-2 and before) are removed.
    Readers should resolve ``current`` once and read the build folder: a query globbing through the
    link while it flips may open one file twice, once in each build (DuckDB then fails or mixes them). Republishing a build id that still has a
    folder writes a new one (``<build id>.2``, ...): a folder, once ``current`` has pointed to it, is
    never rewritten in place.
    """
    publication = read_publication(serving_path)
    if publication is None:
        raise PublishError(f"nothing published yet at {serving_path}")
    parquet_dir = Path(parquet_dir)
    builds = parquet_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    name, attempt = publication.build_id, 1
    while (builds / name).exists():
        attempt += 1
        name = f"{publication.build_id}.{attempt}"
    target = builds / name
    staging = builds / f".{name}.tmp"
    if staging.exists():  # left by a publisher that crashed; only one publishes at a time
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        with duckdb.connect(str(serving_path), read_only=True) as con:
            for relation in publication.tables:
                path = staging / parquet_file(relation)
                path.parent.mkdir(exist_ok=True)
                con.execute(f"copy (select * from {relation}) to {_sql_str(str(path))} (format parquet)")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    current = parquet_dir / "current"
    previous = current.resolve() if current.is_symlink() else None
    link = parquet_dir / f".current.{name}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(Path("builds") / name, target_is_directory=True)
    os.replace(link, current)
    _fsync_dir(parquet_dir)
    keep = {target.resolve(), previous}
    for folder in builds.iterdir():
        if not folder.name.startswith(".") and folder.is_dir() and folder.resolve() not in keep:
            shutil.rmtree(folder)
    return target
