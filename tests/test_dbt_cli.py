"""The dbt resource skips dagster-dbt's in-process adapter and its `dbt --version` subprocess."""

from __future__ import annotations

import re
import subprocess

from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.dbt_cli import LeanDbtCliResource
from orchestration.resources import build_resources
from orchestration.settings import Settings


def _resource() -> LeanDbtCliResource:
    """The dbt resource the code location is built with."""
    resource = build_resources(Settings.from_env())["dbt"]
    assert isinstance(resource, LeanDbtCliResource)
    return resource


def test_the_overridden_hooks_still_exist_in_dagster_dbt():
    """If an upgrade renames them, the overrides would silently stop applying."""
    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    assert "_cli_version" in vars(DbtCliResource)


def test_the_version_is_the_one_the_dbt_executable_reports():
    resource = _resource()
    printed = subprocess.run([resource.dbt_executable, "--version"], capture_output=True, text=True, check=True).stdout
    reported = version.parse(re.search(r"(\d+\.\d+\.\d+)", printed).group(1))
    assert resource._cli_version == reported
    assert reported.major < 2  # dbt Core, not Fusion: the invocation then expects an adapter or None


def test_an_invocation_runs_dbt_without_an_adapter_in_this_process():
    invocation = _resource().cli(["--version"], raise_on_error=True)
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None
