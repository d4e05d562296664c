"""Live mode: pull a source from its API, incrementally, into the raw contract.

``run_connector("raw_google_ads", warehouse)`` reads credentials from ``SMARKETING_*`` environment
variables (``.env.example``), asks for the days since the stored cursor minus a look-back (platforms
restate recent days), lands every API record as JSON in ``landing_api.<source>__<table>`` (new fields
are kept there), replaces the window's rows in the raw table and moves the cursor, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from ingestion.live import ga4, google_ads, hubspot, linkedin_ads, meta_ads, pos, salesforce
from ingestion.live.common import (
    Connector,
    LiveLoad,
    LiveSourceError,
    check_required,
    environ,
    incremental_window,
    live_today,
    store,
)
from ingestion.raw_merge import ensure_audit_tables
from ingestion.warehouse import connect as connect_warehouse

CONNECTORS: dict[str, Connector] = {
    "raw_google_ads": google_ads.CONNECTOR,
    "raw_meta_ads": meta_ads.CONNECTOR,
    "raw_linkedin_ads": linkedin_ads.CONNECTOR,
}


def live_now(env: Mapping[str, str]) -> dt.datetime:
    override = env.get("SMARKETING_LIVE_NOW")
    return dt.datetime.fromisoformat(override) if override else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def run_connector(schema: str, db_path: str | Path, env: Mapping[str, str] | None = None) -> dict[str, LiveLoad]:
    env = environ(env)
    if schema == "raw_store":
        return pos.run(db_path, env, live_now(env))
    if schema == "raw_web":
        return ga4.run(db_path, env, live_today(env))
    if schema == "raw_crm":
        system = env.get("SMARKETING_CRM_LIVE_SYSTEM", "hubspot").strip().lower()
        crm = {"hubspot": hubspot.run, "salesforce": salesforce.run}.get(system)
        if crm is None:
            raise LiveSourceError(f"SMARKETING_CRM_LIVE_SYSTEM={system!r}: live CRM connectors are hubspot and "
                                  "salesforce; use SMARKETING_SOURCE_MODE_CRM=files for Pipedrive or other exports")
        return crm(db_path, env, live_now(env))
    connector = CONNECTORS.get(schema)
    if connector is None:
        raise LiveSourceError(
            f"{schema}: no live connector yet (live: {sorted(CONNECTORS)}); set "
            f"SMARKETING_SOURCE_MODE_{schema.removeprefix('raw_').upper()}=files and drop exports in "
            f"landing/{schema.removeprefix('raw_')}/"
        )
    config = connector.config(env)  # fails fast, naming the variable, before any request
    lookback = int(env.get(f"SMARKETING_{connector.source.upper()}_LOOKBACK_DAYS", str(connector.lookback_days)))
    initial = int(env.get(f"SMARKETING_{connector.source.upper()}_INITIAL_DAYS", "90"))
    with connect_warehouse(db_path) as con:
        ensure_audit_tables(con)
        window = incremental_window(con, connector.source, connector.table, live_today(env), lookback, initial)
    pulled = connector.fetch(config, window, env)
    check_required(connector.source, schema, connector.table, pulled.rows, connector.required)
    load = store(str(db_path), connector.source, schema, connector.table, window, pulled,
                 connector.window_column, connector.account_column, connector.accounts(config))  # fmt: skip
    return {connector.table: load}
