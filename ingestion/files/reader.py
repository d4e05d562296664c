"""Read an export (CSV, XLSX, Parquet) into header + text records with their line numbers.

Handles what real exports look like: UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 /
Latin-1, ``;`` ``,`` tab or ``|`` separators, CRLF, quoted fields with separators or newlines, trailing
separators. A file that cannot be read as a table at all raises ``FileRejected`` with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
_DELIMITERS = (";", ",", "\t", "|")


class FileRejected(ValueError):
    """The whole file is unusable (empty, unreadable, wrong columns); it is moved aside."""


@dataclass
class Record:
    line: int  # 1-based line (CSV: first physical line of the record; XLSX: sheet row)
    values: list[str | None]


@dataclass
class RawFile:
    header: list[str]
    records: list[Record]
    encoding: str = ""
    delimiter: str = ""
    blank_lines: int = 0
    notes: list[str] = field(default_factory=list)


def read_file(path: Path, encoding: str = "auto", delimiter: str = "auto", sheet: str | None = None,
              skip_rows: int = 0) -> RawFile:  # fmt: skip
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise FileRejected(f"unsupported file type {suffix or '(none)'}; expected one of {SUPPORTED_SUFFIXES}")
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise FileRejected("empty file")
    if suffix == ".xlsx":
        return _read_xlsx(path, sheet, skip_rows)
    if suffix == ".parquet":
        return _read_parquet(path)
    text, used = decode(data, encoding)
    return _read_csv(text, used, delimiter, skip_rows, tab=suffix == ".tsv")


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Text and the encoding used. Auto: BOM, else strict UTF-8, else Windows-1252, else Latin-1."""
    if encoding != "auto":
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileRejected(f"cannot decode as {encoding}: {exc}") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252", "latin-1"]
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise FileRejected(f"unreadable encoding: NUL bytes after decoding as {candidate} (binary or UTF-16 without BOM?)")
        bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
        if bad > max(3, len(text) // 100):
            raise FileRejected(f"unreadable encoding: {bad} control characters after decoding as {candidate}")
        return text, candidate
    raise FileRejected(f"unreadable encoding: not {', '.join(candidates)}")


def sniff_delimiter(header_line: str) -> str:
    counts = {d: _count_outside_quotes(header_line, d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, char: str) -> int:
    inside, count = False, 0
    for ch in line:
        if ch == '"':
            inside = not inside
        elif ch == char and not inside:
            count += 1
    return count


def _read_csv(text: str, encoding: str, delimiter: str, skip_rows: int, tab: bool) -> RawFile:
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first = next((ln for ln in lines[skip_rows:] if ln.strip()), "")
    if delimiter == "auto":
        delimiter = "\t" if tab else sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    rows: list[Record] = []
    header: list[str] | None = None
    blank = 0
    previous_end = 0
    try:
        for values in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if start <= skip_rows:
                continue
            if not any(v.strip() for v in values):
                blank += 1 if header is not None else 0
                continue
            if header is None:
                header = values
                header_line = start
                continue
            rows.append(Record(line=start, values=list(values)))
    except csv.Error as exc:
        raise FileRejected(f"not a readable CSV near line {reader.line_num}: {exc}") from exc
    if header is None:
        raise FileRejected("empty file: no header row")
    result = RawFile(header=header, records=rows, encoding=encoding, delimiter=delimiter, blank_lines=blank)
    _tidy_header(result, header_line)
    return result


def _tidy_header(raw: RawFile, header_line: int) -> None:
    """Strip names; drop unnamed trailing columns that hold nothing (trailing separators)."""
    header = [h.strip().strip("\ufeff") for h in raw.header]
    while header and header[-1] == "":
        position = len(header) - 1
        if any(len(r.values) > position and (r.values[position] or "").strip() for r in raw.records):
            raise FileRejected(f"line {header_line}: column {position + 1} has no name but holds values")
        header.pop()
        raw.notes.append("dropped an empty trailing column (trailing separator)")
    unnamed = [i + 1 for i, h in enumerate(header) if h == ""]
    if unnamed:
        raise FileRejected(f"line {header_line}: columns {unnamed} have no name")
    seen: set[str] = set()
    duplicates = sorted({h for h in header if h.lower() in seen or seen.add(h.lower())})
    if duplicates:
        raise FileRejected(f"line {header_line}: duplicate column names {duplicates}")
    raw.header = header


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, sheet: str | None, skip_rows: int) -> RawFile:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt workbook
        raise FileRejected(f"not a readable XLSX workbook: {exc}") from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise FileRejected(f"sheet {sheet!r} not found; sheets: {book.sheetnames}")
        ws = book[sheet] if sheet else book.worksheets[0]
        header: list[str] | None = None
        rows: list[Record] = []
        blank = 0
        header_line = 0
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if number <= skip_rows:
                continue
            texts = [_cell_text(v) for v in values]
            if not any(t is not None and t.strip() for t in texts):
                blank += 1 if header is not None else 0
                continue
            if header is None:
                header, header_line = [t or "" for t in texts], number
                continue
            rows.append(Record(line=number, values=texts))
    finally:
        book.close()
    if header is None:
        raise FileRejected("empty file: the sheet has no header row")
    result = RawFile(header=header, records=rows, encoding="xlsx", delimiter="", blank_lines=blank)
    _tidy_header(result, header_line)
    return result


def _read_parquet(path: Path) -> RawFile:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...
        raise FileRejected(f"not a readable Parquet file: {exc}") from exc
    header = list(table.column_names)
    rows = [
        Record(line=i + 1, values=[_cell_text(row[c]) for c in header])
        for i, row in enumerate(table.to_pylist())
    ]
    return RawFile(header=header, records=rows, encoding="parquet", delimiter="")
