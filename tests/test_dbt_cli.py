"""The dbt resource skips dagster-dbt's in-process adapter and its `dbt --version` subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.dbt_cli import LeanDbtCliResource
from orchestration.settings import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).with_name("dbt"))


def _resource() -> LeanDbtCliResource:
    return LeanDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT)


def test_the_overridden_hooks_still_exist_in_dagster_dbt():
    """If an upgrade renames them, the overrides would silently stop applying."""
    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    assert "_cli_version" in vars(DbtCliResource)


def test_the_version_is_the_one_the_dbt_executable_reports():
    printed = subprocess.run([DBT, "--version"], capture_output=True, text=True, check=True).stdout
    reported = version.parse(re.search(r"(\d+\.\d+\.\d+)", printed).group(1))
    assert _resource()._cli_version == reported
    assert reported.major < 2  # dbt Core, not Fusion: the invocation then expects an adapter or None


def test_an_invocation_runs_dbt_without_an_adapter_in_this_process():
    invocation = _resource().cli(["--version"], raise_on_error=True)
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None
