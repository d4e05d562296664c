"""The raw layer's contract: one DuckDB schema per source, tables in the source's own shape.

Every loader (demo generator, file exports, live APIs) writes exactly these columns, plus the load
metadata columns in ``LOAD_METADATA``. The dbt sources (``dbt_project/models/staging/*/_*__sources.yml``)
declare the same tables; ``tests/test_raw_contract.py`` keeps the two in step.

Timestamps are naive UTC unless the column name says otherwise; ad-platform dates are in the ad
account's own time zone, as the platforms report them.
"""

from __future__ import annotations

LOAD_METADATA: dict[str, str] = {
    "_batch_id": "VARCHAR",  # deterministic id of the load (content fingerprint)
    "_loaded_at": "TIMESTAMP",  # when the batch landed (UTC)
    "_source": "VARCHAR",  # where it came from: demo parameters, file name or API endpoint
}

RAW_TABLES: dict[str, dict[str, dict[str, str]]] = {
    # Google Ads API: ad_group_ad report, one row per ad per day (segments.date), cost in micros.
    "raw_google_ads": {
        "ad_stats": {
            "customer_id": "VARCHAR",
            "customer_descriptive_name": "VARCHAR",
            "customer_currency_code": "VARCHAR",
            "customer_time_zone": "VARCHAR",
            "campaign_id": "VARCHAR",
            "campaign_name": "VARCHAR",
            "campaign_advertising_channel_type": "VARCHAR",  # SEARCH, DISPLAY...
            "ad_group_id": "VARCHAR",
            "ad_group_name": "VARCHAR",
            "ad_group_ad_ad_id": "VARCHAR",
            "segments_date": "DATE",
            "metrics_impressions": "BIGINT",
            "metrics_clicks": "BIGINT",
            "metrics_cost_micros": "BIGINT",
            "metrics_conversions": "DOUBLE",
        },
    },
    # Meta Marketing API: /insights at level=ad, time_increment=1. The API returns numbers as strings.
    "raw_meta_ads": {
        "ad_insights": {
            "account_id": "VARCHAR",
            "account_name": "VARCHAR",
            "account_currency": "VARCHAR",
            "campaign_id": "VARCHAR",
            "campaign_name": "VARCHAR",
            "adset_id": "VARCHAR",
            "adset_name": "VARCHAR",
            "ad_id": "VARCHAR",
            "ad_name": "VARCHAR",
            "date_start": "VARCHAR",  # 'YYYY-MM-DD'
            "date_stop": "VARCHAR",
            "impressions": "VARCHAR",
            "clicks": "VARCHAR",
            "spend": "VARCHAR",  # '12.34', account currency
            "actions": "VARCHAR",  # JSON array [{"action_type": "lead", "value": "3"}]
        },
    },
    # LinkedIn Marketing API: adAnalytics, pivot=CREATIVE, timeGranularity=DAILY, enriched with the
    # campaign and campaign group names the connector looks up.
    "raw_linkedin_ads": {
        "ad_analytics": {
            "account_id": "VARCHAR",
            "account_name": "VARCHAR",
            "account_currency": "VARCHAR",
            "campaign_group_id": "VARCHAR",
            "campaign_group_name": "VARCHAR",
            "campaign_id": "VARCHAR",
            "campaign_name": "VARCHAR",
            "pivot_value": "VARCHAR",  # 'urn:li:sponsoredCreative:123'
            "date_range_start": "DATE",
            "impressions": "BIGINT",
            "clicks": "BIGINT",
            "cost_in_local_currency": "VARCHAR",  # decimal string, account currency
            "external_website_conversions": "BIGINT",
        },
    },
    # Web analytics (GA4-like): sessions, page views and form submissions by anonymous visitor id.
    "raw_web": {
        "sessions": {
            "session_id": "VARCHAR",
            "anonymous_id": "VARCHAR",
            "session_started_at": "TIMESTAMP",
            "session_ended_at": "TIMESTAMP",
            "landing_page_url": "VARCHAR",  # full URL with utm_* / gclid / fbclid query parameters
            "referrer_url": "VARCHAR",
            "device_category": "VARCHAR",  # desktop, mobile, tablet
            "geo_country": "VARCHAR",  # ISO-3166 alpha-2
            "page_view_count": "INTEGER",
        },
        "page_views": {
            "page_view_id": "VARCHAR",
            "session_id": "VARCHAR",
            "anonymous_id": "VARCHAR",
            "viewed_at": "TIMESTAMP",
            "page_url": "VARCHAR",
            "page_title": "VARCHAR",
        },
        "form_submissions": {
            "submission_id": "VARCHAR",
            "session_id": "VARCHAR",
            "anonymous_id": "VARCHAR",
            "submitted_at": "TIMESTAMP",
            "form_name": "VARCHAR",  # demo_request, contact_us, newsletter, ebook_download
            "page_url": "VARCHAR",
            "email": "VARCHAR",
            "phone": "VARCHAR",
            "first_name": "VARCHAR",
            "last_name": "VARCHAR",
            "company_name": "VARCHAR",
            "consent_marketing": "BOOLEAN",
        },
    },
    # CRM (HubSpot-like): contacts with lifecycle stage timestamps, companies, owners (sales reps),
    # engagements (sales activities) and deals.
    "raw_crm": {
        "contacts": {
            "contact_id": "VARCHAR",
            "email": "VARCHAR",
            "phone": "VARCHAR",
            "first_name": "VARCHAR",
            "last_name": "VARCHAR",
            "company_id": "VARCHAR",
            "job_title": "VARCHAR",
            "job_role": "VARCHAR",  # executive, manager, individual_contributor, student, other
            "country": "VARCHAR",  # ISO-3166 alpha-2
            "original_source": "VARCHAR",  # HubSpot hs_analytics_source: PAID_SEARCH, ORGANIC_SEARCH...
            "owner_id": "VARCHAR",
            "lifecycle_stage": "VARCHAR",  # current stage: lead, marketingqualifiedlead, ...
            "created_at": "TIMESTAMP",
            "became_lead_at": "TIMESTAMP",
            "became_mql_at": "TIMESTAMP",
            "became_sql_at": "TIMESTAMP",
            "became_opportunity_at": "TIMESTAMP",
            "became_customer_at": "TIMESTAMP",  # CRM only knows deals; store purchases are not here
            "lead_status": "VARCHAR",  # NEW, OPEN, IN_PROGRESS, CONNECTED, UNQUALIFIED, BAD_TIMING
            "updated_at": "TIMESTAMP",
            # Sales' decision on an MQL it turned down (HubSpot custom properties): when and why.
            "disqualified_at": "TIMESTAMP",
            "disqualification_reason": "VARCHAR",
        },
        "companies": {
            "company_id": "VARCHAR",
            "name": "VARCHAR",
            "domain": "VARCHAR",
            "industry": "VARCHAR",
            "number_of_employees": "INTEGER",
            "country": "VARCHAR",
            "created_at": "TIMESTAMP",
            "updated_at": "TIMESTAMP",
        },
        "owners": {
            "owner_id": "VARCHAR",
            "first_name": "VARCHAR",
            "last_name": "VARCHAR",
            "email": "VARCHAR",
            "team": "VARCHAR",
            "region": "VARCHAR",  # EMEA-SOUTH, EMEA-NORTH, NA
            "is_active": "BOOLEAN",
            "created_at": "TIMESTAMP",
        },
        "engagements": {
            "engagement_id": "VARCHAR",
            "engagement_type": "VARCHAR",  # CALL, EMAIL, MEETING
            "contact_id": "VARCHAR",
            "owner_id": "VARCHAR",
            "occurred_at": "TIMESTAMP",
            "direction": "VARCHAR",  # OUTBOUND, INBOUND
            "outcome": "VARCHAR",  # CONNECTED, NO_ANSWER, LEFT_VOICEMAIL, SENT, REPLIED
        },
        "deals": {
            "deal_id": "VARCHAR",
            "deal_name": "VARCHAR",
            "contact_id": "VARCHAR",
            "company_id": "VARCHAR",
            "owner_id": "VARCHAR",
            "pipeline": "VARCHAR",
            "deal_stage": "VARCHAR",  # appointmentscheduled ... closedwon, closedlost
            "amount": "DECIMAL(18,2)",
            "currency_code": "VARCHAR",
            "created_at": "TIMESTAMP",
            "closed_at": "TIMESTAMP",
            "closed_lost_reason": "VARCHAR",
            "updated_at": "TIMESTAMP",
        },
        # Every stage a deal entered, when, and who moved it (HubSpot dealstage property history,
        # Salesforce OpportunityHistory). The current stage is the latest row; deals.deal_stage agrees.
        "deal_stage_history": {
            "history_id": "VARCHAR",  # one per stage change: HubSpot '<deal_id>:<epoch ms>', Salesforce record id
            "deal_id": "VARCHAR",
            "deal_stage": "VARCHAR",
            "entered_at": "TIMESTAMP",
            "changed_by_id": "VARCHAR",  # user or integration that changed the stage, when known
        },
        # Duplicate contacts sales merged away (HubSpot keeps the archived record's id and e-mail on the
        # survivor). Follow merged_into_contact_id (possibly through several merges) to the survivor.
        "contact_merges": {
            "merged_contact_id": "VARCHAR",
            "merged_into_contact_id": "VARCHAR",
            "email": "VARCHAR",  # the archived duplicate's e-mail, as typed
            "merged_at": "TIMESTAMP",
        },
    },
    # Point-of-sale export: in-store purchases. Customers are identified the way stores know them:
    # SHA-256 of the normalised e-mail or phone (as collected at the till), or a loyalty card id.
    "raw_store": {
        "purchases": {
            "transaction_id": "VARCHAR",
            "store_id": "VARCHAR",
            "store_name": "VARCHAR",
            "store_country": "VARCHAR",
            "purchased_at": "TIMESTAMP",
            "amount": "DECIMAL(18,2)",
            "currency_code": "VARCHAR",
            "customer_email_sha256": "VARCHAR",  # sha256(lower(trim(email))), hex
            "customer_phone_sha256": "VARCHAR",  # sha256(digits of E.164 phone with '+'), hex
            "loyalty_id": "VARCHAR",
        },
        "loyalty_members": {
            "loyalty_id": "VARCHAR",
            "email_sha256": "VARCHAR",
            "phone_sha256": "VARCHAR",
            "joined_at": "TIMESTAMP",
        },
    },
}


def table_columns(schema: str, table: str) -> dict[str, str]:
    """The columns a loader must provide (without load metadata), in order."""
    return RAW_TABLES[schema][table]
