"""Query the semantic layer with MetricFlow's own CLI (`mf query`), as a data engineer would."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from orchestration.settings import DBT_PROJECT_DIR

# Helper metrics that exist only as a ratio's numerator; the meeting never reads them alone.
HELPER_METRICS = {"sales_cycle_days_total"}
# meta.grain: which groupings a metric makes sense in (absent: any, e.g. week x channel x region).
ALL_CHANNELS_ONLY = "all_channels"  # no channel or region dimension (the agreement's all-channel targets)
BY_CHANNEL_ONLY = "by_channel"  # per channel only: its all-channel roll-up is not the agreement's number
GRAINS = {None, ALL_CHANNELS_ONLY, BY_CHANNEL_ONLY}


class MetricDefinition(BaseModel):
    name: str
    label: str
    description: str
    owner: str
    basis: str
    formula: str
    unit: str
    additive: bool  # a sum of a measure: 0 when nothing happened (ratios and percentiles are then null)
    grain: str | None = None  # ALL_CHANNELS_ONLY, BY_CHANNEL_ONLY or None (any grouping)
    target_of: str | None = None  # a target metric: the metric it is the target of

    @property
    def by_channel(self) -> bool:
        """Queryable by channel (and the week x channel mart has its column)."""
        return self.grain != ALL_CHANNELS_ONLY

    @property
    def all_channels(self) -> bool:
        """Meaningful summed over all channels."""
        return self.grain != BY_CHANNEL_ONLY


def metric_definitions(project_dir: Path = DBT_PROJECT_DIR) -> list[MetricDefinition]:
    """Every metric of the semantic manifest (`dbt parse` writes it), in declaration order."""
    path = project_dir / "target" / "semantic_manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `make manifest` (dbt parse) first")
    manifest = json.loads(path.read_text())
    aggregations = {m["name"]: m["agg"] for model in manifest["semantic_models"] for m in model["measures"]}
    definitions = []
    for metric in manifest["metrics"]:
        meta = (metric.get("config") or {}).get("meta") or {}
        missing = {"owner", "basis", "formula", "unit"} - meta.keys()
        if missing:
            raise ValueError(f"metric {metric['name']!r} lacks meta {sorted(missing)} in models/semantic/_metrics.yml")
        if meta.get("grain") not in GRAINS:
            raise ValueError(f"metric {metric['name']!r}: meta grain {meta['grain']!r} is none of {sorted(GRAINS - {None})}")
        definitions.append(
            MetricDefinition(
                name=metric["name"],
                label=metric.get("label") or metric["name"],
                description=metric.get("description") or "",
                additive=metric["type"] == "simple"
                and aggregations.get(metric["type_params"]["measure"]["name"]) == "sum",
                grain=meta.get("grain"),
                target_of=meta.get("target_of"),
                **{key: str(meta[key]) for key in ("owner", "basis", "formula", "unit")},
            )
        )
    return definitions


def mf_query(
    warehouse: Path,
    metrics: list[str],
    group_by: list[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
) -> pd.DataFrame:
    """Run `mf query ... --csv` against ``warehouse`` and return its table."""
    mf = str(Path(sys.executable).with_name("mf"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.csv"
        command = [mf, "query", "--quiet", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
                   "--csv", str(out)]
        if start is not None:
            command += ["--start-time", start.isoformat()]
        if end is not None:
            command += ["--end-time", end.isoformat()]
        env = {**os.environ, "SMARKETING_WAREHOUSE": str(warehouse),
               "DBT_PROFILES_DIR": str(project_dir), "DBT_PROJECT_DIR": str(project_dir)}
        done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"mf query failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
        # Only an empty field is null: a member like the region "NA" (North America) is a value.
        frame = pd.read_csv(out, keep_default_na=False, na_values=[""])
    if "metric_time__week" in frame.columns:
        frame["metric_time__week"] = pd.to_datetime(frame["metric_time__week"]).dt.date
    return frame
