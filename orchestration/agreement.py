"""The marketing-sales agreement (``agreement.yml``): loaded, validated, and turned into dbt vars.

Plain pydantic, no Dagster: ``python -m orchestration.agreement check`` validates a file and
``python -m orchestration.agreement dbt-vars`` prints the ``--vars`` dbt needs, so dbt run by hand reads
exactly what the pipeline reads. An invalid file raises ``AgreementError`` naming every bad field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AGREEMENT_PATH = PROJECT_ROOT / "agreement.yml"

# The values the raw layer and dbt know (ingestion/raw_schema.py, docs/conventions.md).
CHANNELS = ("Paid Search", "Paid Social", "Organic Search", "Organic Social", "Email", "Referral", "Direct",
            "Offline", "Unassigned")  # fmt: skip
COMPANY_SIZE_BANDS = ("1-10", "11-50", "51-200", "201-1000", "1001+")
JOB_ROLES = ("executive", "manager", "individual_contributor", "student", "other")
FIT_ATTRIBUTES = ("industry", "company_size", "country", "job_role")
REQUIRED_FIELDS = ("valid_contact", "company", "consent", "source")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")



def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank (only spaces)")
    return value


def _not_a_number(kind: str, example: str):
    """Dates and times are written as text (or YAML dates), never as numbers pydantic would reinterpret."""

    def check(value: object) -> object:
        if isinstance(value, (bool, int, float)):
            raise ValueError(f"write the {kind} as {example}, not as the number {value!r}")  # noqa: TRY004 (pydantic needs ValueError)
        return value

    return BeforeValidator(check)


# Numbers are strict: YAML's `yes` is not 1, the text "70" is not 70. A float field takes a YAML
# integer (`70` for 70.0), never a boolean or a string. Text is never blank.
StrictInt = Annotated[int, Strict()]
StrictFloat = Annotated[float, Strict()]
NonEmptyStr = Annotated[str, Strict(), Field(min_length=1), AfterValidator(_not_blank)]
# `start: 9:00` unquoted is the YAML 1.1 integer 540, which pydantic would read as 00:09 UTC.
ClockTime = Annotated[dt.time, _not_a_number("time", '"HH:MM" in quotes')]
CalendarDate = Annotated[dt.date, _not_a_number("date", "YYYY-MM-DD")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _unique(values: list, what: str) -> list:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"{what} listed twice: {sorted(set(map(str, seen)))}")
    return values


class IdealCustomerProfile(_Strict):
    industries: list[NonEmptyStr] = Field(min_length=1)
    company_sizes: list[Literal["1-10", "11-50", "51-200", "201-1000", "1001+"]] = Field(min_length=1)
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(min_length=1)
    job_roles: list[Literal["executive", "manager", "individual_contributor", "student", "other"]] = Field(
        min_length=1
    )

    @field_validator("industries", "company_sizes", "countries", "job_roles")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        return _unique(values, "value")


class FitWeights(_Strict):
    industry: StrictFloat = Field(ge=0, le=100)
    company_size: StrictFloat = Field(ge=0, le=100)
    country: StrictFloat = Field(ge=0, le=100)
    job_role: StrictFloat = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _add_up_to_100(self) -> FitWeights:
        total = sum(getattr(self, a) for a in FIT_ATTRIBUTES)
        if not math.isclose(total, 100.0, abs_tol=1e-9):
            raise ValueError(f"fit weights must add up to 100 (a fit score is out of 100), they add up to {total:g}")
        return self


class Engagement(_Strict):
    window_days: StrictInt = Field(ge=1, le=365)
    min_events: StrictInt = Field(ge=0, le=1000)


class Qualification(_Strict):
    fit_weights: FitWeights
    mql_fit_score: StrictFloat = Field(gt=0, le=100)
    engagement: Engagement
    required_fields: list[Literal["valid_contact", "company", "consent", "source"]] = Field(min_length=1)

    @field_validator("required_fields")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        return _unique(values, "required field")


class BusinessHours(_Strict):
    timezone: NonEmptyStr
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    start: ClockTime
    end: ClockTime
    holidays: list[CalendarDate] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _valid_timezone(value)

    @field_validator("days")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        return _unique(values, "day")

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError(f"business hours end ({self.end}) must be after start ({self.start})")
        if self.start.second or self.end.second or self.start.microsecond or self.end.microsecond:
            raise ValueError("business hours are given to the minute (HH:MM)")
        return self

    @property
    def minutes_per_day(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


class FollowUp(_Strict):
    min_attempts: StrictInt = Field(ge=1, le=100)
    within_days: StrictInt = Field(ge=1, le=365)


class SalesCommitments(_Strict):
    business_hours: BusinessHours
    first_contact_within_business_hours: StrictFloat = Field(gt=0, le=1000)
    follow_up: FollowUp
    decision_within_days: StrictInt = Field(ge=1, le=365)
    rejection_reasons: list[NonEmptyStr] = Field(min_length=1)

    @field_validator("rejection_reasons")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        return _unique(values, "rejection reason")


class WeeklyMqlQuota(_Strict):
    total: StrictInt = Field(ge=0)
    by_channel: dict[Literal[CHANNELS], Annotated[int, Strict(), Field(ge=0)]] = Field(default_factory=dict)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _channels_within_total(self) -> WeeklyMqlQuota:
        channel_sum = sum(self.by_channel.values())
        if channel_sum > self.total:
            raise ValueError(f"per-channel quotas add up to {channel_sum}, more than the total of {self.total}")
        return self


class RevenueGoal(_Strict):
    amount: StrictFloat = Field(gt=0)
    average_deal_size: StrictFloat = Field(gt=0)

    @model_validator(mode="after")
    def _deal_not_above_goal(self) -> RevenueGoal:
        if self.average_deal_size > self.amount:
            raise ValueError("average_deal_size is larger than the whole revenue goal")
        return self


class MarketingCommitments(_Strict):
    weekly_mql_quota: WeeklyMqlQuota
    revenue_goal: RevenueGoal


class Attribution(_Strict):
    lookback_days: StrictInt = Field(ge=1, le=730)


class Reporting(_Strict):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    timezone: NonEmptyStr

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _valid_timezone(value)


class SignedBy(_Strict):
    marketing: NonEmptyStr
    sales: NonEmptyStr


class Agreement(_Strict):
    """The whole agreement. Field names are the YAML keys; README.md explains each one."""

    version: NonEmptyStr | StrictFloat
    signed_by: SignedBy
    ideal_customer_profile: IdealCustomerProfile
    qualification: Qualification
    sales_commitments: SalesCommitments
    marketing_commitments: MarketingCommitments
    attribution: Attribution
    reporting: Reporting

    @model_validator(mode="after")
    def _threshold_reachable(self) -> Agreement:
        best = sum(getattr(self.qualification.fit_weights, a) for a in FIT_ATTRIBUTES)
        if self.qualification.mql_fit_score > best:
            raise ValueError("qualification.mql_fit_score is higher than any lead can score")
        return self

    def dbt_vars(self) -> dict:
        """The vars dbt reads (``var('agreement')``, plus the reporting vars the models already use)."""
        q, s = self.qualification, self.sales_commitments
        hours = s.business_hours
        return {
            "reporting_currency": self.reporting.currency,
            "reporting_timezone": self.reporting.timezone,
            # The attribution models' window (dbt_project.yml's default is overridden by the agreement).
            "attribution_lookback_days": self.attribution.lookback_days,
            "agreement": {
                "version": str(self.version),
                "icp": {
                    "industry": list(self.ideal_customer_profile.industries),
                    "company_size": list(self.ideal_customer_profile.company_sizes),
                    "country": list(self.ideal_customer_profile.countries),
                    "job_role": list(self.ideal_customer_profile.job_roles),
                },
                "fit_weights": {a: getattr(q.fit_weights, a) for a in FIT_ATTRIBUTES},
                "mql_fit_score": q.mql_fit_score,
                "engagement_window_days": q.engagement.window_days,
                "engagement_min_events": q.engagement.min_events,
                "required_fields": list(q.required_fields),
                "business_timezone": hours.timezone,
                # ISO day numbers (1 = Monday), as extract(isodow ...) gives them.
                "business_days": [WEEKDAYS.index(d) + 1 for d in hours.days],
                "business_start_minute": hours.start.hour * 60 + hours.start.minute,
                "business_minutes_per_day": hours.minutes_per_day,
                "holidays": [d.isoformat() for d in hours.holidays],
                "first_contact_business_minutes": round(s.first_contact_within_business_hours * 60),
                "follow_up_min_attempts": s.follow_up.min_attempts,
                "follow_up_within_days": s.follow_up.within_days,
                "decision_within_days": s.decision_within_days,
                "rejection_reasons": list(s.rejection_reasons),
                "weekly_mql_quota_total": self.marketing_commitments.weekly_mql_quota.total,
                "weekly_mql_quota_by_channel": dict(self.marketing_commitments.weekly_mql_quota.by_channel),
                "revenue_goal": self.marketing_commitments.revenue_goal.amount,
                "average_deal_size": self.marketing_commitments.revenue_goal.average_deal_size,
                "attribution_lookback_days": self.attribution.lookback_days,
            },
        }


class AgreementError(ValueError):
    """The agreement file is missing, not YAML, or breaks a rule; the message names file and fields."""


def _valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Madrid)") from None
    return value


def _describe(error: ValidationError) -> list[str]:
    lines = []
    for e in error.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown field (not part of the agreement; check the spelling)"
        elif e["type"] == "missing":
            message = "missing (every field of the agreement is required)"
        elif e["type"] in ("int_type", "float_type", "string_type"):
            value = e.get("input")
            if isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off/true/false as booleans
                message += f", not the boolean {str(value).lower()} (YAML reads yes/no/on/off as true/false)"
            else:
                message += f", not the {type(value).__name__} {value!r}"
        lines.append(f"{field}: {message}")
    return lines


def parse_agreement(text: str, source: str = "agreement.yml") -> Agreement:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AgreementError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise AgreementError(f"{source} must be a YAML mapping of agreement fields, got {type(data).__name__}")
    try:
        return Agreement.model_validate(data)
    except ValidationError as exc:
        problems = _describe(exc)
        raise AgreementError(
            f"{source} is not a valid agreement ({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n  "
            + "\n  ".join(problems)
        ) from None


def load_agreement(path: str | Path | None = None) -> Agreement:
    """Read and validate the agreement (``SMARKETING_AGREEMENT`` or ``agreement.yml`` by default)."""
    path = Path(path or os.environ.get("SMARKETING_AGREEMENT") or DEFAULT_AGREEMENT_PATH)
    if not path.is_file():
        raise AgreementError(f"agreement file not found: {path}")
    return parse_agreement(path.read_text(encoding="utf-8"), source=str(path))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    try:
        agreement = load_agreement(argv[1] if len(argv) > 1 else None)
    except AgreementError as exc:
        print(exc, file=sys.stderr)
        return 1
    if command == "dbt-vars":
        print(json.dumps(agreement.dbt_vars(), separators=(",", ":")))
    else:
        print(f"agreement version {agreement.version} is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
