"""Resources, configured from environment variables through ``Settings``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.agreement import Agreement, load_agreement
from orchestration.dbt_cli import LeanDbtCliResource
from orchestration.publish import SERVING_STORAGE_VERSION
from orchestration.settings import DBT_PROJECT_DIR, Settings

# DuckDB allows one writer process: every asset that writes the warehouse runs in this pool
# (limit 1 in .dagster_home/dagster.yaml), and jobs run in-process by default.
WAREHOUSE_POOL = "duckdb_warehouse"


class DemoWorldResource(dg.ConfigurableResource):
    """Parameters of the seeded synthetic company and where its exports land."""

    out_dir: str
    scale: float
    seed: int
    end_date: str
    days: int

    @property
    def end(self) -> dt.date:
        return dt.date.fromisoformat(self.end_date)

    @property
    def path(self) -> Path:
        return Path(self.out_dir)


class AgreementResource(dg.ConfigurableResource):
    """The marketing-sales agreement file; read and validated again at each use."""

    path: str

    def load(self) -> Agreement:
        return load_agreement(self.path)


class QualityResource(dg.ConfigurableResource):
    """Where each run's Great Expectations Data Docs (HTML) are written: <docs_dir>/<run id>/<suite>/."""

    docs_dir: str


class ServingResource(dg.ConfigurableResource):
    """The published marts BI reads: a DuckDB file only the publish step writes, swapped in atomically."""

    path: str
    storage_version: str = SERVING_STORAGE_VERSION
    parquet_dir: str | None = None  # also export the marts as Parquet (a `current` symlink per build)


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "agreement": AgreementResource(path=str(settings.agreement_path)),
        "quality_docs": QualityResource(docs_dir=str(settings.quality_docs_dir)),
        "serving": ServingResource(
            path=str(settings.serving_file),
            parquet_dir=str(settings.serving_parquet_dir) if settings.serving_parquet_dir else None,
        ),
        "duckdb": DuckDBResource(
            database=str(settings.warehouse_path), connection_config=settings.duckdb.config(settings.warehouse_path)
        ),
        "demo": DemoWorldResource(
            out_dir=str(settings.demo_world_dir),
            scale=settings.demo_scale,
            seed=settings.demo_seed,
            end_date=settings.demo_end_date.isoformat(),
            days=settings.demo_days,
        ),
        "dbt": LeanDbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            # The dbt installed beside this interpreter, whether or not the venv is on PATH.
            dbt_executable=str(Path(sys.executable).with_name("dbt")),
        ),
    }
