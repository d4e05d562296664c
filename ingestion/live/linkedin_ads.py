"""LinkedIn Marketing API: ``adAnalytics`` (q=analytics, pivots CAMPAIGN_GROUP, CAMPAIGN, CREATIVE,
timeGranularity DAILY) per ad account, enriched with the account, campaign and campaign group names
(``adCampaigns`` / ``adCampaignGroups`` searches, paged with ``metadata.nextPageToken``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator, SinglePagePaginator

from ingestion.live.common import Connector, Pulled, Window, env_list, env_required, http_client, pages

TOKEN_VAR = "SMARKETING_LINKEDIN_ADS_ACCESS_TOKEN"
METRICS = ["impressions", "clicks", "costInLocalCurrency", "externalWebsiteConversions", "pivotValues",
           "dateRange"]  # fmt: skip
KNOWN = {"impressions", "clicks", "costInLocalCurrency", "externalWebsiteConversions", "pivotValues",
         "dateRange.start.year", "dateRange.start.month", "dateRange.start.day", "dateRange.end.year",
         "dateRange.end.month", "dateRange.end.day"}  # fmt: skip


@dataclass(frozen=True)
class Config:
    api_url: str
    access_token: str
    version: str
    account_ids: list[str]


def config(env: Mapping[str, str]) -> Config:
    return Config(
        api_url=env.get("SMARKETING_LINKEDIN_ADS_API_URL", "https://api.linkedin.com/rest"),
        access_token=env_required(env, TOKEN_VAR, "an OAuth token with r_ads_reporting and r_ads"),
        version=env.get("SMARKETING_LINKEDIN_ADS_VERSION", "202510"),
        account_ids=env_list(env, "SMARKETING_LINKEDIN_ADS_AD_ACCOUNT_IDS", "comma-separated sponsored account ids"),
    )  # fmt: skip


def _date_range(window: Window) -> str:
    s, e = window.start, window.end
    return (f"(start:(year:{s.year},month:{s.month},day:{s.day}),"
            f"end:(year:{e.year},month:{e.month},day:{e.day}))")  # fmt: skip


def fetch(cfg: Config, window: Window, env: Mapping[str, str]) -> Pulled:
    client = http_client(cfg.api_url, env, headers={
        "Authorization": f"Bearer {cfg.access_token}", "LinkedIn-Version": cfg.version,
        "X-Restli-Protocol-Version": "2.0.0"})  # fmt: skip
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    page_count = 0
    for account in cfg.account_ids:
        account_info = next(iter(pages("linkedin_ads", TOKEN_VAR, lambda account=account: [_get_json(client, f"/adAccounts/{account}")])))
        names: dict[str, dict[str, Any]] = {}
        for kind in ("adCampaigns", "adCampaignGroups"):
            def call(kind: str = kind, account: str = account):
                return client.paginate(
                    f"/adAccounts/{account}/{kind}", params={"q": "search", "pageSize": "100"},
                    paginator=JSONResponseCursorPaginator(cursor_path="metadata.nextPageToken",
                                                          cursor_param="pageToken"),
                    data_selector="elements")  # fmt: skip

            for page in pages("linkedin_ads", TOKEN_VAR, call):
                page_count += 1
                for element in page:
                    names[str(element.get("id"))] = element
        params = {"q": "analytics", "pivots": "List(CAMPAIGN_GROUP,CAMPAIGN,CREATIVE)", "timeGranularity": "DAILY",
                  "dateRange": _date_range(window), "fields": ",".join(METRICS),
                  "accounts": f"List(urn%3Ali%3AsponsoredAccount%3A{account})"}  # fmt: skip

        def analytics(params: dict = params):
            return client.paginate("/adAnalytics", params=params, paginator=SinglePagePaginator(),
                                   data_selector="elements")  # fmt: skip

        for page in pages("linkedin_ads", TOKEN_VAR, analytics):
            page_count += 1
            for element in page:
                records.append(element)
                rows.append(_row(element, account, account_info, names))
    return Pulled(records=records, rows=rows, pages=page_count, known_fields=KNOWN)


def _get_json(client: Any, path: str) -> dict[str, Any]:
    response = client.get(path)
    response.raise_for_status()
    return response.json()


def _row(element: dict[str, Any], account: str, info: dict[str, Any], names: dict[str, dict[str, Any]]):
    pivots = element.get("pivotValues") or [None, None, None]
    group_urn, campaign_urn, creative_urn = (list(pivots) + [None, None, None])[:3]
    group_id = group_urn.rsplit(":", 1)[-1] if group_urn else None
    campaign_id = campaign_urn.rsplit(":", 1)[-1] if campaign_urn else None
    start = (element.get("dateRange") or {}).get("start") or {}
    day = f"{start['year']:04d}-{start['month']:02d}-{start['day']:02d}" if {"year", "month", "day"} <= set(start) else None
    return {
        "account_id": account,
        "account_name": info.get("name"),
        "account_currency": info.get("currency"),
        "campaign_group_id": group_id,
        "campaign_group_name": names.get(group_id or "", {}).get("name"),
        "campaign_id": campaign_id,
        "campaign_name": names.get(campaign_id or "", {}).get("name"),
        "pivot_value": creative_urn,
        "date_range_start": day,
        "impressions": element.get("impressions", 0),
        "clicks": element.get("clicks", 0),
        "cost_in_local_currency": element.get("costInLocalCurrency"),
        "external_website_conversions": element.get("externalWebsiteConversions", 0),
    }


CONNECTOR = Connector(
    source="linkedin_ads", schema="raw_linkedin_ads", table="ad_analytics", window_column="date_range_start",
    account_column="account_id", required=("campaign_id", "pivot_value", "date_range_start"),
    config=config, fetch=fetch, accounts=lambda cfg: cfg.account_ids,
)  # fmt: skip
