"""The demo world is deterministic, follows the raw contract and tells one coherent story."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from urllib.parse import parse_qs, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.demo.world import ARROW_TYPES, World, build_world, generate_world, write_world
from ingestion.raw_schema import RAW_TABLES

END = dt.date(2026, 11, 22)
CUTOFF = dt.datetime(2026, 11, 23)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(scale=0.05, seed=11, end_date=END, days=365)


@pytest.fixture(scope="module")
def db(world: World) -> duckdb.DuckDBPyConnection:
    """The world's tables as DuckDB views named <schema>__<table>."""
    con = duckdb.connect()
    for (schema, table), data in world.tables.items():
        con.register(f"{schema}__{table}", data)
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# --- determinism and contract ---------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_other_seed_differs() -> None:
    a = generate_world(scale=0.01, seed=3)
    b = generate_world(scale=0.01, seed=3)
    c = generate_world(scale=0.01, seed=4)
    assert a.tables.keys() == b.tables.keys()
    for key in a.tables:
        assert a.tables[key].equals(b.tables[key]), key
    assert a.truth == b.truth
    assert not a.tables[("raw_web", "sessions")].equals(c.tables[("raw_web", "sessions")])
    assert not a.tables[("raw_crm", "contacts")].equals(c.tables[("raw_crm", "contacts")])


def test_every_contract_table_with_exact_columns_and_types(world: World) -> None:
    expected = [(s, t) for s, tables in RAW_TABLES.items() for t in tables]
    assert list(world.tables) == expected
    for (schema, table), data in world.tables.items():
        contract = RAW_TABLES[schema][table]
        assert data.schema.names == list(contract), (schema, table)
        assert [f.type for f in data.schema] == [ARROW_TYPES[t] for t in contract.values()], (schema, table)
        assert data.num_rows > 0, (schema, table)


def test_volumes_scale_linearly(world: World) -> None:
    counts = world.truth.row_counts
    assert counts["raw_crm.contacts"] == 5_000
    assert 45_000 <= counts["raw_web.sessions"] <= 55_000
    assert 300 <= counts["raw_crm.deals"] <= 700
    assert world.truth.model_dump_json()  # JSON-serialisable


def test_write_world_writes_parquet_per_table_and_truth(tmp_path) -> None:
    small = generate_world(scale=0.005, seed=1)
    written = write_world(small, tmp_path)
    assert (tmp_path / "truth.json").is_file()
    assert (tmp_path / "raw_web" / "sessions.parquet").is_file()
    assert len(written) == len(small.tables) + 1


def test_build_world_streams_the_same_files_as_generate_and_write(tmp_path) -> None:
    """build_world writes each table from its own writer thread, chunk by chunk: the same rows, in
    the same order, as the world generated in memory and written whole."""
    streamed = build_world(tmp_path / "streamed", scale=0.01, seed=3, end_date=END)
    whole = generate_world(scale=0.01, seed=3, end_date=END)
    written = write_world(whole, tmp_path / "whole")
    assert set(streamed.files) == set(written)
    for name, path in written.items():
        if name == "truth":
            assert streamed.files[name].read_text() == path.read_text()
        else:
            assert pq.read_table(streamed.files[name]).equals(pq.read_table(path)), name
            assert streamed.rows[name] == whole.tables[tuple(name.split("."))].num_rows


def test_build_world_reports_a_failed_write(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "raw_web").write_text("a file where the raw_web folder should go")
    with pytest.raises(RuntimeError, match="writing the Parquet files failed"):
        build_world(tmp_path / "out", scale=0.005, seed=1, end_date=END)


# --- web ------------------------------------------------------------------------------------------


def test_page_view_count_equals_page_views_and_times_are_ordered(db) -> None:
    bad = rows(db, """
        select count(*) from raw_web__sessions s
        left join (select session_id, count(*) n, min(viewed_at) first_view, max(viewed_at) last_view
                   from raw_web__page_views group by all) v using (session_id)
        where v.n is distinct from s.page_view_count or s.page_view_count < 1
           or s.session_ended_at < s.session_started_at or v.first_view <> s.session_started_at
           or v.last_view > s.session_ended_at
    """)  # fmt: skip
    assert bad == [(0,)]
    assert rows(db, "select count(*) - count(distinct session_id) from raw_web__sessions") == [(0,)]


