"""An independent pandas implementation of docs/conventions.md, to check the dbt marts against.

It reads the demo world's Parquet exports (not the warehouse) and shares no code with dbt or the
generator: if both agree, the rules are implemented twice the same way.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TZ = "Europe/Madrid"
PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
EMAIL_MEDIUMS = {"email", "e-mail", "e_mail", "e mail"}
CRM_SOURCE_CHANNELS = {
    "PAID_SEARCH": "Paid Search",
    "PAID_SOCIAL": "Paid Social",
    "ORGANIC_SEARCH": "Organic Search",
    "SOCIAL_MEDIA": "Organic Social",
    "EMAIL_MARKETING": "Email",
    "REFERRALS": "Referral",
    "DIRECT_TRAFFIC": "Direct",
    "OFFLINE": "Offline",
}
OWN_HOST = "smarketing-demo.com"


def _source_categories() -> dict[str, str]:
    seed = pd.read_csv(ROOT / "dbt_project" / "seeds" / "ga4_source_categories.csv")
    return {s.lower(): c.replace("SOURCE_CATEGORY_", "") for s, c in zip(seed["source"], seed["source_category"])}


CATEGORIES = _source_categories()


def _category(source: str | None) -> str | None:
    if not source:
        return None
    source = source.lower()
    if source in CATEGORIES:
        return CATEGORIES[source]
    host = source.removeprefix("www.")
    return CATEGORIES.get(host) or CATEGORIES.get(host.split(".")[0])


def classify_session(landing_page_url: str, referrer_url: str | None) -> str:
    params = {k: unquote(v[0]).lower() for k, v in parse_qs(urlparse(landing_page_url).query).items()}
    medium, source = params.get("utm_medium"), params.get("utm_source")
    ref_host = urlparse(referrer_url).hostname if isinstance(referrer_url, str) and referrer_url else None
    if ref_host and ref_host.endswith(OWN_HOST):
        ref_host = None
    paid = bool(medium and PAID_MEDIUM.match(medium))
    source_cat = _category(source) or _category(ref_host)
    if "gclid" in params or (paid and source_cat == "SEARCH"):
        return "Paid Search"
    if paid and source_cat == "SOCIAL":
        return "Paid Social"
    if medium in EMAIL_MEDIUMS or source == "newsletter":
        return "Email"
    if source_cat == "SEARCH":
        return "Organic Search"
    if source_cat == "SOCIAL":
        return "Organic Social"
    if medium == "referral" or ref_host:
        return "Referral"
    if "fbclid" in params and not medium:
        return "Organic Social"  # Meta tags every outbound link; without a paid medium it is organic
    if not any(k.startswith("utm_") for k in params) and "li_fat_id" not in params:
        return "Direct"
    return "Unassigned"


def _sha256(values: pd.Series) -> pd.Series:
    return values.map(lambda v: hashlib.sha256(v.encode()).hexdigest() if isinstance(v, str) else None)


def _index(keys: pd.Series, values: pd.Series) -> dict[str, str]:
    """keys -> values, leaving out missing keys (a missing hash must match nobody)."""
    return {k: v for k, v in zip(keys, values) if isinstance(k, str)}


def _norm_email(s: pd.Series) -> pd.Series:
    return s.str.strip().str.lower()


def _norm_phone(s: pd.Series) -> pd.Series:
    return s.map(lambda v: "+" + re.sub(r"\D", "", v) if isinstance(v, str) else None)


def _week(ts: pd.Series) -> pd.Series:
    local = ts.dt.tz_localize("UTC").dt.tz_convert(TZ).dt.tz_localize(None)
    return (local - pd.to_timedelta(local.dt.weekday, unit="D")).dt.normalize()


def read_world(demo_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        f"{p.parent.name}.{p.stem}": pd.read_parquet(p)
        for p in sorted(Path(demo_dir).glob("raw_*/*.parquet"))
    }


def lead_channels(world: dict[str, pd.DataFrame]) -> pd.Series:
    contacts = world["raw_crm.contacts"]
    forms = world["raw_web.form_submissions"].assign(email_norm=lambda d: _norm_email(d["email"]))
    email_to_contact = _index(_norm_email(contacts["email"]), contacts["contact_id"])
    forms["contact_id"] = forms["email_norm"].map(email_to_contact)
    visitor_contact = forms.dropna(subset=["contact_id"])[["anonymous_id", "contact_id"]].drop_duplicates()
    sessions = world["raw_web.sessions"].merge(visitor_contact, on="anonymous_id")
    first = sessions.sort_values(["session_started_at", "session_id"]).drop_duplicates("contact_id")
    first_channel = pd.Series(
        [classify_session(u, r) for u, r in zip(first["landing_page_url"], first["referrer_url"])],
        index=first["contact_id"].values,
    )
    fallback = contacts.set_index("contact_id")["original_source"].map(CRM_SOURCE_CHANNELS).fillna("Unassigned")
    return first_channel.reindex(fallback.index).fillna(fallback)


def sales(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Won deals and in-store purchases, with lead, time and amount in EUR."""
    contacts = world["raw_crm.contacts"]
    deals = world["raw_crm.deals"]
    won = deals[deals["deal_stage"] == "closedwon"]
    crm = pd.DataFrame(
        {"lead_id": won["contact_id"], "sold_at": won["closed_at"], "amount": won["amount"].astype(float),
         "currency_code": won["currency_code"], "sale_type": "crm_deal"}
    )
    by_email = _index(_sha256(_norm_email(contacts["email"])), contacts["contact_id"])
    by_phone = _index(_sha256(_norm_phone(contacts["phone"])), contacts["contact_id"])
    members = world["raw_store.loyalty_members"]
    loyalty = {
        lid: by_email.get(e) or by_phone.get(p)
        for lid, e, p in zip(members["loyalty_id"], members["email_sha256"], members["phone_sha256"])
    }
    purchases = world["raw_store.purchases"]
    lead = (
        purchases["customer_email_sha256"].map(by_email)
        .fillna(purchases["customer_phone_sha256"].map(by_phone))
        .fillna(purchases["loyalty_id"].map(loyalty))
    )
    store = pd.DataFrame(
        {"lead_id": lead, "sold_at": purchases["purchased_at"], "amount": purchases["amount"].astype(float),
         "currency_code": purchases["currency_code"], "sale_type": "in_store"}
    )
    out = pd.concat([crm, store], ignore_index=True)
    fx = pd.read_csv(ROOT / "dbt_project" / "seeds" / "fx_rates.csv", parse_dates=["rate_month"])
    out["rate_month"] = out["sold_at"].dt.to_period("M").dt.to_timestamp()
    out = out.merge(fx, on=["currency_code", "rate_month"], how="left")
    assert out["rate_to_eur"].notna().all(), "a sale has no FX rate"
    out["amount_eur"] = out["amount"] * out["rate_to_eur"]
    return out


