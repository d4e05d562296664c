"""The agreement file: the shipped one is valid, invalid ones fail at load with the field named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestration.agreement import DEFAULT_AGREEMENT_PATH, AgreementError, load_agreement, parse_agreement

ROOT = Path(__file__).resolve().parent.parent


def _text(**changes) -> str:
    """The shipped agreement with dotted-path changes applied (value None deletes the key)."""
    data = yaml.safe_load(DEFAULT_AGREEMENT_PATH.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = data
        for p in parents:
            node = node[p]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return yaml.safe_dump(data, sort_keys=False)


def _error(**changes) -> str:
    with pytest.raises(AgreementError) as info:
        parse_agreement(_text(**changes), source="test.yml")
    return str(info.value)


def test_shipped_agreement_is_valid_and_becomes_dbt_vars():
    agreement = load_agreement()
    dbt_vars = agreement.dbt_vars()
    assert dbt_vars["reporting_timezone"] == agreement.reporting.timezone
    terms = dbt_vars["agreement"]
    assert terms["icp"]["industry"] == agreement.ideal_customer_profile.industries
    assert sum(terms["fit_weights"].values()) == 100
    assert terms["business_days"] == [1, 2, 3, 4, 5]
    assert terms["business_start_minute"] == 9 * 60 and terms["business_minutes_per_day"] == 9 * 60
    assert terms["first_contact_business_minutes"] == 8 * 60


def test_cli_prints_the_dbt_vars_of_the_file():
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.agreement", "dbt-vars"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(load_agreement().dbt_vars()))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"qualification__fit_weight": 5}, "qualification.fit_weight: unknown field"),
        ({"qualification__mql_fit_score": "high"}, "qualification.mql_fit_score: Input should be a valid number"),
        ({"qualification__fit_weights__industry": 50}, "qualification.fit_weights: fit weights must add up to 100"),
        ({"qualification__fit_weights__country": -20, "qualification__fit_weights__industry": 70},
         "qualification.fit_weights.country: Input should be greater than or equal to 0"),
        ({"sales_commitments__rejection_reasons": []}, "sales_commitments.rejection_reasons: List should have at least 1 item"),
        ({"sales_commitments__rejection_reasons": ["No budget", "No budget"]},
         "sales_commitments.rejection_reasons: rejection reason listed twice: ['No budget']"),
        ({"sales_commitments__business_hours__timezone": "Europe/Madird"},
         "sales_commitments.business_hours.timezone: unknown time zone 'Europe/Madird'"),
        ({"sales_commitments__business_hours__end": "08:00"},
         "sales_commitments.business_hours: business hours end (08:00:00) must be after start (09:00:00)"),
        ({"ideal_customer_profile__company_sizes": ["11-50", "50-200"]}, "ideal_customer_profile.company_sizes.1: Input should be"),
        ({"ideal_customer_profile__countries": ["Spain"]}, "ideal_customer_profile.countries.0: String should match pattern"),
        ({"marketing_commitments__weekly_mql_quota__by_channel": {"Paid Search": 30, "Email": 30}},
         "marketing_commitments.weekly_mql_quota: per-channel quotas add up to 60, more than the total of 40"),
        ({"marketing_commitments__weekly_mql_quota__by_channel": {"TikTok": 3}},
         "marketing_commitments.weekly_mql_quota.by_channel.TikTok.[key]: Input should be"),
        ({"qualification__required_fields": ["consent", "linkedin_profile"]}, "qualification.required_fields.1: Input should be"),
        ({"attribution": None}, "attribution: missing"),
        ({"reporting__currency": "euro"}, "reporting.currency: String should match pattern"),
        ({"qualification__mql_fit_score": 0}, "qualification.mql_fit_score: Input should be greater than 0"),
    ],
)
def test_invalid_agreements_name_the_field(changes, expected):
    message = _error(**changes)
    assert message.startswith("test.yml is not a valid agreement")
    assert expected in message, message


def test_several_problems_are_reported_together():
    message = _error(qualification__fit_weights__industry=50, sales_commitments__rejection_reasons=[], colour="blue")
    assert "(3 problems)" in message
    assert "colour: unknown field" in message


def test_not_yaml_and_missing_file():
    with pytest.raises(AgreementError, match=r"bad.yml is not valid YAML"):
        parse_agreement("qualification: [unclosed", source="bad.yml")
    with pytest.raises(AgreementError, match="must be a YAML mapping"):
        parse_agreement("- just\n- a list\n", source="list.yml")
    with pytest.raises(AgreementError, match="agreement file not found"):
        load_agreement("/nonexistent/agreement.yml")


def test_definitions_refuse_to_load_with_an_invalid_agreement(tmp_path, monkeypatch):
    from orchestration.definitions import build_definitions
    from orchestration.settings import Settings

    bad = tmp_path / "agreement.yml"
    bad.write_text(_text(sales_commitments__rejection_reasons=[]))
    monkeypatch.setenv("SMARKETING_AGREEMENT", str(bad))
    monkeypatch.setenv("SMARKETING_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(AgreementError, match="sales_commitments.rejection_reasons"):
        build_definitions(Settings.from_env())


def _replaced(old: str, new: str) -> str:
    """The shipped file with one line changed as text, so YAML's own reading of the value is tested."""
    text = DEFAULT_AGREEMENT_PATH.read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # YAML 1.1 reads `yes` as true; a lax int would take it as 1 day.
        ("window_days: 30", "window_days: yes",
         "qualification.engagement.window_days: Input should be a valid integer, not the boolean true"),
        ("min_events: 2", "min_events: on", "qualification.engagement.min_events: Input should be a valid integer"),
        # Quoted numbers are text, not numbers.
        ("mql_fit_score: 70", 'mql_fit_score: "70"',
         "qualification.mql_fit_score: Input should be a valid number, not the str '70'"),
        ("    industry: 30", '    industry: "30"', "qualification.fit_weights.industry: Input should be a valid number"),
        ("lookback_days: 90", "lookback_days: 90.5", "attribution.lookback_days: Input should be a valid integer"),
        ("total: 40", "total: 40.0", "marketing_commitments.weekly_mql_quota.total: Input should be a valid integer"),
        ("Paid Search: 15", 'Paid Search: "15"',
         "marketing_commitments.weekly_mql_quota.by_channel.Paid Search: Input should be a valid integer"),
        ("first_contact_within_business_hours: 8", "first_contact_within_business_hours: true",
         "sales_commitments.first_contact_within_business_hours: Input should be a valid number, not the boolean true"),
        # Blank text in lists and names.
        ("    - Bad timing", '    - "  "', "sales_commitments.rejection_reasons.2: must not be blank"),
        ("    - Duplicate", '    - ""', "sales_commitments.rejection_reasons.6: String should have at least 1 character"),
        ("industries: [Technology,", 'industries: [" ", Technology,', "ideal_customer_profile.industries.0: must not be blank"),
        ("  sales: Head of Sales", '  sales: "   "', "signed_by.sales: must not be blank"),
        ("    timezone: Europe/Madrid", '    timezone: " "', "sales_commitments.business_hours.timezone: must not be blank"),
        # Unquoted 9:00 is the YAML 1.1 integer 540 (sexagesimal), which a lax time reads as 00:09.
        ('start: "09:00"', "start: 9:00",
         'sales_commitments.business_hours.start: write the time as "HH:MM" in quotes, not as the number 540'),
        ("2026-01-06", "20260106", "sales_commitments.business_hours.holidays.2: write the date as YYYY-MM-DD"),
    ],
)
def test_numbers_and_text_are_strict(old, new, expected):
    with pytest.raises(AgreementError) as info:
        parse_agreement(_replaced(old, new), source="test.yml")
    message = str(info.value)
    assert "(1 problem)" in message
    assert expected in message, message


def test_strict_types_keep_the_natural_spellings():
    """YAML integers for float fields, quoted times, YAML and quoted dates, numeric versions still load."""
    text = _replaced("mql_fit_score: 70", "mql_fit_score: 72.5")
    text = text.replace("amount: 2500000", "amount: 2500000.0").replace("2026-01-06", '"2026-01-06"')
    agreement = parse_agreement(text, source="test.yml")
    assert agreement.qualification.mql_fit_score == 72.5
    assert agreement.qualification.fit_weights.industry == 30.0
    assert agreement.marketing_commitments.revenue_goal.amount == 2_500_000
    assert agreement.qualification.engagement.window_days == 30
    assert str(agreement.sales_commitments.business_hours.start) == "09:00:00"
    assert "2026-01-06" in agreement.dbt_vars()["agreement"]["holidays"]
    assert str(agreement.version) == "2026.11"
