"""A seeded synthetic company whose ad platforms, website, CRM and store tills tell one coherent story.

Everything is vectorised (numpy arrays of codes and microsecond timestamps, pyarrow compute for strings);
the only Python loops run over a small fixed number of channels, countries, platforms or ads. Each part
of the world draws from its own child random generator, so changing one part leaves the others intact.

The world follows docs/conventions.md: session channels are encoded in landing URLs and referrers exactly
as the channel rules read them, leads' first sessions carry their true channel, and in-store purchases of
leads are identifiable by hashed e-mail, hashed phone or loyalty id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import queue
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel

from ingestion.raw_schema import RAW_TABLES

US_PER_S = 1_000_000
US_PER_MIN = 60 * US_PER_S
US_PER_H = 60 * US_PER_MIN
US_PER_D = 24 * US_PER_H
EPOCH = dt.date(1970, 1, 1)

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "DECIMAL(18,2)": pa.decimal128(18, 2),
}

# ---------------------------------------------------------------------------------------------------
# The company's fixed facts
# ---------------------------------------------------------------------------------------------------

CHANNELS = [
    "Paid Search", "Paid Social", "Organic Search", "Organic Social",
    "Email", "Referral", "Direct", "Offline", "Unassigned",
]  # fmt: skip
PAID_SEARCH, PAID_SOCIAL, ORGANIC_SEARCH, ORGANIC_SOCIAL, EMAIL, REFERRAL, DIRECT, OFFLINE, UNASSIGNED = range(9)
ORIGINAL_SOURCE = [
    "PAID_SEARCH", "PAID_SOCIAL", "ORGANIC_SEARCH", "SOCIAL_MEDIA",
    "EMAIL_MARKETING", "REFERRALS", "DIRECT_TRAFFIC", "OFFLINE",
]  # fmt: skip

# True funnel per lead channel: P(MQL|lead), P(SQL|MQL), P(opportunity|SQL), P(won|opportunity).
FUNNEL: dict[int, tuple[float, float, float, float]] = {
    PAID_SEARCH: (0.45, 0.60, 0.45, 0.35),
    PAID_SOCIAL: (0.30, 0.45, 0.35, 0.25),
    ORGANIC_SEARCH: (0.35, 0.55, 0.40, 0.30),
    ORGANIC_SOCIAL: (0.25, 0.40, 0.35, 0.25),
    EMAIL: (0.50, 0.60, 0.50, 0.40),
    REFERRAL: (0.40, 0.65, 0.50, 0.40),
    DIRECT: (0.35, 0.50, 0.40, 0.30),
    OFFLINE: (0.60, 0.70, 0.50, 0.40),
}
LEAD_CHANNEL_MIX = np.array([0.30, 0.20, 0.20, 0.05, 0.08, 0.07, 0.05, 0.05])  # codes 0..7
# Sessions of visitors who never convert (codes 0..6 and Unassigned) and later sessions of leads.
NON_LEAD_SESSION_CODES = np.array([0, 1, 2, 3, 4, 5, 6, UNASSIGNED])
NON_LEAD_SESSION_MIX = np.array([0.24, 0.14, 0.28, 0.06, 0.05, 0.06, 0.16, 0.01])
LATER_SESSION_MIX = np.array([0.15, 0.08, 0.17, 0.03, 0.15, 0.02, 0.40])  # codes 0..6
SESSIONS_BEFORE_LEAD_P = np.array([0.78, 0.12, 0.05, 0.03, 0.02])  # 1..5 sessions up to the form
SECOND_FORM_SHARE = 0.10
SECOND_FORM_NEW_DEVICE_SHARE = 0.30
META_SHARE_OF_PAID_SOCIAL = 0.70
CONTACTED_SHARE_OF_UNQUALIFIED_MQLS = 0.80
STORE_CLOSE_SHARE = 0.60
REPEAT_STORE_PURCHASE_SHARE = 0.20
WALK_IN_SHARE = 0.275  # of all store purchases

COUNTRIES = ["ES", "GB", "PT", "US", "FR", "DE", "MX", "IT", "NL"]
CONTACT_COUNTRY_MIX = np.array([0.50, 0.17, 0.12, 0.12, 0.04, 0.03, 0.02, 0.0, 0.0])
SESSION_COUNTRY_MIX = np.array([0.44, 0.15, 0.10, 0.15, 0.04, 0.04, 0.03, 0.03, 0.02])
REGION_OF_COUNTRY = ["EMEA-SOUTH", "EMEA-NORTH", "EMEA-SOUTH", "NA", "EMEA-SOUTH", "EMEA-NORTH",
                     "EMEA-SOUTH", "EMEA-SOUTH", "EMEA-NORTH"]  # fmt: skip
CURRENCY_OF_COUNTRY = ["EUR", "GBP", "EUR", "USD", "EUR", "EUR", "EUR", "EUR", "EUR"]
FX_PER_EUR = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08}  # rough rates used to price store purchases
SITE_LANGUAGE_OF_COUNTRY = [0, 1, 2, 1, 1, 1, 0, 1, 1]  # 0 es, 1 en, 2 pt
NAME_GROUP_OF_COUNTRY = [0, 2, 1, 2, 3, 4, 0, 2, 2]  # 0 es, 1 pt, 2 en, 3 fr, 4 de
COMPANY_TLD = [".es", ".co.uk", ".pt", ".com", ".fr", ".de", ".com.mx", ".it", ".nl"]
COMPANY_SUFFIX = [" S.L.", " Ltd", " Lda", " Inc.", " SARL", " GmbH", " S.A. de C.V.", " S.r.l.", " B.V."]

FIRST_NAMES = [
    ["José", "María", "Javier", "Lucía", "Álvaro", "Carmen", "Sergio", "Laura", "Andrés", "Marta",
     "Raúl", "Inés", "Pablo", "Nuria", "Jesús", "Begoña", "Íñigo", "Sofía", "Miguel", "Rocío"],
    ["João", "Maria", "António", "Ana", "Gonçalo", "Inês", "Tomás", "Beatriz", "Luís", "Mariana",
     "Rui", "Conceição", "Sérgio", "Filipa"],
    ["James", "Olivia", "Oliver", "Emma", "William", "Amelia", "Harry", "Sophie", "Jack", "Charlotte",
     "Michael", "Emily", "Daniel", "Grace", "Ethan", "Zoë"],
    ["Élodie", "François", "Camille", "Théo", "Hélène", "Jérôme", "Chloé", "Benoît"],
    ["Jürgen", "Lena", "Lukas", "Anna", "Jörg", "Sophie", "Maximilian", "Käthe"],
]  # fmt: skip
LAST_NAMES = [
    ["García", "Muñoz", "Ibáñez", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz",
     "Álvarez", "Romero", "Navarro", "Ruiz", "Jiménez", "Gil", "Serrano", "Cañizares", "Peña", "Domínguez"],
    ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Gonçalves",
     "Simões", "Magalhães", "Lourenço", "Araújo", "Falcão"],
    ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
     "Thompson", "Evans", "Walker", "O'Brien", "Murphy", "Clarke"],
    ["Dubois", "Lefèvre", "Moreau", "Girard", "Bérenger", "Rousseau", "Fontaine", "Chevalier"],
    ["Müller", "Schmidt", "Schröder", "Weiß", "Fischer", "Köhler", "Becker", "Hoffmann"],
]  # fmt: skip
COMPANY_WORDS = [
    ["Muebles", "Oficinas", "Interiores", "Espacios", "Diseño"],
    ["Móveis", "Escritórios", "Interiores", "Espaços"],
    ["Office", "Workspace", "Interiors", "Design", "Partners"],
    ["Bureaux", "Mobilier", "Espaces"],
    ["Büro", "Möbel", "Raumdesign"],
]  # fmt: skip
PERSONAL_EMAIL_DOMAINS = ["gmail.com", "hotmail.com", "outlook.com", "yahoo.es"]
PERSONAL_EMAIL_SHARE = 0.25
INDUSTRIES = ["Technology", "Financial Services", "Healthcare", "Education", "Legal Services",
              "Real Estate", "Manufacturing", "Hospitality"]  # fmt: skip
EMPLOYEE_BANDS = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 20000)]
EMPLOYEE_BAND_MIX = np.array([0.25, 0.30, 0.20, 0.12, 0.08, 0.05])
JOB_ROLES = ["executive", "manager", "individual_contributor", "student", "other"]
JOB_ROLE_MIX = np.array([0.15, 0.35, 0.35, 0.03, 0.12])
JOB_TITLES = [
    ["CEO", "Managing Director", "Director General", "COO", "CFO"],
    ["Office Manager", "Facilities Manager", "Head of Procurement", "Responsable de Compras"],
    ["Procurement Specialist", "Interior Designer", "Architect", "Administrative Assistant"],
    ["Student"],
    ["Freelancer", "Consultant"],
]  # fmt: skip

# (first name, last name, region, median hours to first contact): the sales team.
OWNERS = [
    ("Lucía", "Fernández", "EMEA-SOUTH", 1.5), ("Javier", "Muñoz", "EMEA-SOUTH", 3.0),
    ("Carmen", "Ibáñez", "EMEA-SOUTH", 5.0), ("Álvaro", "Serrano", "EMEA-SOUTH", 8.0),
    ("João", "Magalhães", "EMEA-SOUTH", 12.0), ("Inês", "Araújo", "EMEA-SOUTH", 24.0),
    ("Oliver", "Clarke", "EMEA-NORTH", 2.0), ("Amelia", "Wright", "EMEA-NORTH", 6.0),
    ("Jürgen", "Köhler", "EMEA-NORTH", 18.0), ("Michael", "O'Brien", "NA", 1.0),
    ("Emily", "Johnson", "NA", 4.0), ("Daniel", "Walker", "NA", 36.0),
]  # fmt: skip
INACTIVE_OWNER = 11  # left the company recently but still owns contacts

STORES = [  # (store_id, name, country, currency)
    ("ES-MAD-01", "Smarketing Madrid", "ES", "EUR"),
    ("ES-BCN-01", "Smarketing Barcelona", "ES", "EUR"),
    ("ES-VLC-01", "Smarketing Valencia", "ES", "EUR"),
    ("PT-LIS-01", "Smarketing Lisboa", "PT", "EUR"),
    ("GB-LON-01", "Smarketing London", "GB", "GBP"),
    ("US-NYC-01", "Smarketing New York", "US", "USD"),
]
# Which store a customer from each country (COUNTRIES order) visits; nearest for countries without one.
STORE_OF_COUNTRY_P = np.array([
    [0.5, 0.3, 0.2, 0, 0, 0], [0, 0, 0, 0, 1, 0], [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1],
    [0.3, 0.7, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0],
])  # fmt: skip
WALK_IN_STORE_MIX = np.array([0.30, 0.20, 0.10, 0.12, 0.15, 0.13])

SITE = "https://www.smarketing-demo.com/"
SITE_LANGUAGES = ["es", "en", "pt"]
PAGE_SLUGS = [
    ["", "sillas", "mesas", "escritorios-elevables", "almacenaje", "iluminacion", "contacto"],
    ["", "chairs", "desks", "standing-desks", "storage", "lighting", "contact"],
    ["", "cadeiras", "mesas", "secretarias-elevatorias", "arrumacao", "iluminacao", "contacto"],
]  # fmt: skip
PAGE_TITLES = [
    ["Smarketing | Mobiliario de oficina", "Sillas de oficina", "Mesas de oficina", "Escritorios elevables",
     "Almacenaje", "Iluminación", "Contacto"],
    ["Smarketing | Office furniture", "Office chairs", "Office desks", "Standing desks", "Storage",
     "Lighting", "Contact us"],
    ["Smarketing | Mobiliário de escritório", "Cadeiras de escritório", "Mesas", "Secretárias elevatórias",
     "Arrumação", "Iluminação", "Contacto"],
]  # fmt: skip
CONTACT_PAGE = 6
# A page's code is language * len(PAGE_SLUGS[0]) + slug.
PAGE_URLS = [f"{SITE}{SITE_LANGUAGES[li]}/{slug}" for li, slugs in enumerate(PAGE_SLUGS) for slug in slugs]
PAGE_TITLE_OF = [title for titles in PAGE_TITLES for title in titles]
FORM_NAMES = ["demo_request", "contact_us", "ebook_download", "newsletter"]
FIRST_FORM_MIX = np.array([0.35, 0.30, 0.20, 0.15])
EMAIL_CAMPAIGNS = ["nov_promo", "black%20friday", "spring_catalogue", "welcome_series"]
REFERRERS = [
    "https://www.interiorismo-hoy.es/", "https://blog.officedesign.co.uk/articles/best-chairs",
    "https://www.arquitectura-viva.pt/", "https://www.workplace-insider.com/reviews",
    "https://www.coworking-guide.com/",
]  # fmt: skip
REFERRAL_UTM_SOURCES = ["interiorismo_hoy", "officedesign_blog", "workplace_insider"]
DEVICE_CATEGORIES = ["desktop", "mobile", "tablet"]
DEVICE_MIX = np.array([0.55, 0.40, 0.05])

# Phone numbers per country: country code, national prefixes, random digits after the prefix and the
# digit groups of the national number used by the spaced/dashed formats. The normalised phone is
# always '+' + code + national number, i.e. exactly the digits of the stored string.
PHONE_PLANS = [
    ("34", ["6", "7", "9"], 8, [3, 2, 2, 2]),
    ("44", ["77", "79", "20"], 8, [4, 6]),
    ("351", ["91", "93", "21"], 7, [3, 3, 3]),
    ("1", ["212", "646", "415"], 7, [3, 3, 4]),
    ("33", ["6", "7"], 8, [1, 2, 2, 2, 2]),
    ("49", ["151", "170"], 7, [3, 7]),
    ("52", ["55", "33"], 8, [2, 4, 4]),
    ("39", ["33"], 8, [3, 3, 4]),
    ("31", ["6"], 8, [1, 4, 4]),
]
PHONE_SHARE = 0.85
# Sessions per chunk of the web tables: 2**19 sessions have ~980k page views, so each chunk of either
# table is one Parquet row group (at most 1Mi rows) and a few hundred MB of strings at most.
WEB_CHUNK_SESSIONS = 524_288

# Sales' reasons for turning an MQL down; the last two are not on the default agreement's list (a
# soft-rule breach the checks report), and a few disqualified contacts carry no reason at all.
DISQUALIFICATION_REASONS = ["Not a decision maker", "No budget", "Bad timing", "Outside target market",
                            "Student or job seeker", "Unreachable", "Duplicate", "Other", "Not interested"]  # fmt: skip
DISQUALIFICATION_REASON_MIX = np.array([0.20, 0.18, 0.16, 0.14, 0.06, 0.14, 0.04, 0.05, 0.03])
DISQUALIFICATION_REASON_MISSING_SHARE = 0.03
LOST_REASONS = ["Price", "Competitor", "No budget", "Timing", "No decision", "Went dark"]
OPEN_DEAL_STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                    "decisionmakerboughtin", "contractsent"]  # fmt: skip
STORE_WON_DEAL_STAGES = ["contractsent", "decisionmakerboughtin"]
# Some returning leads type another (personal) e-mail on their second form: the CRM created a
# duplicate contact that sales merged into the original within two days (raw_crm.contact_merges).
MERGED_SHARE_OF_SECOND_FORMS = 0.4
MERGED_CONTACT_ID_START = 50_000_001


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------


class WorldParams(BaseModel):
    scale: float
    seed: int
    end_date: dt.date
    days: int


class ChannelTruth(BaseModel):
    lead_share: float
    p_mql: float
    p_sql: float
    p_opp: float
    p_win: float
    p_customer: float
    original_source: str


class OwnerTruth(BaseModel):
    name: str
    region: str
    median_response_hours: float


class AdAccountTruth(BaseModel):
    platform: str
    account_id: str
    currency: str
    time_zone: str


class AttributionTruth(BaseModel):
    """What caused each web lead: the channel of its first session. Later sessions, second forms and
    sessions of visitors who never convert are causally inert, so a channel's true share of web-lead
    conversions is its share of web leads' first-session channels."""

    causal_rule: str
    lead_channel_share: dict[str, float]  # design mix over web channels (Offline excluded)
    realised_lead_channel_share: dict[str, float]  # the drawn people's mix over web channels
    merged_contacts: int


