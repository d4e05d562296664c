"""Sources, their modes (demo, files, live) and the natural keys raw loads merge on.

A source is a raw schema without its ``raw_`` prefix: ``crm`` loads ``raw_crm``. Its mode comes from
``SMARKETING_SOURCE_MODE_<SOURCE>`` (``demo`` by default, so ``make demo`` needs no credentials).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ingestion.raw_schema import RAW_TABLES

SOURCES: tuple[str, ...] = tuple(schema.removeprefix("raw_") for schema in RAW_TABLES)

# File drops and live pulls merge on these keys (a restated day or an updated contact replaces the row
# it had); demo loads replace whole tables.
PRIMARY_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "raw_google_ads": {"ad_stats": ("customer_id", "ad_group_id", "ad_group_ad_ad_id", "segments_date")},
    "raw_meta_ads": {"ad_insights": ("ad_id", "date_start")},
    "raw_linkedin_ads": {"ad_analytics": ("pivot_value", "date_range_start")},
    "raw_web": {
        "sessions": ("session_id",),
        "page_views": ("page_view_id",),
        "form_submissions": ("submission_id",),
    },
    "raw_crm": {
        "contacts": ("contact_id",),
        "companies": ("company_id",),
        "owners": ("owner_id",),
        "engagements": ("engagement_id",),
        "deals": ("deal_id",),
        "deal_stage_history": ("history_id",),
        "contact_merges": ("merged_contact_id",),
    },
    "raw_store": {"purchases": ("transaction_id",), "loyalty_members": ("loyalty_id",)},
}


# The event date a daily partition selects rows by (naive-UTC timestamps, or dates in the ad account's
# time zone); CRM records by their last update, so a changed contact is reloaded whole. Tables not
# listed here (owners) are small and reloaded whole on every partial load.
PARTITION_COLUMNS: dict[str, dict[str, str]] = {
    "raw_google_ads": {"ad_stats": "segments_date"},
    "raw_meta_ads": {"ad_insights": "date_start"},
    "raw_linkedin_ads": {"ad_analytics": "date_range_start"},
    "raw_web": {"sessions": "session_started_at", "page_views": "viewed_at", "form_submissions": "submitted_at"},
    "raw_crm": {
        "contacts": "updated_at",
        "companies": "updated_at",
        "engagements": "occurred_at",
        "deals": "updated_at",
        "deal_stage_history": "entered_at",
        "contact_merges": "merged_at",
    },
    "raw_store": {"purchases": "purchased_at", "loyalty_members": "joined_at"},
}

# A load that ends before the newest day and has no start (a full refresh up to a past partition) takes
# the CRM records that existed by its end, by creation time rather than last update. A file or the demo
# world holds each record's current state only, so a record created before the end and updated after it
# comes in that state: left out, the merges, deals and identified visitors of the days before would point
# at a contact that is not there (at scale 10, 43 sessions failed dbt's relationship tests).
CREATED_COLUMNS: dict[str, dict[str, str]] = {
    "raw_crm": {"contacts": "created_at", "companies": "created_at", "deals": "created_at"},
}


class SourceMode(StrEnum):
    DEMO = "demo"
    FILES = "files"
    LIVE = "live"


class SourceSettings(BaseModel):
    """Per-source mode and where file drops land. Read from the environment at run time."""

    model_config = ConfigDict(frozen=True)

    modes: dict[str, SourceMode]
    landing_dir: Path
    mappings_dir: Path

    def mode(self, source: str) -> SourceMode:
        return self.modes.get(source.removeprefix("raw_"), SourceMode.DEMO)

    def landing(self, source: str) -> Path:
        return self.landing_dir / source.removeprefix("raw_")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SourceSettings:
        env = os.environ if environ is None else environ
        root = Path(__file__).resolve().parent.parent
        modes: dict[str, SourceMode] = {}
        for source in SOURCES:
            var = f"SMARKETING_SOURCE_MODE_{source.upper()}"
            value = env.get(var, "demo").strip().lower()
            try:
                modes[source] = SourceMode(value)
            except ValueError:
                raise ValueError(f"{var}={value!r}: expected one of demo, files, live") from None
        return cls(
            modes=modes,
            landing_dir=Path(env.get("SMARKETING_LANDING_DIR", root / "landing")).resolve(),
            mappings_dir=Path(env.get("SMARKETING_MAPPINGS_DIR", root / "mappings")).resolve(),
        )
