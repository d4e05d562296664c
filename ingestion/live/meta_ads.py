"""Meta Marketing API: ``/act_<id>/insights`` at ``level=ad`` with ``time_increment=1``, paged by
``paging.next`` links. Numbers come as strings (kept so); ``actions`` is kept as its JSON array."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingestion.live.common import Connector, Pulled, Window, env_list, env_required, http_client, pages

TOKEN_VAR = "SMARKETING_META_ADS_ACCESS_TOKEN"
FIELDS = ["account_id", "account_name", "account_currency", "campaign_id", "campaign_name", "adset_id",
          "adset_name", "ad_id", "ad_name", "date_start", "date_stop", "impressions", "clicks", "spend",
          "actions"]  # fmt: skip


@dataclass(frozen=True)
class Config:
    api_url: str
    access_token: str
    account_ids: list[str]


def config(env: Mapping[str, str]) -> Config:
    return Config(
        api_url=env.get("SMARKETING_META_ADS_API_URL", "https://graph.facebook.com/v23.0"),
        access_token=env_required(env, TOKEN_VAR, "a system-user access token with ads_read"),
        account_ids=[a.removeprefix("act_") for a in env_list(
            env, "SMARKETING_META_ADS_AD_ACCOUNT_IDS", "comma-separated ad account ids (act_123 or 123)")],
    )  # fmt: skip


def fetch(cfg: Config, window: Window, env: Mapping[str, str]) -> Pulled:
    client = http_client(cfg.api_url, env, headers={"Authorization": f"Bearer {cfg.access_token}"})
    records: list[dict[str, Any]] = []
    page_count = 0
    for account in cfg.account_ids:
        params = {
            "level": "ad", "time_increment": "1", "fields": ",".join(FIELDS), "limit": "500",
            "time_range": json.dumps({"since": window.start.isoformat(), "until": window.end.isoformat()}),
            "action_attribution_windows": json.dumps(["7d_click", "1d_view"]),
        }  # fmt: skip

        def call(account: str = account, params: dict = params):
            return client.paginate(f"/act_{account}/insights", params=params,
                                   paginator=JSONLinkPaginator(next_url_path="paging.next"), data_selector="data")

        for page in pages("meta_ads", TOKEN_VAR, call):
            page_count += 1
            records.extend(page)
    rows = []
    for record in records:
        row = {f: record.get(f) for f in FIELDS}
        row["actions"] = json.dumps(record["actions"]) if record.get("actions") is not None else None
        rows.append(row)
    return Pulled(records=records, rows=rows, pages=page_count, known_fields=set(FIELDS))


CONNECTOR = Connector(
    source="meta_ads", schema="raw_meta_ads", table="ad_insights", window_column="date_start",
    account_column="account_id", required=("account_id", "campaign_id", "adset_id", "ad_id", "date_start"),
    config=config, fetch=fetch, accounts=lambda cfg: cfg.account_ids,
)  # fmt: skip
