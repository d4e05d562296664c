"""Runtime settings, read once from environment variables (see .env.example)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ingestion.warehouse import DuckDBSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class Settings(BaseModel):
    """Where the warehouse lives and which demo world to build. Every field has an env var."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warehouse_path: Path = Field(description="DuckDB file the pipeline writes (SMARKETING_WAREHOUSE)")
    demo_world_dir: Path = Field(description="where the demo generator drops its Parquet files")
    demo_scale: float = Field(gt=0, le=100, description="demo world scale factor; 1 = 100k leads a year")
    demo_seed: int = 42
    demo_end_date: dt.date = dt.date(2026, 11, 22)
    demo_days: int = Field(default=365, ge=28, le=3660)
    reporting_timezone: str = "Europe/Madrid"
    partitions_start: dt.date = Field(
        default=dt.date(2025, 1, 1), description="first daily partition (SMARKETING_PARTITIONS_START)"
    )
    late_arriving_days: int = Field(
        default=3, ge=0, le=90,
        description="a daily run also reloads and rebuilds this many earlier days (SMARKETING_LATE_ARRIVING_DAYS)",
    )
    duckdb: DuckDBSettings = Field(default_factory=DuckDBSettings, description="memory limit, threads, temp dir")
    agreement_path: Path = PROJECT_ROOT / "agreement.yml"
    serving_path: Path | None = Field(
        default=None, description="the published marts BI reads (SMARKETING_SERVING); default data/serving/"
    )
    quality_dir: Path | None = Field(default=None, description="GX Data Docs per run (SMARKETING_QUALITY_DIR)")
    serving_parquet_dir: Path | None = Field(
        default=None, description="also publish the marts as Parquet here (SMARKETING_SERVING_PARQUET_DIR)"
    )

    @property
    def serving_file(self) -> Path:
        return self.serving_path or self.warehouse_path.parent / "serving" / "smarketing.duckdb"

    @property
    def quality_docs_dir(self) -> Path:
        return self.quality_dir or self.warehouse_path.parent / "quality"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        warehouse = Path(env.get("SMARKETING_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb"))
        return cls(
            warehouse_path=warehouse.resolve(),
            demo_world_dir=Path(
                env.get("SMARKETING_DEMO_DIR", warehouse.resolve().parent / "demo_world")
            ).resolve(),
            demo_scale=float(env.get("SMARKETING_DEMO_SCALE", "0.05")),
            demo_seed=int(env.get("SMARKETING_DEMO_SEED", "42")),
            demo_end_date=dt.date.fromisoformat(env.get("SMARKETING_DEMO_END_DATE", "2026-11-22")),
            demo_days=int(env.get("SMARKETING_DEMO_DAYS", "365")),
            partitions_start=dt.date.fromisoformat(env.get("SMARKETING_PARTITIONS_START", "2025-01-01")),
            late_arriving_days=int(env.get("SMARKETING_LATE_ARRIVING_DAYS", "3")),
            duckdb=DuckDBSettings.from_env(env),
            agreement_path=Path(env.get("SMARKETING_AGREEMENT", PROJECT_ROOT / "agreement.yml")).resolve(),
            serving_path=Path(env["SMARKETING_SERVING"]).resolve() if env.get("SMARKETING_SERVING") else None,
            quality_dir=Path(env["SMARKETING_QUALITY_DIR"]).resolve() if env.get("SMARKETING_QUALITY_DIR") else None,
            serving_parquet_dir=(
                Path(env["SMARKETING_SERVING_PARQUET_DIR"]).resolve()
                if env.get("SMARKETING_SERVING_PARQUET_DIR")
                else None
            ),
        )

