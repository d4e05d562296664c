"""Column mappings (YAML): how an export's columns become a raw table's columns.

A mapping lives in ``mappings/<source>/<name>.yml``::

    table: contacts                     # raw table of the source (raw_crm.contacts)
    files: ["contactos*.csv"]           # file-name globs in landing/crm/ this mapping reads
    timezone: Europe/Madrid             # naive timestamps in the file are in this zone
    datetime_formats: ["%d/%m/%Y %H:%M"]
    decimal_separator: ","
    columns:
      contact_id: "ID del registro"     # short form: the file's column header
      email: {from: "Correo", required: true}
      original_source: {from: "Fuente original", values: {"Búsqueda de pago": PAID_SEARCH}}
    constants: {lifecycle_stage: lead}

A file named like a raw table (``contacts.csv``) whose headers are the contract's columns needs no
mapping: the identity mapping is used.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingestion.raw_schema import RAW_TABLES

DEFAULT_NULLS = ("", "null", "none", "nan", "n/a", "na", "#n/a", "-", "--", "select", "(no value)", "nil")
DEFAULT_TRUE = ("true", "t", "yes", "y", "1", "si", "sí", "s", "verdadero", "x", "checked", "opt-in", "opted in")
DEFAULT_FALSE = ("false", "f", "no", "n", "0", "falso", "unchecked", "opt-out", "opted out")


class MappingError(ValueError):
    """A mapping file is invalid (names the file and the problem)."""


class ColumnMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from")
    required: bool = False
    formats: list[str] = Field(default_factory=list)  # strptime formats; 'epoch_ms' / 'epoch_s' too
    timezone: str | None = None
    values: dict[str, str | None] = Field(default_factory=dict)  # value map, case-insensitive keys
    strict_values: bool = False  # a value outside `values` is quarantined instead of passed through
    url: bool = False  # a URL: decode if fully percent-encoded, normalise query-parameter keys


class FileMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "identity"
    schema_name: str
    table: str
    files: list[str] = Field(default_factory=list)
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | None = None
    skip_rows: int = Field(default=0, ge=0)
    timezone: str = "UTC"
    datetime_formats: list[str] = Field(default_factory=list)
    date_formats: list[str] = Field(default_factory=list)
    decimal_separator: str = "."
    thousands_separator: str = ""
    null_values: list[str] = Field(default_factory=list)
    true_values: list[str] = Field(default_factory=list)
    false_values: list[str] = Field(default_factory=list)
    url_param_aliases: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, ColumnMapping]
    constants: dict[str, str | None] = Field(default_factory=dict)

    @field_validator("columns", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"from": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _check_contract(self) -> FileMapping:
        if self.schema_name not in RAW_TABLES or self.table not in RAW_TABLES[self.schema_name]:
            known = sorted(RAW_TABLES.get(self.schema_name, {}))
            raise ValueError(f"table {self.schema_name}.{self.table} is not in the raw contract; tables: {known}")
        contract = RAW_TABLES[self.schema_name][self.table]
        unknown = sorted((set(self.columns) | set(self.constants)) - set(contract))
        if unknown:
            raise ValueError(f"columns {unknown} are not in {self.schema_name}.{self.table}; expected {list(contract)}")
        return self

    @property
    def nulls(self) -> set[str]:
        return {v.strip().lower() for v in (*DEFAULT_NULLS, *self.null_values)}

    @property
    def trues(self) -> set[str]:
        return {v.strip().lower() for v in (*DEFAULT_TRUE, *self.true_values)}

    @property
    def falses(self) -> set[str]:
        return {v.strip().lower() for v in (*DEFAULT_FALSE, *self.false_values)}

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.lower(), pattern.lower()) for pattern in self.files)


def identity_mapping(schema: str, table: str) -> FileMapping:
    """Contract-shaped files: every column under its own name."""
    return FileMapping(
        schema_name=schema, table=table, files=[f"{table}*"],
        columns={c: ColumnMapping(**{"from": c}) for c in RAW_TABLES[schema][table]},
    )  # fmt: skip


def load_mapping(path: Path, schema: str) -> FileMapping:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping {path}: cannot read YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise MappingError(f"mapping {path}: expected a mapping with 'table' and 'columns'")
    try:
        return FileMapping(name=path.stem, schema_name=schema, **raw)
    except ValueError as exc:
        raise MappingError(f"mapping {path}: {exc}") from exc


def mappings_for(mappings_dir: Path, source: str) -> list[FileMapping]:
    """The source's declared mappings, then one identity mapping per raw table."""
    schema = f"raw_{source}"
    folder = mappings_dir / source
    declared = [load_mapping(p, schema) for p in sorted(folder.glob("*.y*ml"))] if folder.is_dir() else []
    return declared + [identity_mapping(schema, table) for table in RAW_TABLES[schema]]


def find_mapping(mappings: list[FileMapping], file_name: str) -> FileMapping | None:
    return next((m for m in mappings if m.matches(file_name)), None)
