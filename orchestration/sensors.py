"""A sensor per file-mode source: a file dropped in ``landing/<source>/`` triggers that source's load.

The run key is the file's content checksum, so the same export dropped again (under any name) starts no
second run; the loader's checksum ledger (``raw_quarantine.file_loads``) guarantees the same across
Dagster instances and manual runs.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from ingestion.files.loader import checksum, loaded_checksums, pending_files
from ingestion.raw_schema import RAW_TABLES
from ingestion.sources import SourceMode, SourceSettings
from orchestration.assets.sources import LANDING_FILE_TAG
from orchestration.settings import Settings

landing_files_job = dg.define_asset_job(
    name="load_landing_files",
    selection=dg.AssetSelection.assets(*[[schema, table] for schema, tables in RAW_TABLES.items() for table in tables]),
    description="Load the raw tables of the sources whose exports were dropped in landing/.",
)


def landing_requests(settings: Settings, sources: SourceSettings) -> tuple[list[dg.RunRequest], list[str]]:
    """Run requests for new files of file-mode sources, and notes on what was passed over."""
    try:
        done = loaded_checksums(settings.warehouse_path)
    except duckdb.Error:  # a run holds the write lock; run keys still prevent a second load
        done = set()
    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    for schema, tables in RAW_TABLES.items():
        source = schema.removeprefix("raw_")
        if sources.mode(source) != SourceMode.FILES:
            continue
        for path in pending_files(sources.landing(source)):
            digest = checksum(path)
            if digest in done:
                notes.append(f"{source}/{path.name}: content already loaded; the next run moves it aside")
                continue
            requests.append(
                dg.RunRequest(
                    run_key=digest,
                    asset_selection=[dg.AssetKey([schema, t]) for t in tables],
                    tags={LANDING_FILE_TAG: path.name, "smarketing/source": source},
                )
            )
    return requests, notes


@dg.sensor(
    job=landing_files_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches landing/<source>/ of file-mode sources; one run per new file content.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    requests, notes = landing_requests(Settings.from_env(), SourceSettings.from_env())
    for note in notes:
        context.log.info(note)
    if not requests:
        return dg.SkipReason("no new files in landing/ for sources in files mode")
    return requests
