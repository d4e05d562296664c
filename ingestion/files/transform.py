"""Apply a mapping to a read file: contract-typed rows to load, and quarantined rows with reasons."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pyarrow as pa

from ingestion.files.mapping import ColumnMapping, FileMapping
from ingestion.files.reader import FileRejected, RawFile
from ingestion.raw_schema import RAW_TABLES
from ingestion.sources import PRIMARY_KEYS

# Misspellings seen in hand-built campaign URLs, on top of case / '-' / space normalisation.
URL_PARAM_ALIASES = {
    "utm_souce": "utm_source", "utm_sorce": "utm_source", "utm_soruce": "utm_source", "utmsource": "utm_source",
    "utm_src": "utm_source", "utm_mediun": "utm_medium", "utm_medum": "utm_medium", "utm_meduim": "utm_medium",
    "utmmedium": "utm_medium", "utm_campain": "utm_campaign", "utm_campaing": "utm_campaign",
    "utm_cmapaign": "utm_campaign", "utm_campagin": "utm_campaign", "utmcampaign": "utm_campaign",
    "utm_conent": "utm_content", "utm_contnet": "utm_content", "utm_contet": "utm_content",
    "utm_trem": "utm_term", "utm_tern": "utm_term", "glcid": "gclid", "gclick": "gclid",
}  # fmt: skip
_CURRENCY = re.compile(r"^[\s€$£]*|[\s€$£]*$|\s*(EUR|USD|GBP)\s*$", re.IGNORECASE)


class FieldError(ValueError):
    pass


@dataclass
class Quarantined:
    line: int
    field: str
    value: str | None
    reason: str
    record: dict[str, str | None]


@dataclass
class Transformed:
    rows: pa.Table
    quarantined: list[Quarantined]
    rows_in: int
    quarantined_lines: int
    unmapped_columns: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).strip().lower().split())


def transform(raw: RawFile, mapping: FileMapping) -> Transformed:
    contract = RAW_TABLES[mapping.schema_name][mapping.table]
    keys = PRIMARY_KEYS[mapping.schema_name][mapping.table]
    positions = {_norm(h): i for i, h in enumerate(raw.header)}
    missing = [spec.from_ for spec in mapping.columns.values() if _norm(spec.from_) not in positions]
    if missing:
        raise FileRejected(
            f"wrong columns for mapping {mapping.name!r} ({mapping.schema_name}.{mapping.table}): "
            f"missing {missing}; the file has {raw.header}"
        )
    used = {_norm(spec.from_) for spec in mapping.columns.values()}
    unmapped = [h for h in raw.header if _norm(h) not in used]
    required = set(keys) | {c for c, spec in mapping.columns.items() if spec.required}
    unprovided = sorted(c for c in required if c not in mapping.columns and mapping.constants.get(c) is None)
    if unprovided:
        raise FileRejected(f"mapping {mapping.name!r} does not provide the key/required columns {unprovided}")
    width = len(raw.header)
    out: dict[str, list[object]] = {c: [] for c in contract}
    quarantined: list[Quarantined] = []
    bad_lines: set[int] = set()
    seen_keys: dict[tuple[object, ...], int] = {}
    for record in raw.records:
        values = record.values
        extra = values[width:]
        as_dict = {h: (values[i] if i < len(values) else None) for i, h in enumerate(raw.header)}
        if extra and any((v or "").strip() for v in extra):
            as_dict["_extra_fields"] = json.dumps(extra, ensure_ascii=False)
            quarantined.append(Quarantined(record.line, "*", None,
                                           f"row has {len(values)} fields, the header has {width}", as_dict))
            bad_lines.add(record.line)
            continue
        if len(values) < width:
            quarantined.append(Quarantined(record.line, "*", None,
                                           f"row has {len(values)} fields, the header has {width}", as_dict))
            bad_lines.add(record.line)
            continue
        row: dict[str, object] = {}
        errors: list[Quarantined] = []
        for column, sql_type in contract.items():
            spec = mapping.columns.get(column)
            if spec is None:
                row[column] = mapping.constants.get(column)
                continue
            value = values[positions[_norm(spec.from_)]]
            try:
                parsed = parse_value(value, sql_type, spec, mapping)
            except FieldError as exc:
                errors.append(Quarantined(record.line, column, value, str(exc), as_dict))
                continue
            if parsed is None and column in required:
                errors.append(Quarantined(record.line, column, value, f"required field {column} is empty", as_dict))
                continue
            row[column] = parsed
        if not errors:
            key = tuple(row[k] for k in keys)
            if key in seen_keys:
                errors.append(Quarantined(record.line, ",".join(keys), str(key if len(key) > 1 else key[0]),
                                          f"duplicate key: same {', '.join(keys)} as line {seen_keys[key]}", as_dict))
            else:
                seen_keys[key] = record.line
        if errors:
            quarantined.extend(errors)
            bad_lines.add(record.line)
            continue
        for column in contract:
            out[column].append(row[column])
    arrow = pa.table({c: pa.array(v, type=_arrow_type(t)) for (c, v), t in zip(out.items(), contract.values())})
    return Transformed(rows=arrow, quarantined=quarantined, rows_in=len(raw.records),
                       quarantined_lines=len(bad_lines), unmapped_columns=unmapped)  # fmt: skip


def _arrow_type(sql_type: str) -> pa.DataType:
    if sql_type in ("BIGINT", "INTEGER"):
        return pa.int64()
    if sql_type == "DOUBLE":
        return pa.float64()
    if sql_type.startswith("DECIMAL"):
        return pa.decimal128(18, 2)
    if sql_type == "BOOLEAN":
        return pa.bool_()
    if sql_type == "TIMESTAMP":
        return pa.timestamp("us")
    if sql_type == "DATE":
        return pa.date32()
    return pa.string()


def parse_value(value: str | None, sql_type: str, spec: ColumnMapping, mapping: FileMapping) -> object:
    """One cell to its contract type; ``FieldError`` with the reason when it cannot be."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value).strip()
    if text.lower() in mapping.nulls:
        return None
    if spec.values:
        lookup = {k.strip().lower(): v for k, v in spec.values.items()}
        if text.lower() in lookup:
            mapped = lookup[text.lower()]
            if mapped is None:
                return None
            text = str(mapped)
        elif spec.strict_values:
            raise FieldError(f"value {text!r} is not in the mapping's value map {sorted(spec.values)}")
    if sql_type == "VARCHAR":
        return normalise_url(text, mapping.url_param_aliases) if spec.url else text
    if sql_type in ("BIGINT", "INTEGER"):
        number = _decimal(text, mapping)
        if number != number.to_integral_value():
            raise FieldError(f"{text!r} is not a whole number")
        if sql_type == "INTEGER" and abs(number) > 2**31 - 1:
            raise FieldError(f"{text!r} is out of range for INTEGER")
        return int(number)
    if sql_type == "DOUBLE":
        return float(_decimal(text, mapping))
    if sql_type.startswith("DECIMAL"):
        number = _decimal(text, mapping)
        if abs(number) >= Decimal(10) ** 16:
            raise FieldError(f"{text!r} is out of range for {sql_type}")
        return number.quantize(Decimal("0.01"))
    if sql_type == "BOOLEAN":
        if text.lower() in mapping.trues:
            return True
        if text.lower() in mapping.falses:
            return False
        raise FieldError(f"{text!r} is not a boolean spelling (true: {sorted(mapping.trues)[:6]}..., false: ...)")
    if sql_type == "TIMESTAMP":
        return _timestamp(text, spec.formats or mapping.datetime_formats, spec.timezone or mapping.timezone)
    if sql_type == "DATE":
        return _date(text, spec.formats or mapping.date_formats or mapping.datetime_formats)
    return text