class Truth(BaseModel):
    params: WorldParams
    channels: dict[str, ChannelTruth]
    channel_mix: dict[str, float]
    store_close_share: float
    repeat_store_purchase_share: float
    walk_in_share_target: float
    owner_median_response_hours: dict[str, float]
    owners: dict[str, OwnerTruth]
    ad_accounts: list[AdAccountTruth]
    fx_per_eur: dict[str, float]
    notes: list[str]
    row_counts: dict[str, int]
    attribution: AttributionTruth | None = None


@dataclass
class World:
    tables: dict[tuple[str, str], pa.Table]
    truth: Truth
    params: WorldParams


@dataclass
class WorldSummary:
    """What build_world wrote: rows per table (contract order), the truth and the files."""

    rows: dict[str, int]
    truth: Truth
    params: WorldParams
    files: dict[str, Path]


def generate_world(
    scale: float = 0.05, seed: int = 42, end_date: dt.date = dt.date(2026, 11, 22), days: int = 365
) -> World:
    """Generate the whole company in memory: every raw table in the contract plus the truth it was drawn
    from. Fine for small scales (tests); build_world streams large worlds to disk instead."""
    params = WorldParams(scale=scale, seed=seed, end_date=end_date, days=days)
    sink = _MemorySink()
    truth = _build(params, sink)
    return World(tables=sink.tables(), truth=truth, params=params)


def build_world(
    out_dir: str | Path, scale: float = 0.05, seed: int = 42, end_date: dt.date = dt.date(2026, 11, 22),
    days: int = 365,
) -> WorldSummary:  # fmt: skip
    """Generate the world straight to <out>/<schema>/<table>.parquet and truth.json, the same data as
    generate_world + write_world, but the web tables go to disk chunk by chunk as they are built, so
    memory stays bounded at large scales."""
    params = WorldParams(scale=scale, seed=seed, end_date=end_date, days=days)
    with _ParquetSink(Path(out_dir)) as sink:
        truth = _build(params, sink)
    files = {name: sink.files[name] for name in truth.row_counts}  # contract order
    files["truth"] = _write_truth(truth, Path(out_dir))
    return WorldSummary(rows=dict(truth.row_counts), truth=truth, params=params, files=files)


def write_world(world: World, out_dir: str | Path) -> dict[str, Path]:
    """Write one Parquet file per table to <out>/<schema>/<table>.parquet and the truth to truth.json."""
    with _ParquetSink(Path(out_dir)) as sink:
        for key, data in world.tables.items():
            sink.add(key, data)
    return {**sink.files, "truth": _write_truth(world.truth, Path(out_dir))}


def _build(params: WorldParams, sink: _Sink) -> Truth:
    """Draw the world and hand every table to the sink; the big web tables arrive in chunks."""
    clock = _Clock(params.end_date, params.days)
    rngs = _Rngs(params.seed)
    owners = _owners(rngs.get("owners"))
    people = _people(rngs.get("people"), clock, _scaled(100_000, params.scale, params.days, minimum=20))
    ads = _ad_catalogue(rngs.get("ads"), clock)
    n_sessions = _scaled(1_000_000, params.scale, params.days, minimum=200)
    web = _web(rngs.get("web"), clock, people, ads, n_sessions, sink)
    people.created_us = web.lead_created_us
    for key, table in _ad_tables(rngs.get("ad_stats"), clock, ads, web).items():
        sink.add(key, table)
    forms = web.forms
    del web  # the per-session arrays were only needed for the ad stats
    funnel = _funnel(rngs.get("funnel"), clock, people, owners)
    for key, table in _store(rngs.get("store"), clock, people, funnel).items():
        sink.add(key, table)
    tables = _crm_tables(rngs.get("crm"), clock, people, owners, funnel, rngs.get("disqualification"))
    forms, merges = _contact_merges(rngs.get("merges"), clock, forms, tables[("raw_crm", "contacts")])
    tables[("raw_crm", "deal_stage_history")] = _deal_stage_history(tables[("raw_crm", "deals")])
    tables[("raw_crm", "owners")] = owners.table
    tables[("raw_crm", "contact_merges")] = merges
    tables[("raw_web", "form_submissions")] = forms
    for key, table in tables.items():
        sink.add(key, table)
    row_counts = {f"{s}.{t}": sink.rows[(s, t)] for s, t in _contract_keys()}
    truth = _truth(params, owners, ads, row_counts)
    truth.attribution = _attribution_truth(people, merges.num_rows)
    return truth


class _Sink:
    """Receives each table, whole or in consecutive chunks, and counts its rows."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], int] = {}

    def add(self, key: tuple[str, str], part: pa.Table) -> None:
        self.rows[key] = self.rows.get(key, 0) + part.num_rows
        self._add(key, part)

    def _add(self, key: tuple[str, str], part: pa.Table) -> None:
        raise NotImplementedError


class _MemorySink(_Sink):
    """Keeps every table, its chunks concatenated (without copying)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: dict[tuple[str, str], list[pa.Table]] = {}

    def _add(self, key: tuple[str, str], part: pa.Table) -> None:
        self.parts.setdefault(key, []).append(part)

    def tables(self) -> dict[tuple[str, str], pa.Table]:
        return {key: pa.concat_tables(self.parts[key]) for key in _contract_keys()}  # contract order


class _ParquetSink(_Sink):
    """One Parquet file per table; each chunk becomes row groups as it arrives and is then dropped.

    Encoding and compressing a chunk (Arrow releases the GIL) runs on a writer thread of its table
    while the next chunk is being generated: the sessions and page views, interleaved chunk by chunk,
    are encoded side by side (encoding is single-threaded per file, and a single writer left the
    generator waiting on it for a quarter of its time). At most `queued` chunks wait per table, so
    memory stays bounded. Chunks of a table are written in the order they arrive, so the files hold
    exactly the same rows either way."""

    def __init__(self, out: Path, queued: int = 1) -> None:
        super().__init__()
        self.out = out
        self.files: dict[str, Path] = {}
        self._queued = queued
        self._writers: dict[tuple[str, str], tuple[queue.Queue[pa.Table | None], threading.Thread]] = {}
        self._error: BaseException | None = None

    def _add(self, key: tuple[str, str], part: pa.Table) -> None:
        if self._error is not None:
            raise RuntimeError("writing the Parquet files failed") from self._error
        path = self.out / key[0] / f"{key[1]}.parquet"
        self.files.setdefault(f"{key[0]}.{key[1]}", path)
        if key not in self._writers:
            chunks: queue.Queue[pa.Table | None] = queue.Queue(maxsize=self._queued)
            thread = threading.Thread(
                target=self._write_loop, args=(path, chunks), name=f"parquet-{key[1]}", daemon=True
            )
            thread.start()
            self._writers[key] = (chunks, thread)
        self._writers[key][0].put(part)

    def _write_loop(self, path: Path, chunks: queue.Queue[pa.Table | None]) -> None:
        writer: pq.ParquetWriter | None = None
        try:
            while (part := chunks.get()) is not None:
                if self._error is not None:
                    continue  # drain: the producer raises on its next add or at exit
                try:
                    if writer is None:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        writer = pq.ParquetWriter(path, part.schema, compression="zstd")
                    writer.write_table(part)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the producer's thread
                    self._error = exc
                del part
        finally:
            if writer is not None:
                writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for chunks, _ in self._writers.values():
            chunks.put(None)
        for _, thread in self._writers.values():
            thread.join()
        if self._error is not None and exc_type is None:
            raise RuntimeError("writing the Parquet files failed") from self._error


def _write_truth(truth: Truth, out: Path) -> Path:
    path = out / "truth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(truth.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------


class _Clock:
    """Day indexes 0..days-1 ending on end_date; everything is microseconds since the Unix epoch (UTC)."""

    def __init__(self, end_date: dt.date, days: int) -> None:
        self.days = days
        self.start_date = end_date - dt.timedelta(days=days - 1)
        self.start_us = (self.start_date - EPOCH).days * US_PER_D
        self.cutoff_us = ((end_date - EPOCH).days + 1) * US_PER_D  # end of end_date: later events pending
        self.dates = [self.start_date + dt.timedelta(days=i) for i in range(days)]

    def day_us(self, day: np.ndarray) -> np.ndarray:
        return self.start_us + day.astype(np.int64) * US_PER_D

    def day_weights(self) -> np.ndarray:
        """Traffic seasonality: quieter weekends and August, busy Black Friday week and January."""
        weekday = np.array([d.weekday() for d in self.dates])
        month = np.array([d.month for d in self.dates])
        w = np.where(weekday < 5, 1.15, 0.72)
        w = w * np.where(month == 8, 0.7, 1.0) * np.where(month == 1, 1.15, 1.0)
        for i, d in enumerate(self.dates):
            if d.month == 11 and 20 <= d.day <= 30:  # around Black Friday
                w[i] *= 1.8
        return w / w.sum()