def test_form_submissions_happen_inside_their_session(db) -> None:
    bad = rows(db, """
        select count(*) from raw_web__form_submissions f
        join raw_web__sessions s using (session_id)
        where f.submitted_at < s.session_started_at or f.submitted_at > s.session_ended_at
           or f.anonymous_id <> s.anonymous_id
    """)  # fmt: skip
    assert bad == [(0,)]


def test_every_web_contact_matches_a_form_and_offline_ones_none(db) -> None:
    result = rows(db, """
        select c.original_source = 'OFFLINE' as offline,
               count(*) filter (where f.n is null) as unmatched, count(*) as contacts
        from raw_crm__contacts c
        left join (select lower(trim(email)) as email, count(*) n from raw_web__form_submissions group by 1) f
          on f.email = lower(trim(c.email))
        group by 1 order by 1
    """)  # fmt: skip
    (web_offline, web_unmatched, _), (offline, offline_unmatched, offline_n) = result
    assert not web_offline and web_unmatched == 0
    assert offline and offline_unmatched == offline_n
    created_after_form = rows(db, """
        select count(*) from raw_crm__contacts c
        join (select lower(trim(email)) email, min(submitted_at) first_form from raw_web__form_submissions group by 1) f
          on f.email = c.email
        where not (c.created_at between f.first_form and f.first_form + interval 1 minute)
           or c.created_at <> c.became_lead_at
    """)  # fmt: skip
    assert created_after_form == [(0,)]


SEARCH_SOURCES = {"google", "bing", "duckduckgo", "yahoo"}
SOCIAL_SOURCES = {"facebook", "instagram", "linkedin", "twitter", "t.co"}
PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
SITE_HOST = "www.smarketing-demo.com"


