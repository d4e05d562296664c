"""File mode: a corpus of real-world, malformed and awkward exports, each with its expected outcome.

Every load must reconcile (rows in = rows loaded + rows quarantined) and every quarantined row names
file, line, field and reason; a file rejected whole moves aside and leaves earlier loads untouched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.files.loader import load_file
from ingestion.raw_schema import RAW_TABLES

ROOT = Path(__file__).resolve().parent.parent
CONTACT_COLUMNS = list(RAW_TABLES["raw_crm"]["contacts"])
ES_HEADER = [
    "ID de registro", "Nombre", "Apellidos", "Correo", "Número de teléfono", "ID de empresa asociada", "Cargo",
    "País/región", "Fuente original", "ID del propietario del contacto", "Etapa del ciclo de vida",
    "Estado del lead", "Fecha de creación", "Fecha en que se convirtió en lead",
    "Fecha en que se convirtió en lead calificado para marketing",
    "Fecha en que se convirtió en lead calificado para ventas", "Fecha en que se convirtió en oportunidad",
    "Fecha en que se convirtió en cliente", "Última modificación",
]  # fmt: skip


def contact(i: int, **overrides: str) -> dict[str, str]:
    row = {c: "" for c in CONTACT_COLUMNS}
    row.update(contact_id=f"c{i}", email=f"person{i}@example.com", first_name=f"Name{i}", last_name="Smith",
               country="ES", original_source="PAID_SEARCH", lifecycle_stage="lead",
               created_at=f"2026-03-0{i} 10:00:00", became_lead_at=f"2026-03-0{i} 10:00:00",
               updated_at=f"2026-03-0{i} 11:00:00")  # fmt: skip
    row.update(overrides)
    return row


def contacts_csv(rows: list[dict[str, str]], sep: str = ",", newline: str = "\n", trailing: str = "") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator=trailing + newline)
    writer.writerow(CONTACT_COLUMNS)
    writer.writerows([[r[c] for c in CONTACT_COLUMNS] for r in rows])
    return out.getvalue()


def es_row(i: int, name: str = "José", last: str = "Muñoz Peña", **o: str) -> list[str]:
    row = {h: "" for h in ES_HEADER}
    row.update({"ID de registro": f"10{i}", "Nombre": name, "Apellidos": last, "Correo": f"p{i}@example.es",
                "País/región": "España", "Fuente original": "Búsqueda de pago", "Etapa del ciclo de vida": "Lead",
                "Estado del lead": "Nuevo", "Fecha de creación": "15/07/2026 10:30",
                "Fecha en que se convirtió en lead": "15/07/2026 10:30", "Última modificación": "20/01/2026 09:00"})
    row.update(o)
    return [row[h] for h in ES_HEADER]


def es_csv(rows: list[list[str]], sep: str = ";", newline: str = "\r\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator=newline)
    writer.writerow(ES_HEADER)
    writer.writerows(rows)
    return out.getvalue()


def xlsx_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parquet_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


@dataclass
class Case:
    id: str
    source: str
    name: str
    content: bytes
    status: str
    loaded: int = 0
    quarantined: int = 0
    reason: str | None = None  # regex on the rejection reason or on the quarantine reasons
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None
    quarantine: list[tuple[int, str]] = field(default_factory=list)  # expected (line, field)


def q(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _names(con):
    assert q(con, "select first_name, last_name from raw_crm.contacts order by contact_id") == [
        ("José", "Muñoz Peña"), ("Begoña", "Ibáñez")]


ES_TWO = [es_row(1), es_row(2, "Begoña", "Ibáñez")]
SESSION_HEADER = ["Sesión", "Visitante", "Inicio", "URL de entrada", "Referente", "Dispositivo", "País", "Páginas"]
FORMS_HEADER = ["id", "sesion", "visitante", "fecha", "formulario", "correo", "acepta comunicaciones"]
DEALS_HEADER = ["Deal - ID", "Deal - Title", "Deal - Contact person ID", "Deal - Status", "Deal - Value",
                "Deal - Currency", "Deal - Deal created", "Deal - Won time"]  # fmt: skip


def _csv(header: list[str], rows: list[list[str]], sep: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode()


CASES = [
    Case("identity_utf8", "crm", "contacts.csv", contacts_csv([contact(1), contact(2), contact(3)]).encode(),
         "loaded", 3),
    Case("utf8_bom", "crm", "contacts-bom.csv", b"\xef\xbb\xbf" + contacts_csv([contact(1), contact(2)]).encode(),
         "loaded", 2, check=lambda con: q(con, "select count(*) from raw_crm.contacts where contact_id='c1'") == [(1,)]),
    Case("cp1252_spanish_semicolon_crlf", "crm", "contactos-2026.csv", es_csv(ES_TWO).encode("cp1252"), "loaded", 2,
         check=_names),
    Case("latin1_spanish", "crm", "contactos-latin1.csv", es_csv(ES_TWO).encode("latin-1"), "loaded", 2,
         check=_names),
    Case("cp1252_euro_and_curly_quotes", "crm", "contactos-comillas.csv",
         es_csv([es_row(1, Cargo="Jefa de “Compras” (5.000 €)"),
                 es_row(2, "Begoña", "Ibáñez", Cargo="Dirección – ‘Ventas’ …")]).encode("cp1252"), "loaded", 2,
         check=lambda con: q(con, "select list(job_title order by contact_id), list(last_name order by contact_id) "
                                  "from raw_crm.contacts")
         == [(["Jefa de “Compras” (5.000 €)", "Dirección – ‘Ventas’ …"], ["Muñoz Peña", "Ibáñez"])]),
    Case("utf8_spanish_comma_lf", "crm", "contactos-utf8.csv", es_csv(ES_TWO, ",", "\n").encode(), "loaded", 2,
         check=_names),
    Case("semicolon_identity", "crm", "contacts-semi.csv", contacts_csv([contact(1)], sep=";").encode(), "loaded", 1),
    Case("crlf_identity", "crm", "contacts-crlf.csv", contacts_csv([contact(1), contact(2)], newline="\r\n").encode(),
         "loaded", 2, check=lambda con: q(con, "select max(length(updated_at::varchar)) from raw_crm.contacts") == [(19,)]),
    Case("trailing_separators", "crm", "contacts-trailing.csv",
         contacts_csv([contact(1), contact(2)], sep=";", trailing=";").encode(), "loaded", 2),
    Case("quoted_commas_quotes_semicolons", "crm", "contacts-quoted.csv",
         contacts_csv([contact(1, job_title='Jefa, "compras"; norte')]).encode(), "loaded", 1,
         check=lambda con: q(con, "select job_title from raw_crm.contacts") == [('Jefa, "compras"; norte',)]),
    Case("quoted_newline_keeps_line_numbers", "crm", "contacts-multiline.csv",
         contacts_csv([contact(1, job_title="line one\nline two"), contact(2, created_at="yesterday")]).encode(),
         "loaded", 1, 1, quarantine=[(4, "created_at")]),
    Case("placeholders_are_null", "crm", "contacts-placeholders.csv",
         contacts_csv([contact(1, job_title="Select", phone="N/A", owner_id="nan", company_id="-",
                               job_role="#N/A")]).encode(), "loaded", 1,
         check=lambda con: q(con, "select job_title, phone, owner_id, company_id, job_role from raw_crm.contacts")
         == [(None, None, None, None, None)]),
    Case("boolean_spellings", "web", "formularios-1.csv",
         _csv(FORMS_HEADER, [[f"s{i}", "x", "a", "2026-05-01 10:00:00", "demo_request", f"f{i}@x.es", v]
                             for i, v in enumerate(["Sí", "no", "X", "FALSE", "1", "Select"])]), "loaded", 6,
         check=lambda con: q(con, "select list(consent_marketing order by submission_id) from raw_web.form_submissions")
         == [([True, False, True, False, True, None],)]),
    Case("unknown_boolean_quarantined", "web", "formularios-2.csv",
         _csv(FORMS_HEADER, [["s1", "x", "a", "2026-05-01 10:00:00", "d", "a@x.es", "maybe"],
                             ["s2", "x", "a", "2026-05-01 10:00:00", "d", "b@x.es", "yes"]]),
         "loaded", 1, 1, reason="not a boolean spelling", quarantine=[(2, "consent_marketing")]),
    Case("value_map_lead_sources", "crm", "contactos-fuentes.csv",
         es_csv([es_row(1, **{"Fuente original": "búsqueda DE PAGO"}), es_row(2, **{"Fuente original": "Redes sociales"}),
                 es_row(3, **{"Fuente original": "Seleccionar"}), es_row(4, **{"Fuente original": "Algo nuevo"})]).encode(),
         "loaded", 4,
         check=lambda con: q(con, "select list(original_source order by contact_id) from raw_crm.contacts")
         == [(["PAID_SEARCH", "SOCIAL_MEDIA", None, "Algo nuevo"],)]),
    Case("madrid_time_to_utc_both_offsets", "crm", "contactos-tz.csv",
         es_csv([es_row(1, **{"Fecha de creación": "15/07/2026 10:30"}),
                 es_row(2, **{"Fecha de creación": "15/01/2026 10:30"})]).encode(), "loaded", 2,
         check=lambda con: q(con, "select list(created_at order by contact_id) from raw_crm.contacts")
         == [([dt.datetime(2026, 7, 15, 8, 30), dt.datetime(2026, 1, 15, 9, 30)],)]),
    Case("decimal_comma_amounts_and_strict_value_map", "crm", "pipedrive-deals-1.csv",
         _csv(DEALS_HEADER, [["d1", "Mesa", "c1", "won", "1.234,56 €", "EUR", "2026-02-01 10:00:00", "2026-02-09 10:00:00"],
                             ["d2", "Silla", "c2", "lost", "89,90", "EUR", "2026-02-01 10:00:00", ""],
                             ["d3", "Lámpara", "c3", "ganado", "10", "EUR", "2026-02-01 10:00:00", ""]], sep=";"),
         "loaded", 2, 1, reason="not in the mapping's value map", quarantine=[(4, "deal_stage")],
         check=lambda con: q(con, "select list(amount order by deal_id), list(deal_stage order by deal_id) from raw_crm.deals")
         == [([Decimal("1234.56"), Decimal("89.90")], ["closedwon", "closedlost"])]),
    Case("url_encoded_and_misspelled_utm_keys", "web", "sesiones-1.csv",
         _csv(SESSION_HEADER, [
             ["s1", "a1", "01/05/2026 10:00", "https%3A%2F%2Fshop.example%2F%3Futm_source%3Dgoogle%26utm_medium%3Dcpc%26gclid%3Dabc",
              "", "Ordenador", "ES", "3"],
             ["s2", "a2", "01/05/2026 11:00", "https://shop.example/?utm_souce=facebook&UTM-Medium=paid_social&utm_campain=Rebajas%20de%20verano",
              "https://www.facebook.com/", "Móvil", "ES", "1"],
             ["s3", "a3", "01/05/2026 12:00", "https://shop.example/?fuente=newsletter", "", "Tableta", "PT", "2"]]),
         "loaded", 3,
         check=lambda con: q(con, "select list(landing_page_url order by session_id), list(device_category order by session_id) from raw_web.sessions")
         == [(["https://shop.example/?utm_source=google&utm_medium=cpc&gclid=abc",
               "https://shop.example/?utm_source=facebook&utm_medium=paid_social&utm_campaign=Rebajas+de+verano",
               "https://shop.example/?utm_source=newsletter"], ["desktop", "mobile", "tablet"])]),
    Case("url_query_string_only_percent_encoded", "web", "sesiones-2.csv",
         _csv(SESSION_HEADER, [
             ["s1", "a1", "01/05/2026 10:00", "https://x/?utm_source%3Dgoogle%26utm_medium%3Dcpc", "", "Ordenador", "ES", "1"],
             ["s2", "a2", "01/05/2026 11:00", "https://shop.example/landing?utm_souce%3Dfacebook%26utm_campain%3DRebajas%2520de%2520verano",
              "", "Móvil", "ES", "2"],
             ["s3", "a3", "01/05/2026 12:00", "https://shop.example/?q=a%3Db&utm_medium%3Demail", "", "Tableta", "PT", "1"]]),
         "loaded", 3,
         check=lambda con: q(con, "select list(landing_page_url order by session_id) from raw_web.sessions")
         == [(["https://x/?utm_source=google&utm_medium=cpc",
               "https://shop.example/landing?utm_source=facebook&utm_campaign=Rebajas+de+verano",
               "https://shop.example/?q=a%3Db&utm_medium=email"],)]),
    Case("bad_date_quarantined_with_line", "crm", "contactos-fecha.csv",
         es_csv([es_row(1), es_row(2, **{"Fecha de creación": "31/02/2026 10:00"}), es_row(3)]).encode(), "loaded", 2, 1,
         reason="does not match the timestamp formats", quarantine=[(3, "created_at")]),
    Case("missing_key_quarantined", "crm", "contacts-nokey.csv",
         contacts_csv([contact(1), contact(2, contact_id="")]).encode(), "loaded", 1, 1,
         reason="required field contact_id is empty", quarantine=[(3, "contact_id")]),
    Case("duplicate_key_quarantined", "crm", "contacts-dup.csv",
         contacts_csv([contact(1), contact(2), contact(1, first_name="Again")]).encode(), "loaded", 2, 1,
         reason="duplicate key: same contact_id as line 2", quarantine=[(4, "contact_id")]),
    Case("too_many_fields_quarantined", "crm", "contacts-wide.csv",
         (contacts_csv([contact(1)]) + contacts_csv([contact(2)]).splitlines()[1] + ",surprise\n").encode(),
         "loaded", 1, 1, reason=f"row has {len(RAW_TABLES['raw_crm']['contacts']) + 1} fields, "
                f"the header has {len(RAW_TABLES['raw_crm']['contacts'])}", quarantine=[(3, "*")]),
    Case("too_few_fields_quarantined", "crm", "contacts-short.csv",
         (contacts_csv([contact(1)]) + "c9,short@example.com\n").encode(), "loaded", 1, 1,
         reason="row has 2 fields", quarantine=[(3, "*")]),
    Case("bad_integer_quarantined", "crm", "companies.csv",
         _csv(list(RAW_TABLES["raw_crm"]["companies"]),
              [["co1", "Acme", "acme.es", "retail", "1200", "ES", "2026-01-01 00:00:00", ""],
               ["co2", "Beta", "beta.es", "retail", "unos 50", "ES", "2026-01-01 00:00:00", ""]]),
         "loaded", 1, 1, reason="is not a number", quarantine=[(3, "number_of_employees")]),
    Case("blank_lines_skipped", "crm", "contacts-blank.csv",
         contacts_csv([contact(1)]).replace("\n", "\n\n", 1).encode() + b"\n\n" + contacts_csv([contact(2)]).split("\n", 1)[1].encode(),
         "loaded", 2),
    Case("header_only_loads_nothing", "crm", "contacts-none.csv", contacts_csv([]).encode(), "loaded", 0),
    Case("utf16_bom_tab_separated", "crm", "contacts-unicode.txt",
         contacts_csv([contact(1, first_name="Zoë")], sep="\t").encode("utf-16"), "loaded", 1,
         check=lambda con: q(con, "select first_name from raw_crm.contacts") == [("Zoë",)]),
    Case("xlsx_export", "crm", "contactos-2026.xlsx",
         xlsx_bytes(ES_HEADER, [[*es_row(1)[:12], dt.datetime(2026, 7, 15, 10, 30), *es_row(1)[13:]]]), "loaded", 1,
         check=lambda con: q(con, "select created_at from raw_crm.contacts") == [(dt.datetime(2026, 7, 15, 8, 30),)]),
    Case("parquet_export", "crm", "contacts.parquet", parquet_bytes([contact(1), contact(2)]), "loaded", 2),
    Case("empty_file", "crm", "contacts-empty.csv", b"", "rejected", reason="empty file"),
    Case("whitespace_and_bom_only", "crm", "contacts-blank2.csv", b"\xef\xbb\xbf\r\n  \r\n", "rejected",
         reason="empty file"),
    Case("wrong_columns", "crm", "contactos-otro.csv", b"Nombre;Correo\nAna;ana@x.es\n", "rejected",
         reason=r"wrong columns .* missing \['ID de registro'"),
    Case("utf16_without_bom", "crm", "contacts-u16.csv", contacts_csv([contact(1)]).encode("utf-16-le"), "rejected",
         reason="unreadable encoding"),
    Case("binary_named_csv", "crm", "contacts-zip.csv", b"PK\x03\x04" + bytes(range(256)) * 4, "rejected",
         reason="unreadable encoding"),
    Case("unsupported_type", "crm", "contacts.pdf", b"%PDF-1.7 not a table", "rejected", reason="unsupported file type"),
    Case("no_mapping_for_name", "crm", "leads-export.csv", contacts_csv([contact(1)]).encode(), "rejected",
         reason="no mapping for this file name"),
    Case("unnamed_column_with_values", "crm", "contacts-unnamed.csv",
         "".join(line + (",\n" if i == 0 else ",oops\n")
                 for i, line in enumerate(contacts_csv([contact(1)]).splitlines())).encode(),
         "rejected", reason="has no name but holds values"),
    Case("duplicate_column_names", "crm", "contacts-dupcols.csv",
         contacts_csv([contact(1)]).replace("last_name", "first_name", 1).encode(), "rejected",
         reason="duplicate column names"),
    Case("corrupt_xlsx", "crm", "contactos-roto.xlsx", b"this is not a zip file", "rejected",
         reason="not a readable XLSX workbook"),
]  # fmt: skip


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", target)
    shutil.copytree(ROOT / "tests" / "mappings", target, dirs_exist_ok=True)
    return target


def drop(tmp_path: Path, source: str, name: str, content: bytes) -> Path:
    landing = tmp_path / "landing" / source
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / name
    path.write_bytes(content)
    return path


def test_corpus_is_large_enough():
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(tmp_path, mappings, case: Case):
    db = tmp_path / "w.duckdb"
    path = drop(tmp_path, case.source, case.name, case.content)
    result = load_file(db, case.source, path, mappings)
    assert result.status == case.status, result.reason
    assert not path.exists()  # moved aside either way
    moved = Path(result.moved_to)
    assert moved.read_bytes() == case.content
    if case.status == "rejected":
        assert moved.parent.name == "_rejected"
        assert case.name in result.reason and re.search(case.reason, result.reason)
        assert Path(str(moved) + ".reason.txt").read_text().strip() == result.reason
        return
    assert moved.parent.name == "_processed"
    assert (result.rows_loaded, result.rows_quarantined) == (case.loaded, case.quarantined)
    assert result.rows_in == result.rows_loaded + result.rows_quarantined
    with duckdb.connect(str(db), read_only=True) as con:
        table = f"raw_{case.source}.{result.table}"
        assert q(con, f"select count(*), count(distinct _batch_id), any_value(_source) from {table}")[0][:2] == (
            case.loaded, min(case.loaded, 1))
        rows = q(con, "select file, line, field, reason, record from raw_quarantine.quarantined_rows order by line")
        assert [(r[1], r[2]) for r in rows] == case.quarantine
        assert all(r[0] == case.name for r in rows)
        if case.reason:
            assert all(re.search(case.reason, r[3]) for r in rows), rows
        assert all(json.loads(r[4]) for r in rows)  # the whole raw record is kept
        ledger = q(con, "select rows_in, rows_loaded, rows_quarantined from raw_quarantine.file_loads")
        assert ledger == [(result.rows_in, case.loaded, case.quarantined)]
        if case.check:
            assert case.check(con) is not False


def test_same_content_under_another_name_loads_once(tmp_path, mappings):
    db = tmp_path / "w.duckdb"
    content = es_csv(ES_TWO).encode("cp1252")
    first = load_file(db, "crm", drop(tmp_path, "crm", "contactos-lunes.csv", content), mappings)
    again = load_file(db, "crm", drop(tmp_path, "crm", "contactos-copia (1).csv", content), mappings)
    assert (first.status, again.status) == ("loaded", "duplicate")
    assert "contactos-lunes.csv" in again.reason
    with duckdb.connect(str(db), read_only=True) as con:
        assert q(con, "select count(*) from raw_crm.contacts") == [(2,)]
        assert q(con, "select count(*) from raw_quarantine.file_loads") == [(1,)]


def test_a_later_export_updates_rows_and_keeps_the_others(tmp_path, mappings):
    db = tmp_path / "w.duckdb"
    load_file(db, "crm", drop(tmp_path, "crm", "contacts-1.csv", contacts_csv([contact(1), contact(2)]).encode()), mappings)
    second = contacts_csv([contact(2, lifecycle_stage="customer"), contact(3)]).encode()
    load_file(db, "crm", drop(tmp_path, "crm", "contacts-2.csv", second), mappings)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = q(con, "select contact_id, lifecycle_stage, _source from raw_crm.contacts order by contact_id")
    assert rows == [("c1", "lead", "file:contacts-1.csv"), ("c2", "customer", "file:contacts-2.csv"),
                    ("c3", "lead", "file:contacts-2.csv")]  # fmt: skip


def test_rejected_file_leaves_earlier_loads_untouched(tmp_path, mappings):
    db = tmp_path / "w.duckdb"
    load_file(db, "crm", drop(tmp_path, "crm", "contacts-ok.csv", contacts_csv([contact(1)]).encode()), mappings)
    with duckdb.connect(str(db), read_only=True) as con:
        before = q(con, "select * from raw_crm.contacts")
    bad = load_file(db, "crm", drop(tmp_path, "crm", "contactos-mal.csv", b"Nombre;Correo\n"), mappings)
    assert bad.status == "rejected"
    with duckdb.connect(str(db), read_only=True) as con:
        assert q(con, "select * from raw_crm.contacts") == before
        assert q(con, "select count(*) from raw_quarantine.file_loads") == [(1,)]


def test_a_broken_mapping_names_its_file(tmp_path, mappings):
    (mappings / "crm" / "broken.yml").write_text("table: contacts\nfiles: ['x*']\ncolumns: {emial: Correo}\n")
    result = load_file(tmp_path / "w.duckdb", "crm", drop(tmp_path, "crm", "contacts.csv", b"a,b\n1,2\n"), mappings)
    assert result.status == "rejected"
    assert "broken.yml" in result.reason and "emial" in result.reason
