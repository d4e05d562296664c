"""Create a tiny raw DuckDB warehouse (ingestion/raw_schema.py shape) with hand-written rows.

For developing the dbt project without the demo generator:

    python dbt_project/scripts/make_fixture_warehouse.py /tmp/fixture.duckdb
    SMARKETING_WAREHOUSE=/tmp/fixture.duckdb dbt build --project-dir dbt_project --profiles-dir dbt_project
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ingestion.raw_schema import LOAD_METADATA, RAW_TABLES  # noqa: E402

LOADED_AT = datetime(2026, 11, 23, 6, 0)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


ROWS: dict[tuple[str, str], list[dict]] = {
    ("raw_google_ads", "ad_stats"): [
        dict(customer_id="111", customer_descriptive_name="Acme ES", customer_currency_code="EUR",
             customer_time_zone="Europe/Madrid", campaign_id="g-c1", campaign_name="Brand Search",
             campaign_advertising_channel_type="SEARCH", ad_group_id="g-ag1", ad_group_name="Brand",
             ad_group_ad_ad_id="g-ad1", segments_date=ts("2026-11-02").date(), metrics_impressions=1000,
             metrics_clicks=50, metrics_cost_micros=25_500_000, metrics_conversions=2.0),
        dict(customer_id="111", customer_descriptive_name="Acme ES", customer_currency_code="EUR",
             customer_time_zone="Europe/Madrid", campaign_id="g-c1", campaign_name="Brand Search",
             campaign_advertising_channel_type="SEARCH", ad_group_id="g-ag1", ad_group_name="Brand",
             ad_group_ad_ad_id="g-ad1", segments_date=ts("2026-11-03").date(), metrics_impressions=800,
             metrics_clicks=40, metrics_cost_micros=20_000_000, metrics_conversions=1.0),
    ],
    ("raw_meta_ads", "ad_insights"): [
        dict(account_id="act_222", account_name="Acme Meta", account_currency="USD", campaign_id="m-c1",
             campaign_name="Prospecting", adset_id="m-as1", adset_name="Lookalike", ad_id="m-ad1",
             ad_name="Video A", date_start="2026-11-02", date_stop="2026-11-02", impressions="5000",
             clicks="70", spend="30.10", actions='[{"action_type": "lead", "value": "1"}]'),
    ],
    ("raw_linkedin_ads", "ad_analytics"): [
        dict(account_id="333", account_name="Acme LinkedIn", account_currency="GBP",
             campaign_group_id="li-g1", campaign_group_name="EMEA", campaign_id="li-c1",
             campaign_name="Decision makers", pivot_value="urn:li:sponsoredCreative:444",
             date_range_start=ts("2026-11-04").date(), impressions=900, clicks=9,
             cost_in_local_currency="45.00", external_website_conversions=0),
    ],
    ("raw_web", "sessions"): [
        # anon-1: first a Google ad click, then a direct visit where the form is submitted
        dict(session_id="s1", anonymous_id="anon-1", session_started_at=ts("2026-11-02 09:00"),
             session_ended_at=ts("2026-11-02 09:10"),
             landing_page_url="https://www.acme.example/?utm_source=google&utm_medium=cpc&utm_campaign=g-c1&utm_content=g-ad1&gclid=abc",
             referrer_url="https://www.google.com/", device_category="desktop", geo_country="ES", page_view_count=3),
        dict(session_id="s2", anonymous_id="anon-1", session_started_at=ts("2026-11-03 10:00"),
             session_ended_at=ts("2026-11-03 10:05"), landing_page_url="https://www.acme.example/pricing",
             referrer_url=None, device_category="desktop", geo_country="ES", page_view_count=2),
        # anon-2: organic social (fbclid alone)
        dict(session_id="s3", anonymous_id="anon-2", session_started_at=ts("2026-11-04 22:30"),
             session_ended_at=ts("2026-11-04 22:40"), landing_page_url="https://www.acme.example/?fbclid=xyz",
             referrer_url=None, device_category="mobile", geo_country="GB", page_view_count=1),
        # anon-3: e-mail campaign with an encoded campaign name, never identified
        dict(session_id="s4", anonymous_id="anon-3", session_started_at=ts("2026-11-05 08:00"),
             session_ended_at=ts("2026-11-05 08:01"),
             landing_page_url="https://www.acme.example/?utm_source=Newsletter&utm_medium=Email&utm_campaign=Black%20Friday+2026",
             referrer_url="https://mail.example.org/", device_category="mobile", geo_country="ES", page_view_count=1),
        # anon-4: LinkedIn paid click
        dict(session_id="s5", anonymous_id="anon-4", session_started_at=ts("2026-11-06 12:00"),
             session_ended_at=ts("2026-11-06 12:20"),
             landing_page_url="https://www.acme.example/?utm_source=linkedin&utm_medium=paid_social&utm_campaign=li-c1&utm_content=444&li_fat_id=q1",
             referrer_url="https://www.linkedin.com/", device_category="desktop", geo_country="GB", page_view_count=4),
    ],
    ("raw_web", "page_views"): [
        dict(page_view_id="pv1", session_id="s1", anonymous_id="anon-1", viewed_at=ts("2026-11-02 09:00"),
             page_url="https://www.acme.example/", page_title="Home"),
        dict(page_view_id="pv2", session_id="s2", anonymous_id="anon-1", viewed_at=ts("2026-11-03 10:01"),
             page_url="https://www.acme.example/pricing", page_title="Pricing"),
    ],
    ("raw_web", "form_submissions"): [
        dict(submission_id="f1", session_id="s2", anonymous_id="anon-1", submitted_at=ts("2026-11-03 10:04"),
             form_name="demo_request", page_url="https://www.acme.example/demo", email=" Ana.Garcia@Example.com ",
             phone="+34 600 111 222", first_name="Ana", last_name="Garcia", company_name="Garcia SL",
             consent_marketing=True),
        dict(submission_id="f2", session_id="s3", anonymous_id="anon-2", submitted_at=ts("2026-11-04 22:35"),
             form_name="ebook_download", page_url="https://www.acme.example/ebook", email="bob@example.co.uk",
             phone=None, first_name="Bob", last_name="Smith", company_name="Smith Ltd", consent_marketing=False),
        dict(submission_id="f3", session_id="s5", anonymous_id="anon-4", submitted_at=ts("2026-11-06 12:15"),
             form_name="contact_us", page_url="https://www.acme.example/contact", email="dana@example.com",
             phone=None, first_name="Dana", last_name="Lee", company_name="Lee Inc", consent_marketing=True),
    ],
    ("raw_crm", "owners"): [
        dict(owner_id="o1", first_name="Marta", last_name="Lopez", email="marta@acme.example", team="Inside Sales",
             region="EMEA-SOUTH", is_active=True, created_at=ts("2024-01-10 08:00")),
        dict(owner_id="o2", first_name="John", last_name="Doe", email="john@acme.example", team="Field Sales",
             region="EMEA-NORTH", is_active=True, created_at=ts("2024-02-10 08:00")),
    ],
    ("raw_crm", "companies"): [
        dict(company_id="co1", name="Garcia SL", domain="garcia.example", industry="Retail", number_of_employees=45,
             country="ES", created_at=ts("2026-11-03 10:05"), updated_at=ts("2026-11-03 10:05")),
        dict(company_id="co2", name="Smith Ltd", domain="smith.example", industry="Software",
             number_of_employees=1200, country="GB", created_at=ts("2026-11-04 22:36"), updated_at=ts("2026-11-04 22:36")),
    ],
    ("raw_crm", "contacts"): [
        # c1: web lead (Paid Search first touch), MQL, SQL, opportunity, deal won; also buys in store later
        dict(contact_id="c1", email="ana.garcia@example.com", phone="+34 600-111-222", first_name="Ana",
             last_name="Garcia", company_id="co1", job_title="CEO", job_role="executive", country="ES",
             original_source="DIRECT_TRAFFIC", owner_id="o1", lifecycle_stage="customer",
             created_at=ts("2026-11-03 10:05"), became_lead_at=ts("2026-11-03 10:05"),
             became_mql_at=ts("2026-11-03 12:00"), became_sql_at=ts("2026-11-05 09:00"),
             became_opportunity_at=ts("2026-11-06 09:00"), became_customer_at=ts("2026-11-12 15:00"),
             lead_status="CONNECTED", updated_at=ts("2026-11-12 15:00")),
        # c2: web lead (Organic Social), MQL, buys in store (phone match) before any deal
        dict(contact_id="c2", email="bob@example.co.uk", phone="+44 7700 900123", first_name="Bob",
             last_name="Smith", company_id="co2", job_title="Engineer", job_role="individual_contributor",
             country="GB", original_source="SOCIAL_MEDIA", owner_id="o2", lifecycle_stage="marketingqualifiedlead",
             created_at=ts("2026-11-04 22:36"), became_lead_at=ts("2026-11-04 22:36"),
             became_mql_at=ts("2026-11-08 23:30"), became_sql_at=None, became_opportunity_at=None,
             became_customer_at=None, lead_status="OPEN", updated_at=ts("2026-11-09 10:00")),
        # c3: offline lead (trade fair), no web session, buys in store with a loyalty card
        dict(contact_id="c3", email="carla@example.es", phone="600 333 444", first_name="Carla", last_name="Ruiz",
             company_id=None, job_title=None, job_role="other", country="ES", original_source="OFFLINE",
             owner_id="o1", lifecycle_stage="lead", created_at=ts("2026-11-01 11:00"),
             became_lead_at=ts("2026-11-01 11:00"), became_mql_at=None, became_sql_at=None,
             became_opportunity_at=None, became_customer_at=None, lead_status="NEW",
             updated_at=ts("2026-11-01 11:00")),
        # c4: LinkedIn paid lead, still a lead
        dict(contact_id="c4", email="dana@example.com", phone=None, first_name="Dana", last_name="Lee",
             company_id=None, job_title="Manager", job_role="manager", country="GB", original_source="PAID_SOCIAL",
             owner_id="o2", lifecycle_stage="lead", created_at=ts("2026-11-06 12:16"),
             became_lead_at=ts("2026-11-06 12:16"), became_mql_at=None, became_sql_at=None,
             became_opportunity_at=None, became_customer_at=None, lead_status="NEW",
             updated_at=ts("2026-11-06 12:16")),
    ],
    ("raw_crm", "engagements"): [
        dict(engagement_id="e1", engagement_type="CALL", contact_id="c1", owner_id="o1",
             occurred_at=ts("2026-11-03 11:00"), direction="OUTBOUND", outcome="NO_ANSWER"),  # before MQL
        dict(engagement_id="e2", engagement_type="EMAIL", contact_id="c1", owner_id="o1",
             occurred_at=ts("2026-11-03 12:30"), direction="OUTBOUND", outcome="SENT"),
        dict(engagement_id="e3", engagement_type="EMAIL", contact_id="c1", owner_id="o1",
             occurred_at=ts("2026-11-03 13:00"), direction="INBOUND", outcome="REPLIED"),
        dict(engagement_id="e4", engagement_type="CALL", contact_id="c2", owner_id="o2",
             occurred_at=ts("2026-11-09 09:00"), direction="OUTBOUND", outcome="CONNECTED"),
    ],
    ("raw_crm", "deals"): [
        dict(deal_id="d1", deal_name="Garcia SL - annual", contact_id="c1", company_id="co1", owner_id="o1",
             pipeline="default", deal_stage="closedwon", amount=12000.00, currency_code="EUR",
             created_at=ts("2026-11-06 09:00"), closed_at=ts("2026-11-12 15:00"), closed_lost_reason=None,
             updated_at=ts("2026-11-12 15:00")),
        dict(deal_id="d2", deal_name="Smith Ltd - pilot", contact_id="c2", company_id="co2", owner_id="o2",
             pipeline="default", deal_stage="closedlost", amount=5000.00, currency_code="GBP",
             created_at=ts("2026-11-10 09:00"), closed_at=ts("2026-11-15 09:00"), closed_lost_reason="budget",
             updated_at=ts("2026-11-15 09:00")),
    ],
    ("raw_store", "loyalty_members"): [
        dict(loyalty_id="L-1", email_sha256=sha("carla@example.es"), phone_sha256=None, joined_at=ts("2025-06-01 10:00")),
        dict(loyalty_id="L-2", email_sha256=sha("nobody@example.com"), phone_sha256=None, joined_at=ts("2025-06-01 10:00")),
    ],
    ("raw_store", "purchases"): [
        dict(transaction_id="t1", store_id="st1", store_name="Madrid Centro", store_country="ES",
             purchased_at=ts("2026-11-20 18:00"), amount=150.00, currency_code="EUR",
             customer_email_sha256=sha("ana.garcia@example.com"), customer_phone_sha256=None, loyalty_id=None),
        dict(transaction_id="t2", store_id="st2", store_name="London Soho", store_country="GB",
             purchased_at=ts("2026-11-09 23:30"), amount=80.00, currency_code="GBP",
             customer_email_sha256=None, customer_phone_sha256=sha("+447700900123"), loyalty_id=None),
        dict(transaction_id="t3", store_id="st1", store_name="Madrid Centro", store_country="ES",
             purchased_at=ts("2026-11-14 12:00"), amount=60.00, currency_code="EUR",
             customer_email_sha256=None, customer_phone_sha256=None, loyalty_id="L-1"),
        dict(transaction_id="t4", store_id="st1", store_name="Madrid Centro", store_country="ES",
             purchased_at=ts("2026-11-15 12:00"), amount=25.00, currency_code="EUR",
             customer_email_sha256=None, customer_phone_sha256=None, loyalty_id="L-2"),
    ],
}


def main(path: str) -> None:
    Path(path).unlink(missing_ok=True)
    con = duckdb.connect(path)
    for schema, tables in RAW_TABLES.items():
        con.execute(f"create schema {schema}")
        for table, columns in tables.items():
            all_columns = {**columns, **LOAD_METADATA}
            ddl = ", ".join(f"{name} {dtype}" for name, dtype in all_columns.items())
            con.execute(f"create table {schema}.{table} ({ddl})")
            for row in ROWS.get((schema, table), []):
                values = {**{name: None for name in columns}, **row,
                          "_batch_id": "fixture", "_loaded_at": LOADED_AT, "_source": "fixture"}
                names = list(all_columns)
                con.execute(
                    f"insert into {schema}.{table} ({', '.join(names)}) values ({', '.join('?' for _ in names)})",
                    [values[name] for name in names],
                )
    con.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fixture.duckdb")