def classify_session(landing_url: str, referrer: str | None) -> str:
    """docs/conventions.md channel rules, for the URL shapes the demo produces."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(landing_url).query).items()}
    source = query.get("utm_source", "").lower() or None
    medium = query.get("utm_medium", "").lower() or None
    host = urlsplit(referrer).hostname if referrer else None
    external = host is not None and host != SITE_HOST
    ref_source = host.removeprefix("www.").split(".")[0] if external else None
    paid = medium is not None and PAID_MEDIUM.match(medium) is not None

    def category(name: str | None) -> str | None:
        return "search" if name in SEARCH_SOURCES else "social" if name in SOCIAL_SOURCES else None

    if "gclid" in query or (paid and category(source) == "search"):
        return "Paid Search"
    if paid and category(source) == "social":
        return "Paid Social"
    if medium in ("email", "e-mail", "e_mail", "e mail") or source == "newsletter":
        return "Email"
    if not paid and "search" in (category(source), category(ref_source)):
        return "Organic Search"
    if not paid and "social" in (category(source), category(ref_source)):
        return "Organic Social"
    if medium == "referral" or external:
        return "Referral"
    if not any(k.startswith("utm_") or k.endswith("clid") for k in query) and not external:
        return "Direct"
    return "Unassigned"


SOURCE_CHANNEL = {
    "PAID_SEARCH": "Paid Search", "PAID_SOCIAL": "Paid Social", "ORGANIC_SEARCH": "Organic Search",
    "SOCIAL_MEDIA": "Organic Social", "EMAIL_MARKETING": "Email", "REFERRALS": "Referral",
    "DIRECT_TRAFFIC": "Direct", "OFFLINE": "Offline",
}  # fmt: skip


def test_classifier_reads_the_conventions() -> None:
    site = "https://www.smarketing-demo.com/es/sillas"
    assert classify_session(f"{site}?utm_source=Google&utm_medium=cpc&gclid=x", None) == "Paid Search"
    assert classify_session(f"{site}?utm_source=facebook&utm_medium=paid_social&fbclid=x", None) == "Paid Social"
    assert classify_session(f"{site}?fbclid=x", "https://www.facebook.com/") == "Organic Social"
    assert classify_session(f"{site}?utm_source=newsletter&utm_medium=email&utm_campaign=black%20friday", None) == "Email"
    assert classify_session(site, "https://www.google.com/") == "Organic Search"
    assert classify_session(site, "https://www.interiorismo-hoy.es/") == "Referral"
    assert classify_session(site, None) == "Direct"
    assert classify_session(f"{site}?utm_source=flyer&utm_medium=print", None) == "Unassigned"


def test_first_session_of_each_lead_has_its_channel(db) -> None:
    first_sessions = rows(db, """
        with links as (
            select distinct lower(trim(f.email)) email, f.anonymous_id from raw_web__form_submissions f
        ), ranked as (
            select c.contact_id, c.original_source, s.landing_page_url, s.referrer_url,
                   row_number() over (partition by c.contact_id order by s.session_started_at) as n
            from raw_crm__contacts c
            join links l on l.email = c.email
            join raw_web__sessions s on s.anonymous_id = l.anonymous_id
        )
        select original_source, landing_page_url, referrer_url from ranked where n = 1
    """)  # fmt: skip
    assert len(first_sessions) == rows(db, "select count(*) from raw_crm__contacts where original_source <> 'OFFLINE'")[0][0]
    mismatches = [r for r in first_sessions if classify_session(r[1], r[2]) != SOURCE_CHANNEL[r[0]]]
    assert mismatches == []


def test_session_channel_mix_has_every_channel(db) -> None:
    channels = {classify_session(u, r) for u, r in rows(db, "select landing_page_url, referrer_url from raw_web__sessions")}
    assert channels == {"Paid Search", "Paid Social", "Organic Search", "Organic Social", "Email", "Referral",
                        "Direct", "Unassigned"}  # fmt: skip


def test_lead_sessions_are_a_minority(db) -> None:
    share = rows(db, """
        select avg((anonymous_id in (select anonymous_id from raw_web__form_submissions))::int)
        from raw_web__sessions
    """)[0][0]  # fmt: skip
    assert 0.08 <= share <= 0.18


# --- ads ------------------------------------------------------------------------------------------


def test_paid_sessions_come_from_ads_with_enough_clicks_that_day(db) -> None:
    result = rows(db, """
        with paid as (
            select regexp_extract(landing_page_url, 'utm_source=([^&]+)', 1) as source,
                   regexp_extract(landing_page_url, 'utm_campaign=([^&]+)', 1) as campaign_id,
                   regexp_extract(landing_page_url, 'utm_content=([^&]+)', 1) as ad_id,
                   session_started_at::date as stat_day
            from raw_web__sessions where landing_page_url like '%utm_medium=cpc%' or landing_page_url like '%paid_social%'
        ), per_ad as (
            select lower(source) as source, campaign_id, ad_id, stat_day, count(*) as sessions from paid group by all
        ), stats as (
            select 'google' as source, campaign_id, ad_group_ad_ad_id ad_id, segments_date stat_day, metrics_clicks clicks
            from raw_google_ads__ad_stats
            union all
            select 'facebook', campaign_id, ad_id, date_start::date, clicks::bigint from raw_meta_ads__ad_insights
            union all
            select 'linkedin', campaign_id, replace(pivot_value, 'urn:li:sponsoredCreative:', ''), date_range_start,
                   clicks from raw_linkedin_ads__ad_analytics
        )
        select count(*), count(*) filter (where s.clicks is null), count(*) filter (where s.clicks < p.sessions),
               sum(p.sessions)
        from per_ad p left join stats s using (source, campaign_id, ad_id, stat_day)
    """)  # fmt: skip
    cells, missing_rows, short_clicks, sessions = result[0]
    assert cells > 100 and sessions > 1000
    assert missing_rows == 0
    assert short_clicks == 0


def test_ad_platform_shapes(db) -> None:
    (currencies,) = rows(db, """
        select list_distinct(list(customer_currency_code)) || list_distinct(list(customer_time_zone))
        from raw_google_ads__ad_stats
    """)[0]  # fmt: skip
    assert sorted(currencies) == ["EUR", "Europe/Madrid"]
    assert rows(db, "select distinct account_currency from raw_meta_ads__ad_insights") == [("USD",)]
    assert rows(db, "select distinct account_currency from raw_linkedin_ads__ad_analytics") == [("GBP",)]
    assert rows(db, """
        select count(*) from raw_meta_ads__ad_insights
        where date_start <> date_stop or try_cast(spend as decimal(18, 2)) is null
           or json_array_length(actions::json) is null
    """) == [(0,)]  # fmt: skip
    assert rows(db, "select count(*) filter (where metrics_cost_micros = 0) > 0 from raw_google_ads__ad_stats") == [(True,)]
    assert rows(db, """
        select count(*) from raw_google_ads__ad_stats
        where not regexp_full_match(campaign_id, '[0-9]+') or not regexp_full_match(ad_group_ad_ad_id, '[0-9]+')
    """) == [(0,)]  # fmt: skip
    # Some ads have no row on some days (inactive), rather than zero rows.
    (ads, days, stat_rows) = rows(db, """
        select count(distinct ad_group_ad_ad_id), count(distinct segments_date), count(*) from raw_google_ads__ad_stats
    """)[0]  # fmt: skip
    assert stat_rows < ads * days


# --- CRM ------------------------------------------------------------------------------------------


def test_stage_timestamps_are_ordered_and_not_in_the_future(db) -> None:
    bad = rows(db, f"""
        select count(*) from raw_crm__contacts
        where became_lead_at <> created_at
           or became_mql_at < became_lead_at or became_sql_at < became_mql_at
           or became_opportunity_at < became_sql_at or became_customer_at < became_opportunity_at
           or (became_sql_at is not null and became_mql_at is null)
           or (became_opportunity_at is not null and became_sql_at is null)
           or (became_customer_at is not null and became_opportunity_at is null)
           or greatest(created_at, became_mql_at, became_sql_at, became_opportunity_at, became_customer_at,
                       updated_at) >= timestamp '{CUTOFF}'
           or updated_at < created_at
    """)  # fmt: skip
    assert bad == [(0,)]
    stage_mismatch = rows(db, """
        select count(*) from raw_crm__contacts
        where lifecycle_stage <> case when became_customer_at is not null then 'customer'
                                      when became_opportunity_at is not null then 'opportunity'
                                      when became_sql_at is not null then 'salesqualifiedlead'
                                      when became_mql_at is not null then 'marketingqualifiedlead'
                                      else 'lead' end
    """)  # fmt: skip
    assert stage_mismatch == [(0,)]


def test_first_sales_touch_is_an_outbound_call_or_email_after_mql(db) -> None:
    bad = rows(db, """
        with first_touch as (
            select contact_id, arg_min(engagement_type, occurred_at) kind, arg_min(direction, occurred_at) direction,
                   min(occurred_at) first_at, count(*) n
            from raw_crm__engagements group by 1
        )
        select count(*) filter (where c.became_mql_at is null or f.first_at < c.became_mql_at
                                  or f.kind not in ('CALL', 'EMAIL') or f.direction <> 'OUTBOUND'
                                  or f.first_at > c.became_sql_at),
               count(*)
        from first_touch f join raw_crm__contacts c using (contact_id)
    """)  # fmt: skip
    assert bad[0][0] == 0 and bad[0][1] > 100
    never_contacted = rows(db, """
        select count(*) from raw_crm__contacts
        where became_mql_at < timestamp '2026-06-01' and contact_id not in (select contact_id from raw_crm__engagements)
    """)[0][0]  # fmt: skip
    assert never_contacted > 0


def test_owners_by_region_and_deals_per_opportunity(db) -> None:
    wrong_region = rows(db, """
        select count(*) from raw_crm__contacts c join raw_crm__owners o using (owner_id)
        where o.region <> case when c.country in ('GB', 'DE', 'NL') then 'EMEA-NORTH'
                               when c.country = 'US' then 'NA' else 'EMEA-SOUTH' end
    """)  # fmt: skip
    assert wrong_region == [(0,)]
    mismatched = rows(db, """
        select count(*) from raw_crm__contacts c full join raw_crm__deals d using (contact_id)
        where c.became_opportunity_at is distinct from d.created_at
          and (c.became_opportunity_at is not null or d.deal_id is not null)
    """)  # fmt: skip
    assert mismatched == [(0,)]
    bad_deals = rows(db, """
        select count(*) from raw_crm__deals d join raw_crm__contacts c using (contact_id)
        where d.pipeline <> 'default' or d.amount <= 0
           or d.currency_code <> case c.country when 'GB' then 'GBP' when 'US' then 'USD' else 'EUR' end
           or (d.deal_stage in ('closedwon', 'closedlost')) <> (d.closed_at is not null)
           or (d.deal_stage = 'closedlost') <> (d.closed_lost_reason is not null)
           or (d.deal_stage = 'closedwon') <> (c.became_customer_at is not null)
           or d.closed_at < d.created_at
    """)  # fmt: skip
    assert bad_deals == [(0,)]


# --- stores ---------------------------------------------------------------------------------------


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalised_phone(phone: str) -> str:
    return "+" + "".join(ch for ch in phone if ch.isdigit())


def store_matches(world: World) -> tuple[list[dict], dict[str, str]]:
    """Purchases with the contact each one matches (or None), computed with hashlib in Python."""
    contacts = world.tables[("raw_crm", "contacts")].to_pylist()
    by_email = {sha(c["email"].strip().lower()): c["contact_id"] for c in contacts}
    by_phone = {sha(normalised_phone(c["phone"])): c["contact_id"] for c in contacts if c["phone"]}
    members = world.tables[("raw_store", "loyalty_members")].to_pylist()
    by_card = {
        m["loyalty_id"]: by_email.get(m["email_sha256"]) or by_phone.get(m["phone_sha256"]) for m in members
    }
    purchases = world.tables[("raw_store", "purchases")].to_pylist()
    for p in purchases:
        ids = [p["customer_email_sha256"], p["customer_phone_sha256"], p["loyalty_id"]]
        assert sum(v is not None for v in ids) <= 1
        p["contact_id"] = (
            by_email.get(p["customer_email_sha256"]) or by_phone.get(p["customer_phone_sha256"])
            or by_card.get(p["loyalty_id"])
        )  # fmt: skip
    return purchases, {c["contact_id"]: c["country"] for c in contacts}


def test_store_purchases_match_contacts_by_hashes_and_cards(world: World) -> None:
    purchases, _ = store_matches(world)
    matched = [p for p in purchases if p["contact_id"]]
    methods = {
        "email": sum(p["customer_email_sha256"] is not None for p in matched),
        "phone": sum(p["customer_phone_sha256"] is not None for p in matched),
        "card": sum(p["loyalty_id"] is not None for p in matched),
    }
    assert all(n > 0 for n in methods.values()), methods
    unmatched_share = 1 - len(matched) / len(purchases)
    assert 0.2 <= unmatched_share <= 0.35
    # Matched buyers are store-closed opportunities: their deal stays open and they are not CRM customers.
    deals = {d["contact_id"]: d for d in world.tables[("raw_crm", "deals")].to_pylist()}
    for p in matched:
        deal = deals[p["contact_id"]]
        assert deal["deal_stage"] in ("contractsent", "decisionmakerboughtin")
        assert p["purchased_at"] >= deal["created_at"]


def test_contact_phones_are_messy_but_normalise_to_e164(world: World) -> None:
    phones = [c["phone"] for c in world.tables[("raw_crm", "contacts")].to_pylist() if c["phone"]]
    assert any(" " in p for p in phones) and any("(" in p for p in phones) and any("-" in p for p in phones)
    assert all(re.fullmatch(r"\+[0-9]{9,13}", normalised_phone(p)) and p.startswith("+") for p in phones)
    assert not any("(0)" in p for p in phones)


def test_customer_share_per_channel_matches_truth(world: World) -> None:
    purchases, _ = store_matches(world)
    store_first = {}
    for p in purchases:
        if p["contact_id"]:
            store_first[p["contact_id"]] = min(p["purchased_at"], store_first.get(p["contact_id"], p["purchased_at"]))
    crm_won = {d["contact_id"] for d in world.tables[("raw_crm", "deals")].to_pylist() if d["deal_stage"] == "closedwon"}
    old_enough = dt.datetime.combine(END, dt.time()) - dt.timedelta(days=120)
    totals: dict[str, list[int]] = {}
    for c in world.tables[("raw_crm", "contacts")].to_pylist():
        if c["created_at"] > old_enough:
            continue
        channel = SOURCE_CHANNEL[c["original_source"]]
        n_customers = totals.setdefault(channel, [0, 0])
        n_customers[0] += 1
        n_customers[1] += c["contact_id"] in crm_won or c["contact_id"] in store_first
    assert set(totals) == set(SOURCE_CHANNEL.values())
    for channel, (n, customers) in totals.items():
        p = world.truth.channels[channel].p_customer
        tolerance = 4 * math.sqrt(p * (1 - p) / n) + 0.01
        assert abs(customers / n - p) <= tolerance, (channel, n, customers / n, p)


def test_truth_holds_funnel_mix_and_owners(world: World) -> None:
    t = world.truth
    assert abs(sum(t.channel_mix.values()) - 1) < 1e-9
    for ch in t.channels.values():
        assert ch.p_customer == pytest.approx(ch.p_mql * ch.p_sql * ch.p_opp * ch.p_win)
    owners = world.tables[("raw_crm", "owners")].column("owner_id").to_pylist()
    assert set(t.owner_median_response_hours) == set(owners)
    assert t.row_counts == {f"{s}.{n}": tab.num_rows for (s, n), tab in world.tables.items()}
    assert isinstance(world.tables[("raw_web", "sessions")], pa.Table)