class _Rngs:
    """Independent child generators per part of the world, derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def get(self, name: str) -> np.random.Generator:
        salt = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
        return np.random.default_rng([self.seed, salt])


def _scaled(per_year_at_scale_1: int, scale: float, days: int, minimum: int) -> int:
    return max(minimum, round(per_year_at_scale_1 * scale * days / 365))


def _contract_keys() -> list[tuple[str, str]]:
    return [(schema, table) for schema, tables in RAW_TABLES.items() for table in tables]


# Two hex characters per byte value, as little-endian uint16 so a byte matrix maps straight to text.
_HEX_PAIRS = np.array([ord(f"{b:02x}"[0]) | ord(f"{b:02x}"[1]) << 8 for b in range(256)], dtype="<u2")


def _rand_bytes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """The random bytes behind n hex strings of even `width`, one row per string; 10-16 bytes per row
    instead of a 20-32 character string, so the web part keeps these and formats them chunk by chunk."""
    if width % 2:
        raise ValueError("hex width must be even")
    return np.frombuffer(rng.bytes(n * width // 2), dtype=np.uint8).reshape(n, width // 2)


def _hex(rows: np.ndarray) -> pa.StringArray:
    """Lowercase hex string per row of a byte matrix, built straight into Arrow buffers."""
    return _fixed_width_strings(_hex_chars(rows))


def _hex_chars(rows: np.ndarray) -> np.ndarray:
    """The hex characters of each row of a byte matrix, as a matrix of ASCII codes (two per byte)."""
    return np.ascontiguousarray(_HEX_PAIRS[rows]).view(np.uint8).reshape(rows.shape[0], 2 * rows.shape[1])


def _fixed_width_strings(chars: np.ndarray) -> pa.StringArray:
    """One string per row of a matrix of ASCII codes."""
    n, width = chars.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def _rand_hex(rng: np.random.Generator, n: int, width: int) -> pa.StringArray:
    """n random lowercase hex strings of even `width` characters."""
    return _hex(_rand_bytes(rng, n, width))


def _decode(codes: np.ndarray, labels: list[str], null_mask: np.ndarray | None = None) -> pa.Array:
    """Label per code (vectorised through an Arrow dictionary); masked positions become null."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=null_mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels, pa.string())).dictionary_decode()


def _num(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def _assemble(n: int, pieces: list[tuple[np.ndarray, pa.Array]], default: str | None) -> pa.Array:
    """Scatter per-subset string arrays back into one array of length n (default elsewhere)."""
    covered = np.zeros(n, dtype=bool)
    idx_parts, arrays = [], []
    for idx, arr in pieces:
        covered[idx] = True
        idx_parts.append(idx)
        arrays.append(arr)
    rest = np.nonzero(~covered)[0]
    idx_parts.append(rest)
    arrays.append(pa.nulls(rest.size, pa.string()) if default is None else _const(rest.size, default))
    order = np.concatenate(idx_parts)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    return pa.concat_arrays([a.cast(pa.string()) for a in arrays]).take(pa.array(position))


def _const(n: int, value: str) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value])).dictionary_decode()