def leads(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    contacts = world["raw_crm.contacts"].set_index("contact_id")
    out = pd.DataFrame(
        {
            "lead_at": contacts["became_lead_at"],
            "mql_at": contacts["became_mql_at"],
            "sql_at": contacts["became_sql_at"],
            "opportunity_at": contacts["became_opportunity_at"],
        }
    )
    out["channel"] = lead_channels(world)
    first_sale = sales(world).dropna(subset=["lead_id"]).groupby("lead_id")["sold_at"].min()
    out["customer_at"] = first_sale.reindex(out.index)
    return out


def weekly_funnel(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Period counts per ISO week (reporting time zone) and lead channel, plus revenue."""
    lead_frame = leads(world)
    parts = []
    for stage, column in [("leads", "lead_at"), ("mqls", "mql_at"), ("sqls", "sql_at"),
                          ("opportunities", "opportunity_at"), ("customers", "customer_at")]:
        events = lead_frame.dropna(subset=[column])
        parts.append(
            events.assign(week_start=_week(events[column]))
            .groupby(["week_start", "channel"]).size().rename(stage)
        )
    sale_frame = sales(world).dropna(subset=["lead_id"])
    sale_frame["channel"] = sale_frame["lead_id"].map(lead_frame["channel"])
    revenue = (
        sale_frame.assign(week_start=_week(sale_frame["sold_at"]))
        .groupby(["week_start", "channel"])["amount_eur"].sum().rename("revenue")
    )
    out = pd.concat([*parts, revenue], axis=1).fillna(0)
    out["lead_to_sale_rate"] = np.where(out["leads"] > 0, out["customers"] / out["leads"].where(out["leads"] > 0), np.nan)
    return out.sort_index()
