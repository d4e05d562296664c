"""Google Ads API: the ad_group_ad report by day (GAQL through ``googleAds:search``), one call per
customer, paged with ``nextPageToken``. int64 metrics come as strings and zero values are omitted
(proto3 JSON), so metrics default to 0 while ids and the date are required."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.live.common import Connector, Pulled, Window, env_list, env_required, http_client, pages, pick

TOKEN_VAR = "SMARKETING_GOOGLE_ADS_ACCESS_TOKEN"

QUERY = """
SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone,
  campaign.id, campaign.name, campaign.advertising_channel_type, ad_group.id, ad_group.name,
  ad_group_ad.ad.id, segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros,
  metrics.conversions
FROM ad_group_ad
WHERE segments.date BETWEEN '{start}' AND '{end}'
"""

FIELDS = {  # contract column -> path in the JSON result (camelCase, as the REST interface returns it)
    "customer_id": "customer.id",
    "customer_descriptive_name": "customer.descriptiveName",
    "customer_currency_code": "customer.currencyCode",
    "customer_time_zone": "customer.timeZone",
    "campaign_id": "campaign.id",
    "campaign_name": "campaign.name",
    "campaign_advertising_channel_type": "campaign.advertisingChannelType",
    "ad_group_id": "adGroup.id",
    "ad_group_name": "adGroup.name",
    "ad_group_ad_ad_id": "adGroupAd.ad.id",
    "segments_date": "segments.date",
    "metrics_impressions": "metrics.impressions",
    "metrics_clicks": "metrics.clicks",
    "metrics_cost_micros": "metrics.costMicros",
    "metrics_conversions": "metrics.conversions",
}
KNOWN = {*FIELDS.values(), "adGroupAd.resourceName", "adGroup.resourceName", "campaign.resourceName",
         "customer.resourceName"}  # fmt: skip


@dataclass(frozen=True)
class Config:
    api_url: str
    developer_token: str
    access_token: str
    customer_ids: list[str]
    login_customer_id: str | None


def config(env: Mapping[str, str]) -> Config:
    return Config(
        api_url=env.get("SMARKETING_GOOGLE_ADS_API_URL", "https://googleads.googleapis.com/v21"),
        developer_token=env_required(env, "SMARKETING_GOOGLE_ADS_DEVELOPER_TOKEN", "the Google Ads developer token"),
        access_token=env_required(env, TOKEN_VAR, "an OAuth access token with the adwords scope"),
        customer_ids=[c.replace("-", "") for c in env_list(
            env, "SMARKETING_GOOGLE_ADS_CUSTOMER_IDS", "comma-separated customer ids (123-456-7890)")],
        login_customer_id=env.get("SMARKETING_GOOGLE_ADS_LOGIN_CUSTOMER_ID", "").replace("-", "") or None,
    )  # fmt: skip


def fetch(cfg: Config, window: Window, env: Mapping[str, str]) -> Pulled:
    headers = {"Authorization": f"Bearer {cfg.access_token}", "developer-token": cfg.developer_token}
    if cfg.login_customer_id:
        headers["login-customer-id"] = cfg.login_customer_id
    client = http_client(cfg.api_url, env, headers=headers)
    records: list[dict[str, Any]] = []
    page_count = 0
    for customer_id in cfg.customer_ids:
        body = {"query": QUERY.format(start=window.start, end=window.end).strip()}
        paginator = JSONResponseCursorPaginator(cursor_path="nextPageToken", cursor_body_path="pageToken")

        def call(customer_id: str = customer_id, body: dict = body, paginator: Any = paginator):
            return client.paginate(f"/customers/{customer_id}/googleAds:search", method="POST", json=body,
                                   paginator=paginator, data_selector="results")  # fmt: skip

        for page in pages("google_ads", TOKEN_VAR, call):
            page_count += 1
            records.extend(page)
    rows = [_row(r) for r in records]
    return Pulled(records=records, rows=rows, pages=page_count, known_fields=KNOWN)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    row = {column: pick(record, path) for column, path in FIELDS.items()}
    for metric in ("metrics_impressions", "metrics_clicks", "metrics_cost_micros", "metrics_conversions"):
        if row[metric] is None and isinstance(record.get("metrics"), dict):
            row[metric] = 0  # omitted because zero
    return row


CONNECTOR = Connector(
    source="google_ads", schema="raw_google_ads", table="ad_stats", window_column="segments_date",
    account_column="customer_id",
    required=("customer_id", "campaign_id", "ad_group_id", "ad_group_ad_ad_id", "segments_date"),
    config=config, fetch=fetch, accounts=lambda cfg: cfg.customer_ids,
)  # fmt: skip