def _decimal(text: str, mapping: FileMapping) -> Decimal:
    cleaned = _CURRENCY.sub("", text).replace("\u00a0", "").replace(" ", "")
    if mapping.thousands_separator:
        cleaned = cleaned.replace(mapping.thousands_separator, "")
    if mapping.decimal_separator != ".":
        if "." in cleaned and not mapping.thousands_separator:
            raise FieldError(f"{text!r}: '.' in a number whose decimal separator is {mapping.decimal_separator!r}")
        cleaned = cleaned.replace(mapping.decimal_separator, ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise FieldError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise FieldError(f"{text!r} is not a finite number")
    return number


def _timestamp(text: str, formats: list[str], timezone: str) -> dt.datetime:
    parsed: dt.datetime | None = None
    for fmt in formats:
        if fmt in ("epoch_ms", "epoch_s"):
            try:
                seconds = float(text) / (1000 if fmt == "epoch_ms" else 1)
            except ValueError:
                continue
            return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)
        try:
            parsed = dt.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            expected = formats or ["ISO 8601"]
            raise FieldError(f"{text!r} does not match the timestamp formats {expected}") from None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
        except (KeyError, ValueError):
            raise FieldError(f"unknown time zone {timezone!r}") from None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def _date(text: str, formats: list[str]) -> dt.date:
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
    except ValueError:
        raise FieldError(f"{text!r} does not match the date formats {formats or ['YYYY-MM-DD']}") from None


def normalise_url(text: str, aliases: dict[str, str]) -> str:
    """Decode a fully percent-encoded URL, or a query string encoded on its own (``?utm_source%3Dgoogle%26
    utm_medium%3Dcpc``); lower-case and de-typo query keys (utm_souce → utm_source)."""
    if re.match(r"^https?%3A", text, re.IGNORECASE):
        text = unquote(text)
    parts = urlsplit(text)
    if not parts.query:
        return text
    # A query part with no '=' but an encoded one was encoded whole: decode it (its '%26' become '&').
    # Parts that already read key=value keep their encoded values (a '%3D' inside a value stays data).
    decoded = [unquote(part) if "=" not in part and re.search(r"%3D", part, re.IGNORECASE) else part
               for part in parts.query.split("&")]  # fmt: skip
    parts = parts._replace(query="&".join(decoded))
    known = {**URL_PARAM_ALIASES, **{k.lower(): v for k, v in aliases.items()}}
    pairs = []
    for key, val in parse_qsl(parts.query, keep_blank_values=True):
        clean = re.sub(r"[\s\-]+", "_", key.strip().lower())
        pairs.append((known.get(clean, clean), val))
    return urlunsplit(parts._replace(query=urlencode(pairs)))