def _cents_str(cents: np.ndarray) -> pa.Array:
    """'123.45' from integer cents (non-negative)."""
    cents = np.asarray(cents, dtype=np.int64)
    return _join(_num(cents // 100), ".", pc.utf8_lpad(_num(cents % 100), 2, "0"))


def _decimal(cents: np.ndarray) -> pa.Array:
    return _cents_str(cents).cast(pa.decimal128(18, 2))


def _ts(us: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64).view("datetime64[us]"), pa.timestamp("us"), mask=null_mask)


def _sha256_hex(values: pa.Array) -> pa.Array:
    """sha256 hex digest per string (null stays null); hashlib runs ~2M values/s, fine for till data."""
    return pa.array(
        [None if v is None else hashlib.sha256(v.encode()).hexdigest() for v in values.to_pylist()],
        pa.string(),
    )


def _ascii_fold(text: str) -> str:
    """E-mail-safe form of a name: 'Muñoz' -> 'munoz', 'Weiß' -> 'weiss', "O'Brien" -> 'obrien'."""
    text = text.replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _pick_in_group(rng: np.random.Generator, group: np.ndarray, sizes: list[int]) -> np.ndarray:
    """A uniform index into a concatenated list of per-group lists, for each element's group."""
    counts = np.array(sizes)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return offsets[group] + np.floor(rng.random(group.size) * counts[group]).astype(np.int64)


def _choice_by_row(rng: np.random.Generator, rows: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Draw a column for each element from probs[row] (a small matrix of categorical distributions)."""
    cum = np.cumsum(probs, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(rows.size)
    return (u[:, None] >= cum[rows]).sum(axis=1).clip(0, probs.shape[1] - 1)


def _rank_within(key: np.ndarray) -> np.ndarray:
    """0 for the first element of each key value (in array order), 1 for the second, ..."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    group_start = np.maximum.accumulate(np.where(starts, np.arange(key.size), 0))
    rank = np.empty(key.size, dtype=np.int64)
    rank[order] = np.arange(key.size) - group_start
    return rank


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For groups of the given sizes: owner group per element, position within group, group starts."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    position = np.arange(owner.size) - starts[owner]
    return owner, position, starts


def _time_of_day_us(rng: np.random.Generator, n: int) -> np.ndarray:
    """Web activity between 02:00 and 21:30 UTC (peaking mid-day), so a session's calendar day is the
    same in UTC, Europe/London and Europe/Madrid: paid clicks land on the ad platforms' stats day."""
    return (2 * US_PER_H + rng.beta(2.0, 2.0, n) * 19.5 * US_PER_H).astype(np.int64)


def _table(schema: str, table: str, columns: dict[str, Any]) -> pa.Table:
    """Arrow table with exactly the contract's columns and types, in contract order."""
    contract = RAW_TABLES[schema][table]
    if list(columns) != list(contract):
        raise ValueError(f"{schema}.{table}: columns {list(columns)} differ from contract {list(contract)}")
    arrays = []
    for name, sql_type in contract.items():
        arrow_type = ARROW_TYPES[sql_type]
        value = columns[name]
        array = value if isinstance(value, (pa.Array, pa.ChunkedArray)) else pa.array(value, arrow_type)
        arrays.append(array.cast(arrow_type) if array.type != arrow_type else array)
    return pa.Table.from_arrays(arrays, schema=pa.schema([(n, ARROW_TYPES[t]) for n, t in contract.items()]))


# ---------------------------------------------------------------------------------------------------
# Sales team
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Owners:
    ids: list[str]
    region: np.ndarray  # region label per owner
    median_hours: np.ndarray
    table: pa.Table


def _owners(rng: np.random.Generator) -> _Owners:
    n = len(OWNERS)
    ids = _ids(rng, n, 8)
    first = [o[0] for o in OWNERS]
    last = [o[1] for o in OWNERS]
    region = [o[2] for o in OWNERS]
    team = [{"EMEA-SOUTH": "Sales Iberia & LatAm", "EMEA-NORTH": "Sales UK & DACH", "NA": "Sales North America"}[r]
            for r in region]  # fmt: skip
    email = [f"{_ascii_fold(f)}.{_ascii_fold(l)}@smarketing-demo.com" for f, l in zip(first, last)]
    created = [dt.datetime(2023, 1, 9) + dt.timedelta(days=int(d)) for d in rng.integers(0, 700, n)]
    table = _table("raw_crm", "owners", {
        "owner_id": ids, "first_name": first, "last_name": last, "email": email, "team": team,
        "region": region, "is_active": [i != INACTIVE_OWNER for i in range(n)], "created_at": created,
    })  # fmt: skip
    return _Owners(ids, np.array(region), np.array([o[3] for o in OWNERS]), table)


# ---------------------------------------------------------------------------------------------------
# People (leads), their companies and contact details
# ---------------------------------------------------------------------------------------------------


@dataclass
class _People:
    n: int
    channel: np.ndarray  # true lead channel code 0..7
    country: np.ndarray  # index into COUNTRIES
    first_name: pa.Array
    last_name: pa.Array
    email: pa.Array  # canonical: lower-case, trimmed
    phone: pa.Array  # as stored (messy format), may be null
    phone_normalised: pa.Array  # '+' and digits
    company: np.ndarray  # index into companies
    companies: pa.Table  # without created/updated (known after the funnel)
    company_country: np.ndarray
    job_role: np.ndarray
    job_title: pa.Array
    created_us: np.ndarray  # set by the web part (form time) and for Offline leads here
    deal_cents: np.ndarray  # deal value should the person reach an opportunity (deal currency)


def _people(rng: np.random.Generator, clock: _Clock, n: int) -> _People:
    channel = rng.choice(8, size=n, p=LEAD_CHANNEL_MIX)
    country = rng.choice(len(COUNTRIES), size=n, p=CONTACT_COUNTRY_MIX)
    group = np.array(NAME_GROUP_OF_COUNTRY)[country]
    first_idx = _pick_in_group(rng, group, [len(g) for g in FIRST_NAMES])
    last_idx = _pick_in_group(rng, group, [len(g) for g in LAST_NAMES])
    firsts = [name for g in FIRST_NAMES for name in g]
    lasts = [name for g in LAST_NAMES for name in g]

    company, companies, company_domain, company_country = _companies(rng, country, n)
    email = _emails(rng, firsts, lasts, first_idx, last_idx, company, company_domain)
    phone, phone_norm = _phones(rng, country)
    role = rng.choice(len(JOB_ROLES), size=n, p=JOB_ROLE_MIX)
    titles = [t for ts in JOB_TITLES for t in ts]
    title_idx = _pick_in_group(rng, role, [len(ts) for ts in JOB_TITLES])

    # Offline (trade-show) leads are typed in by sales during business hours; web leads get their
    # created time from the first form submission later.
    created = clock.day_us(rng.integers(0, clock.days, n)) + (
        8 * US_PER_H + rng.integers(0, 10 * US_PER_H, n)
    )
    return _People(
        n=n, channel=channel, country=country,
        first_name=_decode(first_idx, firsts), last_name=_decode(last_idx, lasts),
        email=email, phone=phone, phone_normalised=phone_norm,
        company=company, companies=companies, company_country=company_country,
        job_role=role, job_title=_decode(title_idx, titles), created_us=created,
        deal_cents=np.round(rng.lognormal(math.log(8000), 0.7, n) * 100).astype(np.int64),
    )  # fmt: skip


def _companies(
    rng: np.random.Generator, person_country: np.ndarray, n_people: int
) -> tuple[np.ndarray, pa.Table, pa.Array, np.ndarray]:
    """A pool of companies per country; each person works at one in their own country."""
    n_pool = max(len(COUNTRIES), math.ceil(n_people / 1.8))
    pool_country = rng.choice(len(COUNTRIES), size=n_pool, p=CONTACT_COUNTRY_MIX)
    pool_country[: len(COUNTRIES)] = np.arange(len(COUNTRIES))  # every country has at least one
    by_country = np.argsort(pool_country, kind="stable")
    counts = np.bincount(pool_country, minlength=len(COUNTRIES))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = starts[person_country] + np.floor(rng.random(n_people) * counts[person_country]).astype(np.int64)
    pool_company = by_country[pick]
    used, person_company = np.unique(pool_company, return_inverse=True)
    country = pool_country[used]
    n = used.size

    group = np.array(NAME_GROUP_OF_COUNTRY)[country]
    lasts = [name for g in LAST_NAMES for name in g]
    words = [w for g in COMPANY_WORDS for w in g]
    last_idx = _pick_in_group(rng, group, [len(g) for g in LAST_NAMES])
    word_idx = _pick_in_group(rng, group, [len(g) for g in COMPANY_WORDS])
    word_first = np.isin(group, [0, 1, 3])  # 'Muebles Ibáñez S.L.' vs 'Clarke Interiors Ltd'
    word_arr, last_arr = _decode(word_idx, words), _decode(last_idx, lasts)
    name = pc.if_else(
        pa.array(word_first), _join(word_arr, " ", last_arr), _join(last_arr, " ", word_arr)
    )
    name = _join(name, _decode(country, COMPANY_SUFFIX))

    # Domains must be unique: number repeated name combinations within a country.
    lasts_ascii = [_ascii_fold(x) for x in lasts]
    words_ascii = [_ascii_fold(x) for x in words]
    key = (last_idx * len(words) + word_idx) * len(COUNTRIES) + country
    rank = _rank_within(key)
    suffix = pc.if_else(pa.array(rank > 0), _num(rank + 1), pa.scalar(""))
    domain = _join(
        _decode(last_idx, lasts_ascii), "-", _decode(word_idx, words_ascii), suffix, _decode(country, COMPANY_TLD)
    )
    band = rng.choice(len(EMPLOYEE_BANDS), size=n, p=EMPLOYEE_BAND_MIX)
    lo = np.array([b[0] for b in EMPLOYEE_BANDS])[band]
    hi = np.array([b[1] for b in EMPLOYEE_BANDS])[band]
    employees = np.exp(np.log(lo) + rng.random(n) * (np.log(hi + 1) - np.log(lo))).astype(np.int32)
    employees = np.clip(employees, lo, hi)
    companies = pa.table({
        "company_id": _num(30_000_000_001 + np.arange(n) * 7),
        "name": name, "domain": domain,
        "industry": _decode(rng.integers(0, len(INDUSTRIES), n), INDUSTRIES),
        "number_of_employees": pa.array(employees, pa.int32()),
        "country": _decode(country, COUNTRIES),
    })  # fmt: skip
    return person_company, companies, domain, country


def _emails(
    rng: np.random.Generator,
    firsts: list[str],
    lasts: list[str],
    first_idx: np.ndarray,
    last_idx: np.ndarray,
    company: np.ndarray,
    company_domain: pa.Array,
) -> pa.Array:
    """Unique lower-case e-mails: first.last@company-domain (or a personal mailbox), numbered on clashes."""
    n = first_idx.size
    first_ascii = [_ascii_fold(x) for x in firsts]
    last_ascii = [_ascii_fold(x) for x in lasts]
    _, f_code = np.unique(first_ascii, return_inverse=True)
    l_unique, l_code = np.unique(last_ascii, return_inverse=True)
    personal = rng.random(n) < PERSONAL_EMAIL_SHARE
    personal_idx = rng.integers(0, len(PERSONAL_EMAIL_DOMAINS), n)
    domain_code = np.where(personal, len(company_domain) + personal_idx, company)
    key = (f_code[first_idx] * len(l_unique) + l_code[last_idx]) * (len(company_domain) + 10) + domain_code
    rank = _rank_within(key)
    suffix = pc.if_else(pa.array(rank > 0), _num(rank + 1), pa.scalar(""))
    domain = pc.if_else(
        pa.array(personal), _decode(personal_idx, PERSONAL_EMAIL_DOMAINS), company_domain.take(pa.array(company))
    )
    return _join(_decode(first_idx, first_ascii), ".", _decode(last_idx, last_ascii), suffix, "@", domain)


def _phones(rng: np.random.Generator, country: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Stored phones in messy but E.164-complete formats, and their normalised '+digits' form."""
    n = country.size
    stored_parts: list[tuple[np.ndarray, pa.Array]] = []
    norm_parts: list[tuple[np.ndarray, pa.Array]] = []
    has_phone = rng.random(n) < PHONE_SHARE
    style = rng.integers(0, 3, n)  # 0 spaced, 1 compact, 2 dashed (or US parentheses)
    for c, (code, prefixes, n_random, groups) in enumerate(PHONE_PLANS):
        idx = np.nonzero((country == c) & has_phone)[0]
        if idx.size == 0:
            continue
        prefix = _decode(rng.integers(0, len(prefixes), idx.size), prefixes)
        digits = pc.utf8_lpad(_num(rng.integers(0, 10**n_random, idx.size)), n_random, "0")
        national = _join(prefix, digits)
        # A prefix may change the national length (GB '20' vs '7700'): pad the tail group instead.
        pieces, start = [], 0
        for g in groups[:-1]:
            pieces.append(pc.utf8_slice_codeunits(national, start, start + g))
            start += g
        pieces.append(pc.utf8_slice_codeunits(national, start))
        spaced = _join(*_interleave(pieces, " "))
        dashed = _join(*_interleave(pieces, "-"))
        if code == "1":
            dashed = _join("(", pieces[0], ") ", pieces[1], "-", pieces[2])
        s = style[idx]
        stored = pc.if_else(pa.array(s == 0), _join("+", code, " ", spaced),
                            pc.if_else(pa.array(s == 1), _join("+", code, national),
                                       _join("+", code, " ", dashed)))  # fmt: skip
        stored_parts.append((idx, stored))
        norm_parts.append((idx, _join("+", code, national)))
    return _assemble(n, stored_parts, None), _assemble(n, norm_parts, None)


def _interleave(parts: list[pa.Array], sep: str) -> list[Any]:
    out: list[Any] = []
    for i, p in enumerate(parts):
        if i:
            out.append(sep)
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------------
# Ad platforms: campaign structure and which ads run on which days
# ---------------------------------------------------------------------------------------------------

PLATFORM_GOOGLE, PLATFORM_META, PLATFORM_LINKEDIN = 0, 1, 2
GOOGLE_CAMPAIGNS = [  # (name, channel type, ad group names)
    ("ES | Search | Sillas de oficina", "SEARCH", ["Sillas ergonómicas", "Sillas de dirección", "Sillas baratas"]),
    ("ES | Search | Marca", "SEARCH", ["Marca exacta", "Marca + tienda"]),
    ("PT | Search | Cadeiras", "SEARCH", ["Cadeiras ergonómicas", "Cadeiras escritório"]),
    ("GB | Search | Office chairs", "SEARCH", ["Ergonomic chairs", "Executive chairs", "Chairs London"]),
    ("US | Search | Standing desks", "SEARCH", ["Standing desks", "Sit-stand desks", "Desks NYC"]),
    ("ES | Display | Remarketing", "DISPLAY", ["Visitantes 30 días", "Carrito abandonado"]),
]
META_CAMPAIGNS = [  # (name, adset names)
    ("ES | Prospecting | Oficina en casa", ["Lookalike 1% clientes", "Intereses: diseño de interiores"]),
    ("ES | Retargeting | Web 30d", ["Visitantes web 30d", "Interacción Instagram"]),
    ("US | Prospecting | Standing desks", ["Lookalike 1% US", "Interest: remote work"]),
    ("EU | Black Friday", ["Broad EU", "Past buyers"]),
]
LINKEDIN_GROUPS = ["Lead Gen 2026", "Brand Awareness"]
LINKEDIN_CAMPAIGNS = [  # (campaign group index, name)
    (0, "GB | Facilities Managers"),
    (0, "US | Office Managers"),
    (1, "EMEA | Procurement Leaders"),
]


@dataclass
class _Ads:
    platform: np.ndarray  # per ad
    campaign_id: list[str]
    campaign_name: list[str]
    campaign_type: list[str]
    group_id: list[str]  # Google ad group, Meta adset, LinkedIn campaign group
    group_name: list[str]
    ad_id: list[str]
    ad_name: list[str]
    active: np.ndarray  # (n_ads, days) bool
    weight: np.ndarray  # relative share of the platform's clicks
    account: dict[int, tuple[str, str, str, str]]  # platform -> (account id, name, currency, time zone)


def _ids(rng: np.random.Generator, n: int, digits: int) -> list[str]:
    """n distinct random numeric ids of the given length (platform ids are numeric strings)."""
    while True:
        values = rng.integers(10 ** (digits - 1), 10**digits, n, dtype=np.int64)
        if np.unique(values).size == n:
            return [str(v) for v in values]


def _ad_catalogue(rng: np.random.Generator, clock: _Clock) -> _Ads:
    rows: list[tuple[int, str, str, str, str, str, str, str]] = []
    g_camp = _ids(rng, len(GOOGLE_CAMPAIGNS), 11)
    g_group = _ids(rng, sum(len(c[2]) for c in GOOGLE_CAMPAIGNS), 12)
    g_ads = iter(_ids(rng, 2 * len(g_group), 12))
    groups = iter(g_group)
    for ci, (name, kind, group_names) in enumerate(GOOGLE_CAMPAIGNS):
        for gname in group_names:
            gid = next(groups)
            for variant in ("A", "B"):
                rows.append((PLATFORM_GOOGLE, g_camp[ci], name, kind, gid, gname, next(g_ads), f"RSA {variant}"))
    m_camp = _ids(rng, len(META_CAMPAIGNS), 18)
    m_sets = iter(_ids(rng, 2 * len(META_CAMPAIGNS), 18))
    m_ads = iter(_ids(rng, 4 * len(META_CAMPAIGNS), 18))
    for ci, (name, set_names) in enumerate(META_CAMPAIGNS):
        for sname in set_names:
            sid = next(m_sets)
            for creative in ("Vídeo silla ergonómica", "Carrusel mesas"):
                rows.append((PLATFORM_META, m_camp[ci], name, "", sid, sname, next(m_ads), f"{creative} | {sname}"))
    l_groups = _ids(rng, len(LINKEDIN_GROUPS), 9)
    l_camp = _ids(rng, len(LINKEDIN_CAMPAIGNS), 9)
    l_creatives = iter(_ids(rng, 2 * len(LINKEDIN_CAMPAIGNS), 9))
    for ci, (gi, name) in enumerate(LINKEDIN_CAMPAIGNS):
        for _ in range(2):
            cid = next(l_creatives)
            rows.append((PLATFORM_LINKEDIN, l_camp[ci], name, "", l_groups[gi], LINKEDIN_GROUPS[gi], cid, ""))

    platform = np.array([r[0] for r in rows])
    n_ads = len(rows)
    active = _ad_activity(rng, clock, platform, [r[2] for r in rows])
    weight = rng.lognormal(0.0, 0.6, n_ads)
    account = {
        PLATFORM_GOOGLE: (_ids(rng, 1, 10)[0], "Smarketing Demo - Search", "EUR", "Europe/Madrid"),
        PLATFORM_META: (_ids(rng, 1, 15)[0], "Smarketing Demo Ads", "USD", "Europe/Madrid"),
        PLATFORM_LINKEDIN: (_ids(rng, 1, 9)[0], "Smarketing Demo B2B", "GBP", "Europe/London"),
    }
    return _Ads(
        platform=platform,
        campaign_id=[r[1] for r in rows], campaign_name=[r[2] for r in rows], campaign_type=[r[3] for r in rows],
        group_id=[r[4] for r in rows], group_name=[r[5] for r in rows],
        ad_id=[r[6] for r in rows], ad_name=[r[7] for r in rows],
        active=active, weight=weight, account=account,
    )  # fmt: skip


def _ad_activity(rng: np.random.Generator, clock: _Clock, platform: np.ndarray, campaign: list[str]) -> np.ndarray:
    """Ads launch late, pause early or skip days (no stats row then); each platform's first ad is always
    on so that every paid click has an ad to come from. Black Friday runs only in November."""
    n_ads, days = platform.size, clock.days
    day = np.arange(days)
    start = np.where(rng.random(n_ads) < 0.3, rng.integers(0, max(1, days // 2), n_ads), 0)
    stop = np.where(rng.random(n_ads) < 0.2, start + rng.integers(30, max(31, days), n_ads), days)
    active = (day[None, :] >= start[:, None]) & (day[None, :] < stop[:, None])
    active &= rng.random((n_ads, days)) >= 0.04
    november = np.array([d.month == 11 for d in clock.dates])
    for a in range(n_ads):
        if "Black Friday" in campaign[a]:
            active[a] = november & (rng.random(days) >= 0.02)
    for p in (PLATFORM_GOOGLE, PLATFORM_META, PLATFORM_LINKEDIN):
        active[np.nonzero(platform == p)[0][0]] = True
    return active


def _assign_ads(rng: np.random.Generator, ads: _Ads, platform: int, day: np.ndarray) -> np.ndarray:
    """For paid sessions of one platform on given days, the (global) ad each click came from, weighted by
    ad share among the platform's ads active that day."""
    ad_idx = np.nonzero(ads.platform == platform)[0]
    weights = (ads.active[ad_idx].T * ads.weight[ad_idx][None, :]).astype(np.float64)  # (days, ads)
    cum = np.cumsum(weights, axis=1)
    cum = cum / cum[:, -1:]
    flat = (cum + np.arange(weights.shape[0])[:, None]).ravel()
    pos = np.searchsorted(flat, day + rng.random(day.size), side="right")
    local = np.clip(pos - day * ad_idx.size, 0, ad_idx.size - 1)
    if not ads.active[ad_idx[local], day].all():
        raise AssertionError("paid session assigned to an inactive ad")
    return ad_idx[local]


# ---------------------------------------------------------------------------------------------------
# Web analytics: visitors, sessions, page views, form submissions
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Web:
    forms: pa.Table  # form submissions; the contact merges rewrite some of their e-mails later
    lead_created_us: np.ndarray
    session_day: np.ndarray
    session_ad: np.ndarray  # global ad index or -1
    lead_first_session: np.ndarray  # bool per session: first session of a lead


@dataclass
class _SessionSpec:
    visitor: np.ndarray
    start_us: np.ndarray
    channel: np.ndarray
    country: np.ndarray
    form_lead: np.ndarray  # lead index whose form is submitted in this session, else -1
    form_number: np.ndarray  # 1 first form, 2 second form, 0 none
    lead_first: np.ndarray  # bool


def _lead_sessions(rng: np.random.Generator, clock: _Clock, people: _People, web_leads: np.ndarray) -> _SessionSpec:
    """1-5 sessions per web lead on distinct days; the first has the lead's channel, the last holds the form."""
    n = web_leads.size
    k = rng.choice(np.arange(1, 6), size=n, p=SESSIONS_BEFORE_LEAD_P)
    owner, pos, starts = _segments(k)
    gap = np.where(pos > 0, rng.geometric(0.25, owner.size), 0)
    cum = np.cumsum(gap)
    offset = np.minimum(cum - cum[starts][owner], clock.days - 1)
    span = offset[starts + k - 1]
    first_day = np.floor(rng.random(n) * (clock.days - span)).astype(np.int64)
    day = first_day[owner] + offset
    start_us = clock.day_us(day) + _time_of_day_us(rng, owner.size)
    # Re-rank within each person by time (only matters if a clipped span put two sessions on one day).
    order = np.lexsort((start_us, owner))
    start_us = start_us[order]
    later = rng.choice(7, size=owner.size, p=LATER_SESSION_MIX)
    lead = web_leads[owner]
    channel = np.where(pos == 0, people.channel[lead], later)
    is_form = pos == k[owner] - 1
    return _SessionSpec(
        visitor=owner.astype(np.int64), start_us=start_us, channel=channel, country=people.country[lead],
        form_lead=np.where(is_form, lead, -1), form_number=is_form.astype(np.int8), lead_first=pos == 0,
    )  # fmt: skip


def _second_form_sessions(
    rng: np.random.Generator, clock: _Clock, people: _People, web_leads: np.ndarray, first: _SessionSpec,
    next_visitor: int,
) -> _SessionSpec:
    """~10% of leads come back weeks later and submit another form, sometimes from a new device."""
    form_rows = np.nonzero(first.form_number == 1)[0]  # one per web lead, in web_leads order
    form_day = (first.start_us[form_rows] - clock.start_us) // US_PER_D
    pick = rng.random(web_leads.size) < SECOND_FORM_SHARE
    day2 = form_day + rng.geometric(1 / 25, web_leads.size)
    keep = np.nonzero(pick & (day2 <= clock.days - 1))[0]
    new_device = rng.random(keep.size) < SECOND_FORM_NEW_DEVICE_SHARE
    visitor = np.where(new_device, next_visitor + np.arange(keep.size), first.visitor[form_rows[keep]])
    lead = web_leads[keep]
    return _SessionSpec(
        visitor=visitor.astype(np.int64),
        start_us=clock.day_us(day2[keep]) + _time_of_day_us(rng, keep.size),
        channel=rng.choice(7, size=keep.size, p=LATER_SESSION_MIX), country=people.country[lead],
        form_lead=lead, form_number=np.full(keep.size, 2, np.int8), lead_first=np.zeros(keep.size, bool),
    )  # fmt: skip


def _anonymous_sessions(rng: np.random.Generator, clock: _Clock, n_sessions: int, first_visitor: int) -> _SessionSpec:
    """Visitors who never convert: 1+ sessions each on seasonal days."""
    n_visitors = max(1, round(n_sessions / 1.54))
    k = rng.geometric(0.65, n_visitors)
    owner, _, _ = _segments(k)
    n = owner.size
    day = rng.choice(clock.days, size=n, p=clock.day_weights())
    visitor_country = rng.choice(len(COUNTRIES), size=n_visitors, p=SESSION_COUNTRY_MIX)
    return _SessionSpec(
        visitor=first_visitor + owner.astype(np.int64),
        start_us=clock.day_us(day) + _time_of_day_us(rng, n),
        channel=NON_LEAD_SESSION_CODES[rng.choice(NON_LEAD_SESSION_CODES.size, size=n, p=NON_LEAD_SESSION_MIX)],
        country=visitor_country[owner], form_lead=np.full(n, -1, np.int64),
        form_number=np.zeros(n, np.int8), lead_first=np.zeros(n, bool),
    )  # fmt: skip


def _concat_specs(parts: list[_SessionSpec]) -> _SessionSpec:
    fields = _SessionSpec.__dataclass_fields__
    return _SessionSpec(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def _web(
    rng: np.random.Generator, clock: _Clock, people: _People, ads: _Ads, n_target: int, sink: _Sink
) -> _Web:
    """Sessions and page views, streamed to the sink per chunk of sessions. Every random draw happens
    first, in a fixed order, into compact arrays (codes, times, raw id bytes); their strings, which
    dominate memory at large scales, exist only for one chunk at a time."""
    web_leads = np.nonzero(people.channel != OFFLINE)[0]
    lead_part = _lead_sessions(rng, clock, people, web_leads)
    second = _second_form_sessions(rng, clock, people, web_leads, lead_part, next_visitor=web_leads.size)
    n_known_visitors = web_leads.size + second.visitor.size
    n_rest = max(0, n_target - lead_part.visitor.size - second.visitor.size)
    rest = _anonymous_sessions(rng, clock, n_rest, first_visitor=n_known_visitors)
    spec = _concat_specs([lead_part, second, rest])
    del lead_part, second, rest
    order = np.argsort(spec.start_us, kind="stable")
    spec = _SessionSpec(**{f: getattr(spec, f)[order] for f in _SessionSpec.__dataclass_fields__})
    del order
    n = spec.visitor.size
    n_visitors = int(spec.visitor.max()) + 1
    anonymous_ids = _rand_bytes(rng, n_visitors, 32)

    day = (spec.start_us - clock.start_us) // US_PER_D
    platform = np.full(n, -1)
    platform[spec.channel == PAID_SEARCH] = PLATFORM_GOOGLE
    social = np.nonzero(spec.channel == PAID_SOCIAL)[0]
    platform[social] = np.where(rng.random(social.size) < META_SHARE_OF_PAID_SOCIAL, PLATFORM_META, PLATFORM_LINKEDIN)
    ad = np.full(n, -1, np.int64)
    for p in (PLATFORM_GOOGLE, PLATFORM_META, PLATFORM_LINKEDIN):
        idx = np.nonzero(platform == p)[0]
        if idx.size:
            ad[idx] = _assign_ads(rng, ads, p, day[idx])

    # Page views: forms need a second page; the form page is often the contact page.
    n_views = rng.geometric(0.55, n).astype(np.int64)
    n_views = np.where(spec.form_number > 0, np.maximum(n_views, 2), n_views)
    view_session, view_pos, view_starts = _segments(n_views)
    gap = np.where(view_pos > 0, 2 * US_PER_S + rng.exponential(60 * US_PER_S, view_session.size), 0).astype(np.int64)
    del view_pos
    cum = np.cumsum(gap)
    del gap
    viewed_us = spec.start_us[view_session] + cum - cum[view_starts][view_session]
    del cum
    last_view_us = viewed_us[view_starts + n_views - 1]
    dwell = (US_PER_S + rng.exponential(40 * US_PER_S, n)).astype(np.int64)
    dwell = np.where(spec.form_number > 0, dwell + 10 * US_PER_S, dwell)
    ended_us = last_view_us + dwell

    # Pages as codes into PAGE_URLS / PAGE_TITLE_OF (language x slug), small enough to keep for all views.
    lang = np.array(SITE_LANGUAGE_OF_COUNTRY)[spec.country]
    landing_slug = rng.integers(0, CONTACT_PAGE, n)
    view_slug = rng.integers(0, len(PAGE_SLUGS[0]), view_session.size)
    view_slug[view_starts] = landing_slug
    form_last = view_starts[spec.form_number > 0] + n_views[spec.form_number > 0] - 1
    view_slug[form_last] = np.where(rng.random(form_last.size) < 0.6, CONTACT_PAGE, view_slug[form_last])
    lang = lang.astype(np.int8)  # int8 codes: no int64 temporaries the size of all page views
    view_page = lang[view_session] * np.int8(len(PAGE_SLUGS[0])) + view_slug.astype(np.int8)
    landing_page = lang * np.int8(len(PAGE_SLUGS[0])) + landing_slug.astype(np.int8)
    del view_session, view_slug, form_last, lang, landing_slug
    source = _traffic_source(rng, spec.channel, platform, ad, ads)
    session_ids = _rand_bytes(rng, n, 20)
    device = rng.choice(3, size=n, p=DEVICE_MIX).astype(np.int8)

    last_page = view_page[view_starts + n_views - 1]
    forms, lead_created = _form_submissions(
        rng, people, spec, session_ids, anonymous_ids, last_view_us, dwell, last_page
    )
    visitor, start_us, country = spec.visitor, spec.start_us, spec.country.astype(np.int8)
    web = _Web(
        forms=forms, lead_created_us=np.where(people.channel == OFFLINE, people.created_us, lead_created),
        session_day=day, session_ad=ad, lead_first_session=spec.lead_first,
    )  # fmt: skip
    del spec, platform, last_view_us, dwell, last_page, lead_created

    # Chunks of sessions with their page views, in order: the strings exist for one chunk at a time.
    for lo in range(0, n, WEB_CHUNK_SESSIONS):
        s = slice(lo, min(lo + WEB_CHUNK_SESSIONS, n))
        counts = n_views[s]
        v = slice(int(view_starts[lo]), int(view_starts[lo] + counts.sum()))
        query, referrer = source.chunk(s)
        landing_url = _join(_decode(landing_page[s], PAGE_URLS), query)
        session_chars, anonymous_chars = _hex_chars(session_ids[s]), _hex_chars(anonymous_ids[visitor[s]])
        sink.add(("raw_web", "sessions"), _table("raw_web", "sessions", {
            "session_id": _fixed_width_strings(session_chars),
            "anonymous_id": _fixed_width_strings(anonymous_chars),
            "session_started_at": _ts(start_us[s]), "session_ended_at": _ts(ended_us[s]),
            "landing_page_url": landing_url, "referrer_url": referrer,
            "device_category": _decode(device[s], DEVICE_CATEGORIES),
            "geo_country": _decode(country[s], COUNTRIES), "page_view_count": counts.astype(np.int32),
        }))  # fmt: skip
        _, pos, _ = _segments(counts)  # within the chunk; a session's views are consecutive rows
        view_session_ids = _fixed_width_strings(np.repeat(session_chars, counts, axis=0))
        view_anonymous_ids = _fixed_width_strings(np.repeat(anonymous_chars, counts, axis=0))
        del session_chars, anonymous_chars
        # A session's first view is its landing page (with the query string), later ones plain pages.
        first, later = np.nonzero(pos == 0)[0], np.nonzero(pos > 0)[0]
        page_url = _assemble(pos.size, [(first, landing_url), (later, _decode(view_page[v][later], PAGE_URLS))], None)
        sink.add(("raw_web", "page_views"), _table("raw_web", "page_views", {
            "page_view_id": _join(view_session_ids, "-", _num(pos + 1)),
            "session_id": view_session_ids,
            "anonymous_id": view_anonymous_ids,
            "viewed_at": _ts(viewed_us[v]),
            "page_url": page_url,
            "page_title": _decode(view_page[v], PAGE_TITLE_OF),
        }))  # fmt: skip
    return web


@dataclass
class _Text:
    """Strings for the sessions at ascending positions `idx`, kept as parts until built for a chunk of
    sessions: literal text, (codes, labels) or a matrix of random bytes written as hex."""

    idx: np.ndarray
    parts: list[Any]

    def build(self, s: slice) -> tuple[np.ndarray, pa.Array]:
        """Positions within the chunk and their strings."""
        lo, hi = np.searchsorted(self.idx, [s.start, s.stop])
        if all(isinstance(p, str) for p in self.parts):
            return self.idx[lo:hi] - s.start, _const(hi - lo, "".join(self.parts))
        built = [p if isinstance(p, str) else _hex(p[lo:hi]) if isinstance(p, np.ndarray)
                 else _decode(p[0][lo:hi], p[1]) for p in self.parts]  # fmt: skip
        return self.idx[lo:hi] - s.start, built[0] if len(built) == 1 else _join(*built)


@dataclass
class _TrafficSource:
    queries: list[_Text]
    referrers: list[_Text]

    def chunk(self, s: slice) -> tuple[pa.Array, pa.Array]:
        """Landing-URL query strings (empty if none) and referrers (null if none) of a chunk of sessions."""
        n = s.stop - s.start
        return (_assemble(n, [t.build(s) for t in self.queries], ""),
                _assemble(n, [t.build(s) for t in self.referrers], None))  # fmt: skip


def _traffic_source(
    rng: np.random.Generator, channel: np.ndarray, platform: np.ndarray, ad: np.ndarray, ads: _Ads
) -> _TrafficSource:
    """Landing-URL query string and referrer per session, shaped so the conventions' rules give back
    the session's channel."""
    queries: list[_Text] = []
    referrers: list[_Text] = []

    def utm_ids(idx: np.ndarray) -> tuple[tuple[np.ndarray, list[str]], tuple[np.ndarray, list[str]]]:
        paid = ad[idx]
        return (paid, ads.campaign_id), (paid, ads.ad_id)

    idx = np.nonzero(platform == PLATFORM_GOOGLE)[0]
    camp, content = utm_ids(idx)
    source = (rng.random(idx.size) < 0.05).astype(np.int8)
    queries.append(_Text(idx, ["?utm_source=", (source, ["google", "Google"]),
                               "&utm_medium=cpc&utm_campaign=", camp, "&utm_content=", content,
                               "&gclid=Cj0KCQ", _rand_bytes(rng, idx.size, 24)]))  # fmt: skip
    referrers.append(_Text(idx, ["https://www.google.com/"]))

    idx = np.nonzero(platform == PLATFORM_META)[0]
    camp, content = utm_ids(idx)
    source = (rng.random(idx.size) < 0.05).astype(np.int8)
    queries.append(_Text(idx, ["?utm_source=", (source, ["facebook", "Facebook"]),
                               "&utm_medium=paid_social&utm_campaign=", camp, "&utm_content=", content,
                               "&fbclid=IwAR", _rand_bytes(rng, idx.size, 28)]))  # fmt: skip
    referrers.append(_Text(idx, ["https://www.facebook.com/"]))

    idx = np.nonzero(platform == PLATFORM_LINKEDIN)[0]
    camp, content = utm_ids(idx)
    queries.append(_Text(idx, ["?utm_source=linkedin&utm_medium=paid_social&utm_campaign=", camp,
                               "&utm_content=", content, "&li_fat_id=",
                               _rand_bytes(rng, idx.size, 32)]))  # fmt: skip
    referrers.append(_Text(idx, ["https://www.linkedin.com/"]))

    idx = np.nonzero(channel == EMAIL)[0]
    source = (rng.random(idx.size) < 0.05).astype(np.int8)
    campaign = rng.choice(len(EMAIL_CAMPAIGNS), idx.size, p=[0.4, 0.2, 0.2, 0.2]).astype(np.int8)
    queries.append(_Text(idx, ["?utm_source=", (source, ["newsletter", "Newsletter"]),
                               "&utm_medium=email&utm_campaign=", (campaign, EMAIL_CAMPAIGNS)]))  # fmt: skip

    idx = np.nonzero(channel == ORGANIC_SEARCH)[0]
    referrers.append(_Text(idx, ["https://www.google.com/"]))

    idx = np.nonzero(channel == ORGANIC_SOCIAL)[0]
    linkedin = rng.random(idx.size) < 0.4
    social_sites = ["https://www.facebook.com/", "https://www.linkedin.com/"]
    referrers.append(_Text(idx, [(linkedin.astype(np.int8), social_sites)]))
    fb = idx[~linkedin & (rng.random(idx.size) < 0.4)]  # Meta tags outbound links with fbclid
    queries.append(_Text(fb, ["?fbclid=IwAR", _rand_bytes(rng, fb.size, 28)]))

    idx = np.nonzero(channel == REFERRAL)[0]
    referrers.append(_Text(idx, [(rng.integers(0, len(REFERRERS), idx.size).astype(np.int8), REFERRERS)]))
    tagged = idx[rng.random(idx.size) < 0.15]
    tag = rng.integers(0, len(REFERRAL_UTM_SOURCES), tagged.size)
    queries.append(_Text(tagged, ["?utm_source=", (tag, REFERRAL_UTM_SOURCES), "&utm_medium=referral"]))

    idx = np.nonzero(channel == UNASSIGNED)[0]  # utm tags nobody maps: printed flyers' QR codes
    flyer = rng.integers(0, 2, idx.size)
    queries.append(_Text(idx, ["?utm_source=", (flyer, ["flyer", "qr_code"]), "&utm_medium=print"]))
    return _TrafficSource(queries, referrers)


def _form_submissions(
    rng: np.random.Generator,
    people: _People,
    spec: _SessionSpec,
    session_ids: np.ndarray,
    anonymous_ids: np.ndarray,
    last_view_us: np.ndarray,
    dwell: np.ndarray,
    last_page: np.ndarray,
) -> tuple[pa.Table, np.ndarray]:
    """Form rows (submitted inside the session, on its last page) and each lead's created time."""
    rows = np.nonzero(spec.form_number > 0)[0]  # already in time order
    lead = spec.form_lead[rows]
    second = spec.form_number[rows] == 2
    submitted = last_view_us[rows] + (dwell[rows] * rng.uniform(0.2, 0.8, rows.size)).astype(np.int64)
    lead_arr = pa.array(lead)
    email = people.email.take(lead_arr)
    # People type their e-mail inconsistently; contacts still match on lower(trim(email)).
    variant = np.where(second, rng.choice(4, rows.size, p=[0.5, 0.2, 0.15, 0.15]),
                       rng.choice(4, rows.size, p=[0.95, 0.05, 0.0, 0.0]))  # fmt: skip
    email = pc.if_else(pa.array(variant == 1), pc.utf8_capitalize(email), email)
    email = pc.if_else(pa.array(variant == 2), pc.utf8_upper(email), email)
    email = pc.if_else(pa.array(variant == 3), _join(" ", email, " "), email)
    phone = people.phone.take(lead_arr)
    phone = pc.if_else(pa.array(second & (rng.random(rows.size) < 0.5)), pa.scalar(None, pa.string()), phone)
    form_name = np.where(second, rng.integers(0, len(FORM_NAMES), rows.size),
                         rng.choice(len(FORM_NAMES), rows.size, p=FIRST_FORM_MIX))  # fmt: skip
    table = _table("raw_web", "form_submissions", {
        "submission_id": _rand_hex(rng, rows.size, 24),
        "session_id": _hex(session_ids[rows]), "anonymous_id": _hex(anonymous_ids[spec.visitor[rows]]),
        "submitted_at": _ts(submitted), "form_name": _decode(form_name, FORM_NAMES),
        "page_url": _decode(last_page[rows], PAGE_URLS), "email": email, "phone": phone,
        "first_name": people.first_name.take(lead_arr), "last_name": people.last_name.take(lead_arr),
        "company_name": people.companies.column("name").take(pa.array(people.company[lead])),
        "consent_marketing": rng.random(rows.size) < 0.6,
    })  # fmt: skip
    created = np.zeros(people.n, np.int64)
    first = ~second
    created[lead[first]] = submitted[first] + rng.integers(2 * US_PER_S, 30 * US_PER_S, int(first.sum()))
    return table, created


# ---------------------------------------------------------------------------------------------------
# CRM funnel
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Funnel:
    owner: np.ndarray
    mql_us: np.ndarray  # -1 when not (yet) reached
    contact_us: np.ndarray
    sql_us: np.ndarray
    opp_us: np.ndarray
    won_us: np.ndarray  # won time (CRM close or store purchase), -1 if not won by the cutoff
    lost_us: np.ndarray
    store_close: np.ndarray  # bool: a won deal that closes at the till
    mql_decided: np.ndarray  # bool: non-SQL MQL already disqualified by the cutoff


def _funnel(rng: np.random.Generator, clock: _Clock, people: _People, owners: _Owners) -> _Funnel:
    n = people.n
    probs = np.array([FUNNEL[c] for c in range(8)])[people.channel]
    u = rng.random((n, 4))
    is_mql = u[:, 0] < probs[:, 0]
    is_sql = is_mql & (u[:, 1] < probs[:, 1])
    is_opp = is_sql & (u[:, 2] < probs[:, 2])
    is_won = is_opp & (u[:, 3] < probs[:, 3])
    is_lost = is_opp & ~is_won
    contacted = is_sql | (is_mql & (rng.random(n) < CONTACTED_SHARE_OF_UNQUALIFIED_MQLS))

    owner = _owner_by_region(rng, people.country, owners)
    created = people.created_us
    mql = created + (10 * US_PER_MIN + rng.random(n) * (3 * US_PER_D - 10 * US_PER_MIN)).astype(np.int64)
    response_h = owners.median_hours[owner] * rng.lognormal(0.0, 0.8, n)
    contact = mql + np.maximum(5 * US_PER_MIN, response_h * US_PER_H).astype(np.int64)
    sql = np.maximum(
        mql + (rng.uniform(0.5, 7.0, n) * US_PER_D).astype(np.int64),
        contact + (rng.uniform(0.5, 24.0, n) * US_PER_H).astype(np.int64),
    )
    opp = sql + (rng.uniform(1, 14, n) * US_PER_D).astype(np.int64)
    won = opp + (rng.uniform(7, 60, n) * US_PER_D).astype(np.int64)
    lost = opp + (rng.uniform(7, 90, n) * US_PER_D).astype(np.int64)
    decided = mql + 7 * US_PER_D

    def happened(flag: np.ndarray, at: np.ndarray) -> np.ndarray:
        return np.where(flag & (at < clock.cutoff_us), at, -1)

    return _Funnel(
        owner=owner,
        mql_us=happened(is_mql, mql), contact_us=happened(contacted, contact), sql_us=happened(is_sql, sql),
        opp_us=happened(is_opp, opp), won_us=happened(is_won, won), lost_us=happened(is_lost, lost),
        store_close=is_won & (rng.random(n) < STORE_CLOSE_SHARE),
        mql_decided=is_mql & ~is_sql & (decided < clock.cutoff_us),
    )  # fmt: skip


def _owner_by_region(rng: np.random.Generator, country: np.ndarray, owners: _Owners) -> np.ndarray:
    regions = sorted(set(REGION_OF_COUNTRY))
    region_code = np.array([regions.index(r) for r in REGION_OF_COUNTRY])[country]
    probs = np.array([[1.0 if owners.region[o] == r else 0.0 for o in range(len(owners.ids))] for r in regions])
    return _choice_by_row(rng, region_code, probs)


def _crm_tables(
    rng: np.random.Generator, clock: _Clock, people: _People, owners: _Owners, f: _Funnel,
    dq_rng: np.random.Generator,
) -> dict[tuple[str, str], pa.Table]:
    n = people.n
    order = np.argsort(people.created_us, kind="stable")  # CRM ids grow with creation time
    contact_num = np.empty(n, np.int64)
    contact_num[order] = 1_000_001 + np.arange(n)
    contact_ids = _num(contact_num)
    owner_ids = _decode(f.owner, owners.ids)
    company_ids = people.companies.column("company_id").take(pa.array(people.company))

    crm_won = (f.won_us >= 0) & ~f.store_close
    customer_us = np.where(crm_won, f.won_us, -1)
    stage = np.select(
        [customer_us >= 0, f.opp_us >= 0, f.sql_us >= 0, f.mql_us >= 0],
        [4, 3, 2, 1], 0,
    )
    stages = ["lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
    # Status: SQLs and beyond are CONNECTED; disqualified MQLs UNQUALIFIED/BAD_TIMING; the rest in flight.
    status = np.where(rng.random(n) < 0.5, 0, 1)  # NEW / OPEN for untouched leads
    status = np.where((f.mql_us >= 0) & (f.contact_us >= 0), 2, status)  # IN_PROGRESS
    status = np.where(f.mql_decided, np.where(rng.random(n) < 0.6, 4, 5), status)
    status = np.where(f.sql_us >= 0, 3, status)
    statuses = ["NEW", "OPEN", "IN_PROGRESS", "CONNECTED", "UNQUALIFIED", "BAD_TIMING"]

    last_event = np.max(np.stack([people.created_us, f.mql_us, f.contact_us, f.sql_us, f.opp_us, f.won_us,
                                  f.lost_us]), axis=0)  # fmt: skip
    updated = np.minimum(last_event + rng.integers(US_PER_MIN, 2 * US_PER_H, n), clock.cutoff_us - US_PER_S)
    updated = np.maximum(updated, people.created_us)

    def ts(at: np.ndarray) -> pa.Array:
        return _ts(np.maximum(at, 0), null_mask=at < 0)

    # Disqualified MQLs (UNQUALIFIED / BAD_TIMING): sales decided 1-12 days after the MQL (its own
    # generator, so the other columns keep their values).
    decided_us = f.mql_us + (dq_rng.uniform(1.0, 12.0, n) * US_PER_D).astype(np.int64)
    decided_us = np.where(f.mql_decided, np.minimum(decided_us, clock.cutoff_us - US_PER_S), -1)
    reason = dq_rng.choice(len(DISQUALIFICATION_REASONS), n, p=DISQUALIFICATION_REASON_MIX)
    no_reason = ~f.mql_decided | (dq_rng.random(n) < DISQUALIFICATION_REASON_MISSING_SHARE)

    contacts = _table("raw_crm", "contacts", {
        "contact_id": contact_ids, "email": people.email, "phone": people.phone,
        "first_name": people.first_name, "last_name": people.last_name, "company_id": company_ids,
        "job_title": people.job_title, "job_role": _decode(people.job_role, JOB_ROLES),
        "country": _decode(people.country, COUNTRIES),
        "original_source": _decode(people.channel, ORIGINAL_SOURCE), "owner_id": owner_ids,
        "lifecycle_stage": _decode(stage, stages),
        "created_at": _ts(people.created_us), "became_lead_at": _ts(people.created_us),
        "became_mql_at": ts(f.mql_us), "became_sql_at": ts(f.sql_us), "became_opportunity_at": ts(f.opp_us),
        "became_customer_at": ts(customer_us), "lead_status": _decode(status, statuses),
        "updated_at": _ts(np.maximum(updated, decided_us)),
        "disqualified_at": ts(decided_us),
        "disqualification_reason": _decode(reason, DISQUALIFICATION_REASONS, null_mask=no_reason),
    }).take(pa.array(order))  # fmt: skip

    companies = _company_table(rng, clock, people, updated)
    engagements = _engagements(rng, clock, f, contact_ids, owner_ids)
    deals = _deals(rng, clock, people, f, contact_ids, company_ids, owner_ids)
    return {
        ("raw_crm", "contacts"): contacts, ("raw_crm", "companies"): companies,
        ("raw_crm", "engagements"): engagements, ("raw_crm", "deals"): deals,
    }  # fmt: skip


def _company_table(rng: np.random.Generator, clock: _Clock, people: _People, contact_updated: np.ndarray) -> pa.Table:
    """Companies are created with their first contact and updated with their latest one."""
    n = people.companies.num_rows
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, people.company, people.created_us)
    last = np.zeros(n, np.int64)
    np.maximum.at(last, people.company, contact_updated)
    created = first + rng.integers(US_PER_S, 60 * US_PER_S, n)
    updated = np.minimum(np.maximum(last, created) + rng.integers(0, US_PER_H, n), clock.cutoff_us - US_PER_S)
    updated = np.maximum(updated, created)
    c = people.companies
    table = _table("raw_crm", "companies", {
        "company_id": c.column("company_id"), "name": c.column("name"), "domain": c.column("domain"),
        "industry": c.column("industry"), "number_of_employees": c.column("number_of_employees"),
        "country": c.column("country"), "created_at": _ts(created), "updated_at": _ts(updated),
    })  # fmt: skip
    return table.take(pa.array(np.argsort(created, kind="stable")))


def _engagements(
    rng: np.random.Generator, clock: _Clock, f: _Funnel, contact_ids: pa.Array, owner_ids: pa.Array
) -> pa.Table:
    """The owner's first outbound call or e-mail after MQL, then 1-5 follow-ups (calls, e-mails, meetings)."""
    first = np.nonzero(f.contact_us >= 0)[0]
    n_follow = rng.integers(1, 6, first.size)
    who, _, _ = _segments(n_follow)
    gaps = (US_PER_H + rng.exponential(4 * US_PER_D, who.size)).astype(np.int64)
    cum = np.cumsum(gaps)
    starts = np.concatenate([[0], np.cumsum(n_follow)[:-1]]).astype(np.int64)
    follow_at = f.contact_us[first][who] + cum - (cum[starts][who] - gaps[starts][who])
    lead = np.concatenate([first, first[who]])
    at = np.concatenate([f.contact_us[first], follow_at])
    n_first = first.size
    # types: 0 CALL, 1 EMAIL, 2 MEETING; the first touch is always an outbound call or e-mail
    kind = np.concatenate([rng.choice(2, n_first, p=[0.6, 0.4]), rng.choice(3, who.size, p=[0.35, 0.4, 0.25])])
    inbound = np.concatenate([np.zeros(n_first, bool), (kind[n_first:] != 2) & (rng.random(who.size) < 0.25)])
    call_outcome = rng.choice(3, lead.size, p=[0.45, 0.35, 0.20])  # CONNECTED, NO_ANSWER, LEFT_VOICEMAIL
    outcome = np.select(
        [kind == 2, (kind == 1) & inbound, kind == 1, inbound],
        [0, 4, 3, 0], call_outcome,
    )
    keep = at < clock.cutoff_us
    order = np.nonzero(keep)[0][np.argsort(at[keep], kind="stable")]
    lead, at, kind, inbound, outcome = lead[order], at[order], kind[order], inbound[order], outcome[order]
    return _table("raw_crm", "engagements", {
        "engagement_id": _num(70_000_000_001 + np.arange(order.size)),
        "engagement_type": _decode(kind, ["CALL", "EMAIL", "MEETING"]),
        "contact_id": contact_ids.take(pa.array(lead)), "owner_id": owner_ids.take(pa.array(lead)),
        "occurred_at": _ts(at), "direction": _decode(inbound.astype(int), ["OUTBOUND", "INBOUND"]),
        "outcome": _decode(outcome, ["CONNECTED", "NO_ANSWER", "LEFT_VOICEMAIL", "SENT", "REPLIED"]),
    })  # fmt: skip


def _deals(
    rng: np.random.Generator, clock: _Clock, people: _People, f: _Funnel,
    contact_ids: pa.Array, company_ids: pa.Array, owner_ids: pa.Array,
) -> pa.Table:  # fmt: skip
    """One deal per opportunity; won deals close in the CRM or stay open while the sale happens in store."""
    lead = np.nonzero(f.opp_us >= 0)[0]
    lead = lead[np.argsort(f.opp_us[lead], kind="stable")]
    n = lead.size
    created = f.opp_us[lead]
    won = f.won_us[lead] >= 0
    crm_won = won & ~f.store_close[lead]
    store_won = won & f.store_close[lead]
    lost = f.lost_us[lead] >= 0
    stage = np.where(crm_won, len(OPEN_DEAL_STAGES), rng.integers(0, len(OPEN_DEAL_STAGES), n))
    stage = np.where(store_won, np.where(rng.random(n) < 0.5, 3, 4), stage)  # contractsent / decisionmaker...
    stage = np.where(lost, len(OPEN_DEAL_STAGES) + 1, stage)
    closed = np.where(crm_won, f.won_us[lead], np.where(lost, f.lost_us[lead], -1))
    age = np.maximum(clock.cutoff_us - US_PER_S - created, 0)
    updated = np.where(closed >= 0, closed + rng.integers(US_PER_MIN, US_PER_H, n),
                       created + (rng.random(n) * age).astype(np.int64))  # fmt: skip
    updated = np.maximum(np.minimum(updated, clock.cutoff_us - US_PER_S), created)
    quarter = (np.asarray(created.view("datetime64[us]").astype("datetime64[M]").astype(np.int64)) % 12) // 3 + 1
    company_name = people.companies.column("name").take(pa.array(people.company[lead]))
    return _table("raw_crm", "deals", {
        "deal_id": _num(9_000_000_001 + np.arange(n) * 3),
        "deal_name": _join(company_name, " - Q", _num(quarter), " order"),
        "contact_id": contact_ids.take(pa.array(lead)), "company_id": company_ids.take(pa.array(lead)),
        "owner_id": owner_ids.take(pa.array(lead)), "pipeline": np.full(n, "default", object),
        "deal_stage": _decode(stage, OPEN_DEAL_STAGES + ["closedwon", "closedlost"]),
        "amount": _decimal(people.deal_cents[lead]),
        "currency_code": _decode(people.country[lead], CURRENCY_OF_COUNTRY),
        "created_at": _ts(created), "closed_at": _ts(np.maximum(closed, 0), null_mask=closed < 0),
        "closed_lost_reason": _decode(rng.integers(0, len(LOST_REASONS), n), LOST_REASONS, null_mask=~lost),
        "updated_at": _ts(updated),
    })  # fmt: skip


def _deal_stage_history(deals: pa.Table) -> pa.Table:
    """The stages each deal went through (no randomness, so the other tables stay as they were): open
    stages in order up to the current one, spread evenly from creation to the close (or last update);
    won deals pass every open stage, lost deals drop out after the first."""
    stages = OPEN_DEAL_STAGES + ["closedwon", "closedlost"]
    rows: dict[str, list[Any]] = {"history_id": [], "deal_id": [], "deal_stage": [], "entered_at": [],
                                  "changed_by_id": []}  # fmt: skip
    for deal in deals.select(["deal_id", "owner_id", "deal_stage", "created_at", "closed_at", "updated_at"]).to_pylist():
        final = stages.index(deal["deal_stage"])
        path = list(range(final + 1)) if final < len(OPEN_DEAL_STAGES) else (
            list(range(len(OPEN_DEAL_STAGES))) + [final] if deal["deal_stage"] == "closedwon" else [0, final])
        start, end = deal["created_at"], deal["closed_at"] or deal["updated_at"]
        for step, stage in enumerate(path):
            at = start + (end - start) * step / max(len(path) - 1, 1) if step else start
            at = at.replace(microsecond=0)
            rows["history_id"].append(f"{deal['deal_id']}:{stages[stage]}")
            rows["deal_id"].append(deal["deal_id"])
            rows["deal_stage"].append(stages[stage])
            rows["entered_at"].append(at)
            rows["changed_by_id"].append(deal["owner_id"])
    return _table("raw_crm", "deal_stage_history", rows)


# ---------------------------------------------------------------------------------------------------
# Stores
# ---------------------------------------------------------------------------------------------------


def _store(rng: np.random.Generator, clock: _Clock, people: _People, f: _Funnel) -> dict[tuple[str, str], pa.Table]:
    """Store-closed wins buy at the won time (some again later), identified by e-mail hash, phone hash or
    loyalty card; walk-ins who are not leads make up the rest."""
    buyer = np.nonzero((f.won_us >= 0) & f.store_close)[0]
    store = _choice_by_row(rng, people.country[buyer], STORE_OF_COUNTRY_P)
    store_currency = np.array([s[3] for s in STORES])[store]
    deal_currency = np.array(CURRENCY_OF_COUNTRY)[people.country[buyer]]
    fx = np.array([FX_PER_EUR[c] for c in store_currency]) / np.array([FX_PER_EUR[c] for c in deal_currency])
    first_cents = np.round(people.deal_cents[buyer] * fx * rng.uniform(0.85, 1.1, buyer.size))
    method = rng.choice(3, buyer.size, p=[0.5, 0.25, 0.25])  # email hash, phone hash, loyalty card
    has_phone = pc.is_valid(people.phone_normalised.take(pa.array(buyer))).to_numpy(zero_copy_only=False)
    method = np.where((method == 1) & ~has_phone, 0, method)

    repeat_at = f.won_us[buyer] + (rng.uniform(14, 180, buyer.size) * US_PER_D).astype(np.int64)
    again = (rng.random(buyer.size) < REPEAT_STORE_PURCHASE_SHARE) & (repeat_at < clock.cutoff_us)
    who = np.concatenate([np.arange(buyer.size), np.nonzero(again)[0]])
    at = np.concatenate([f.won_us[buyer], repeat_at[again]])
    cents = np.concatenate([first_cents, np.round(rng.lognormal(math.log(1500), 0.6, int(again.sum())) * fx[again])])

    email_hash = _sha256_hex(people.email.take(pa.array(buyer)))
    phone_hash = _sha256_hex(people.phone_normalised.take(pa.array(buyer)))
    loyalty_num = 10_000_000 + rng.choice(90_000_000, size=buyer.size, replace=False)
    lead_loyalty = np.nonzero(method == 2)[0]

    n_matched = who.size
    n_walk = round(n_matched * WALK_IN_SHARE / (1 - WALK_IN_SHARE))
    walk_store = rng.choice(len(STORES), n_walk, p=WALK_IN_STORE_MIX)
    walk_at = clock.day_us(rng.integers(0, clock.days, n_walk)) + 9 * US_PER_H + rng.integers(0, 10 * US_PER_H, n_walk)
    walk_cents = np.round(rng.lognormal(math.log(450), 0.8, n_walk) * 100)
    walk_method = rng.choice(4, n_walk, p=[0.45, 0.20, 0.25, 0.10])  # email, phone, loyalty, anonymous
    walk_email_hash = _sha256_hex(_join("walkin.", _rand_hex(rng, n_walk, 12), "@example.net"))
    walk_phone_hash = _sha256_hex(_join("+0", _rand_hex(rng, n_walk, 10)))  # not a valid contact phone
    walk_members = np.nonzero(walk_method == 2)[0]
    n_idle_members = round(0.2 * (walk_members.size + lead_loyalty.size)) + 1  # members never seen here
    # Walk-in members' ids have 9 digits, leads' 8: the two pools never collide.
    other_nums = 100_000_000 + rng.choice(900_000_000, size=walk_members.size + n_idle_members, replace=False)

    m = method[who]
    lead_card = _join("L", _num(loyalty_num))
    walk_card = _join("L", _num(other_nums[np.maximum(np.cumsum(walk_method == 2) - 1, 0)]))
    purchases = pa.table({
        "store": np.concatenate([store[who], walk_store]),
        "at": np.concatenate([at, walk_at]),
        "cents": np.concatenate([cents, walk_cents]).astype(np.int64),
        "email": pa.concat_arrays([
            pc.if_else(pa.array(m == 0), email_hash.take(pa.array(who)), pa.scalar(None, pa.string())),
            pc.if_else(pa.array(walk_method == 0), walk_email_hash, pa.scalar(None, pa.string()))]),
        "phone": pa.concat_arrays([
            pc.if_else(pa.array(m == 1), phone_hash.take(pa.array(who)), pa.scalar(None, pa.string())),
            pc.if_else(pa.array(walk_method == 1), walk_phone_hash, pa.scalar(None, pa.string()))]),
        "loyalty": pa.concat_arrays([
            pc.if_else(pa.array(m == 2), lead_card.take(pa.array(who)), pa.scalar(None, pa.string())),
            pc.if_else(pa.array(walk_method == 2), walk_card, pa.scalar(None, pa.string()))]),
    })  # fmt: skip
    purchases = purchases.take(pa.array(np.argsort(purchases.column("at").to_numpy(), kind="stable")))
    s = purchases.column("store").to_numpy()
    n_p = purchases.num_rows
    purchase_table = _table("raw_store", "purchases", {
        "transaction_id": _join("TX", _num(100_000_001 + np.arange(n_p))),
        "store_id": _decode(s, [x[0] for x in STORES]), "store_name": _decode(s, [x[1] for x in STORES]),
        "store_country": _decode(s, [x[2] for x in STORES]),
        "purchased_at": _ts(purchases.column("at").to_numpy()),
        "amount": _decimal(purchases.column("cents").to_numpy()),
        "currency_code": _decode(s, [x[3] for x in STORES]),
        "customer_email_sha256": purchases.column("email").combine_chunks(),
        "customer_phone_sha256": purchases.column("phone").combine_chunks(),
        "loyalty_id": purchases.column("loyalty").combine_chunks(),
    })  # fmt: skip

    # Loyalty members: leads who paid with their card (hashes of their contact details), walk-in members
    # and members who did not buy in the window.
    first_buy = f.won_us[buyer[lead_loyalty]]
    n_other = walk_members.size + n_idle_members
    other_email = _sha256_hex(_join("member.", _rand_hex(rng, n_other, 12), "@example.org"))
    other_phone = _sha256_hex(_join("+0", _rand_hex(rng, n_other, 10)))
    other_phone = pc.if_else(pa.array(rng.random(n_other) < 0.3), pa.scalar(None, pa.string()), other_phone)
    # Most members joined before the window, some during it; never after their first purchase here.
    joined_before = clock.start_us - (rng.random(n_other) * 900 * US_PER_D).astype(np.int64)
    joined_during = clock.start_us + (rng.random(n_other) * clock.days * US_PER_D).astype(np.int64)
    other_joined = np.where(rng.random(n_other) < 0.7, joined_before, joined_during)
    join_cap = np.concatenate([walk_at[walk_members], np.full(n_idle_members, clock.cutoff_us)])
    other_joined = np.minimum(other_joined, join_cap - US_PER_MIN)
    members = _table("raw_store", "loyalty_members", {
        "loyalty_id": pa.concat_arrays([lead_card.take(pa.array(lead_loyalty)), _join("L", _num(other_nums))]),
        "email_sha256": pa.concat_arrays([email_hash.take(pa.array(lead_loyalty)), other_email]),
        "phone_sha256": pa.concat_arrays([phone_hash.take(pa.array(lead_loyalty)), other_phone]),
        "joined_at": _ts(np.concatenate([first_buy - (rng.random(lead_loyalty.size) * 30 * US_PER_MIN).astype(np.int64),
                                         other_joined])),
    })  # fmt: skip
    members = members.take(pa.array(np.argsort(members.column("joined_at").to_numpy().astype(np.int64), kind="stable")))
    return {("raw_store", "purchases"): purchase_table, ("raw_store", "loyalty_members"): members}


# ---------------------------------------------------------------------------------------------------
# Ad platform stats: built from the paid sessions so clicks always cover the sessions they caused
# ---------------------------------------------------------------------------------------------------


def _ad_tables(rng: np.random.Generator, clock: _Clock, ads: _Ads, web: _Web) -> dict[tuple[str, str], pa.Table]:
    n_ads, days = ads.active.shape
    paid = web.session_ad >= 0
    cell = web.session_ad[paid] * days + web.session_day[paid]
    sessions = np.bincount(cell, minlength=n_ads * days).reshape(n_ads, days)
    lead_cell = web.session_ad[paid & web.lead_first_session] * days + web.session_day[paid & web.lead_first_session]
    leads = np.bincount(lead_cell, minlength=n_ads * days).reshape(n_ads, days)
    if (sessions[~ads.active] > 0).any():
        raise AssertionError("paid sessions on a day the ad had no stats row")

    day_idx, ad_idx = np.nonzero(ads.active.T)  # day-major, like the platforms' daily reports
    s = sessions[ad_idx, day_idx]
    # Not every click becomes a tracked session (bounces before the tag fires, blocked cookies).
    landing_rate = rng.uniform(0.78, 0.92, s.size)
    clicks = np.ceil(s / landing_rate).astype(np.int64) + rng.poisson(0.3, s.size)
    zero_spend = (s == 0) & (rng.random(s.size) < 0.01)  # paused mid-day or budget exhausted
    clicks = np.where(zero_spend, 0, clicks)
    platform = ads.platform[ad_idx]
    ctr_base = np.array([0.045, 0.011, 0.006])[platform]
    ctr_base = np.where(np.array(ads.campaign_type)[ad_idx] == "DISPLAY", 0.005, ctr_base)
    impressions = np.round(clicks / (ctr_base * rng.lognormal(0, 0.25, s.size))).astype(np.int64)
    impressions = np.maximum(impressions, clicks) + rng.poisson(3, s.size)
    cpc = np.array([0.95, 0.55, 4.8])[platform] * rng.lognormal(0, 0.3, s.size)  # account currency
    cost_cents = np.where(zero_spend, 0, np.round(clicks * cpc * 100)).astype(np.int64)
    conversions = np.round(leads[ad_idx, day_idx] * rng.uniform(0.7, 1.25, s.size)).astype(np.int64)
    day_us = clock.day_us(day_idx)
    date32 = (day_us // US_PER_D).astype(np.int32)
    dates = [d.isoformat() for d in clock.dates]

    def pick(idx: np.ndarray, values: list[str]) -> pa.Array:
        return _decode(ad_idx[idx], values)

    g = np.nonzero(platform == PLATFORM_GOOGLE)[0]
    acc = ads.account[PLATFORM_GOOGLE]
    google = _table("raw_google_ads", "ad_stats", {
        "customer_id": np.full(g.size, acc[0], object), "customer_descriptive_name": np.full(g.size, acc[1], object),
        "customer_currency_code": np.full(g.size, acc[2], object), "customer_time_zone": np.full(g.size, acc[3], object),
        "campaign_id": pick(g, ads.campaign_id), "campaign_name": pick(g, ads.campaign_name),
        "campaign_advertising_channel_type": pick(g, ads.campaign_type),
        "ad_group_id": pick(g, ads.group_id), "ad_group_name": pick(g, ads.group_name),
        "ad_group_ad_ad_id": pick(g, ads.ad_id), "segments_date": pa.array(date32[g], pa.date32()),
        "metrics_impressions": impressions[g], "metrics_clicks": clicks[g],
        "metrics_cost_micros": cost_cents[g] * 10_000,
        "metrics_conversions": np.round(conversions[g] * rng.uniform(0.9, 1.1, g.size), 2),
    })  # fmt: skip

    m = np.nonzero(platform == PLATFORM_META)[0]
    acc = ads.account[PLATFORM_META]
    date_str = _decode(day_idx[m], dates)
    actions = pc.if_else(
        pa.array(conversions[m] > 0),
        _join('[{"action_type":"lead","value":"', _num(conversions[m]), '"}]'),
        pa.scalar("[]"),
    )
    meta = _table("raw_meta_ads", "ad_insights", {
        "account_id": np.full(m.size, acc[0], object), "account_name": np.full(m.size, acc[1], object),
        "account_currency": np.full(m.size, acc[2], object),
        "campaign_id": pick(m, ads.campaign_id), "campaign_name": pick(m, ads.campaign_name),
        "adset_id": pick(m, ads.group_id), "adset_name": pick(m, ads.group_name),
        "ad_id": pick(m, ads.ad_id), "ad_name": pick(m, ads.ad_name),
        "date_start": date_str, "date_stop": date_str,
        "impressions": _num(impressions[m]), "clicks": _num(clicks[m]), "spend": _cents_str(cost_cents[m]),
        "actions": actions,
    })  # fmt: skip

    li = np.nonzero(platform == PLATFORM_LINKEDIN)[0]
    acc = ads.account[PLATFORM_LINKEDIN]
    linkedin = _table("raw_linkedin_ads", "ad_analytics", {
        "account_id": np.full(li.size, acc[0], object), "account_name": np.full(li.size, acc[1], object),
        "account_currency": np.full(li.size, acc[2], object),
        "campaign_group_id": pick(li, ads.group_id), "campaign_group_name": pick(li, ads.group_name),
        "campaign_id": pick(li, ads.campaign_id), "campaign_name": pick(li, ads.campaign_name),
        "pivot_value": _join("urn:li:sponsoredCreative:", pick(li, ads.ad_id)),
        "date_range_start": pa.array(date32[li], pa.date32()),
        "impressions": impressions[li], "clicks": clicks[li], "cost_in_local_currency": _cents_str(cost_cents[li]),
        "external_website_conversions": conversions[li],
    })  # fmt: skip
    return {
        ("raw_google_ads", "ad_stats"): google,
        ("raw_meta_ads", "ad_insights"): meta,
        ("raw_linkedin_ads", "ad_analytics"): linkedin,
    }


# ---------------------------------------------------------------------------------------------------
# Truth
# ---------------------------------------------------------------------------------------------------


def _truth(params: WorldParams, owners: _Owners, ads: _Ads, row_counts: dict[str, int]) -> Truth:
    channels = {}
    for code in range(8):
        p_mql, p_sql, p_opp, p_win = FUNNEL[code]
        channels[CHANNELS[code]] = ChannelTruth(
            lead_share=float(LEAD_CHANNEL_MIX[code]), p_mql=p_mql, p_sql=p_sql, p_opp=p_opp, p_win=p_win,
            p_customer=round(p_mql * p_sql * p_opp * p_win, 10), original_source=ORIGINAL_SOURCE[code],
        )  # fmt: skip
    owner_truth = {
        oid: OwnerTruth(name=f"{o[0]} {o[1]}", region=o[2], median_response_hours=o[3])
        for oid, o in zip(owners.ids, OWNERS)
    }
    platform_names = {PLATFORM_GOOGLE: "google_ads", PLATFORM_META: "meta_ads", PLATFORM_LINKEDIN: "linkedin_ads"}
    return Truth(
        params=params,
        channels=channels,
        channel_mix={CHANNELS[c]: float(LEAD_CHANNEL_MIX[c]) for c in range(8)},
        store_close_share=STORE_CLOSE_SHARE,
        repeat_store_purchase_share=REPEAT_STORE_PURCHASE_SHARE,
        walk_in_share_target=WALK_IN_SHARE,
        owner_median_response_hours={oid: t.median_response_hours for oid, t in owner_truth.items()},
        owners=owner_truth,
        ad_accounts=[
            AdAccountTruth(platform=platform_names[p], account_id=a[0], currency=a[2], time_zone=a[3])
            for p, a in ads.account.items()
        ],
        fx_per_eur=FX_PER_EUR,
        notes=[
            (
                "Web sessions start between 02:00 and 21:30 UTC, so their calendar day is the same in UTC, "
                "Europe/London and Europe/Madrid (the ad accounts' time zones)."
            ),
            (
                "p_customer = p_mql * p_sql * p_opp * p_win; a won opportunity is a customer either via a "
                "closedwon deal or via a matched in-store purchase at the won time."
            ),
            "Events after the end of end_date (UTC) have not happened: their timestamps are null.",
        ],
        row_counts=row_counts,
    )


def _contact_merges(
    rng: np.random.Generator, clock: _Clock, forms: pa.Table, contacts: pa.Table
) -> tuple[pa.Table, pa.Table]:
    """Give a share of second form submissions a personal e-mail that created a duplicate contact,
    merged into the original soon after; returns the rewritten form submissions and the merges."""
    contact_of_email = dict(zip(contacts.column("email").to_pylist(), contacts.column("contact_id").to_pylist()))
    emails = [e.strip().lower() for e in forms.column("email").to_pylist()]
    submitted = forms.column("submitted_at").cast(pa.int64()).to_numpy()
    # By e-mail (as integer codes), then time, then row: every submission after a person's first.
    codes = pa.array(emails, pa.string()).dictionary_encode().indices.to_numpy(zero_copy_only=False)
    order = np.lexsort((submitted, codes))
    sorted_codes = codes[order]
    second = np.zeros(len(emails), bool)
    second[order[1:]] = sorted_codes[1:] == sorted_codes[:-1]
    rows = np.nonzero(second & (rng.random(len(emails)) < MERGED_SHARE_OF_SECOND_FORMS))[0]
    known = set(contact_of_email)
    new_email = list(forms.column("email").to_pylist())
    merged, survivor, merged_email, merged_at = [], [], [], []
    for k, i in enumerate(rows):
        local = emails[i].split("@")[0]
        alt = f"{local}.home{k}@{PERSONAL_EMAIL_DOMAINS[k % len(PERSONAL_EMAIL_DOMAINS)]}"
        at = int(submitted[i]) + int(rng.integers(US_PER_H, 48 * US_PER_H))
        if alt in known or at >= clock.cutoff_us:
            continue  # not merged by the cutoff: keep the form as it was
        new_email[i] = alt
        merged.append(str(MERGED_CONTACT_ID_START + k))
        survivor.append(contact_of_email[emails[i]])
        merged_email.append(alt)
        merged_at.append(at)
    forms = forms.set_column(forms.schema.get_field_index("email"), "email", pa.array(new_email, pa.string()))
    merges = _table("raw_crm", "contact_merges", {
        "merged_contact_id": pa.array(merged, pa.string()),
        "merged_into_contact_id": pa.array(survivor, pa.string()),
        "email": pa.array(merged_email, pa.string()),
        "merged_at": _ts(np.array(merged_at, np.int64)),
    })  # fmt: skip
    return forms, merges


def _attribution_truth(people: _People, merged_contacts: int) -> AttributionTruth:
    web = people.channel[people.channel != OFFLINE]
    design = LEAD_CHANNEL_MIX[:OFFLINE] / LEAD_CHANNEL_MIX[:OFFLINE].sum()
    realised = np.bincount(web, minlength=OFFLINE) / max(1, web.size)
    return AttributionTruth(
        causal_rule=(
            "A web lead is caused by the channel of its first session; later sessions, second forms and "
            "sessions of visitors who never convert have no effect on lead conversion."
        ),
        lead_channel_share={CHANNELS[c]: round(float(design[c]), 10) for c in range(OFFLINE)},
        realised_lead_channel_share={CHANNELS[c]: round(float(realised[c]), 10) for c in range(OFFLINE)},
        merged_contacts=merged_contacts,
    )


def truth_json(world: World) -> str:
    return json.dumps(world.truth.model_dump(mode="json"), indent=2)
