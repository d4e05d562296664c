"""Scan published tables for anything that looks like an e-mail address or a phone number.

Used on every mart in the warehouse, the PostgreSQL `marts` schema and (once published) the serving
copy. A value is flagged when it contains an e-mail address, when it is an E.164-like number
('+' and 7 to 15 digits), or when its digits are those of a phone number the raw layer holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
E164 = re.compile(r"^\+\d{7,15}$")
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,24}$")


def phone_digits(values: Iterable[str | None]) -> set[str]:
    """The digit strings of known phone numbers (7 digits or more)."""
    digits = {re.sub(r"\D", "", v) for v in values if v}
    return {d for d in digits if len(d) >= 7}


def personal_values(
    rows: Iterable[tuple[str, str, object]], known_phone_digits: set[str] = frozenset()
) -> list[tuple[str, str, str]]:
    """(table, column, value) for every value that looks like an e-mail or a phone number."""
    found = []
    for table, column, value in rows:
        if not isinstance(value, str):
            continue
        text = value.strip()
        if EMAIL.search(text) or E164.match(text) or PHONE_LIKE.match(text) and re.sub(r"\D", "", text) in known_phone_digits:
            found.append((table, column, value))
    return found
