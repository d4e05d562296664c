"""dagster-dbt's ``DbtCliResource`` without the work this project never uses.

Before each invocation, ``DbtCliResource.cli`` builds a dbt adapter inside the Dagster process (it
loads the profile and parses dbt's macros) so that ``fetch_row_counts()`` and
``fetch_column_metadata()`` can query the warehouse; and, once per process, it runs ``dbt --version``
in a subprocess to tell dbt Core from the Fusion engine. This project takes row counts and previews
itself, once dbt has released the DuckDB file (orchestration/assets/dbt.py), and runs the dbt Core
installed beside this interpreter. Measured in a scale-10 daily run: the first dbt step started dbt
3.6 s after the step began (1.3 s adapter, 1.4 s version check), now 1.0 s; the second, 1.3 s, now
1.0 s.

Both are private methods of dagster-dbt (pinned in constraints.txt); tests/test_dbt_cli.py checks that
they still exist, that the version is the one `dbt --version` prints, and that an invocation runs
without an adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class LeanDbtCliResource(DbtCliResource):
    """``DbtCliResource`` with no in-process adapter (the invocation's ``adapter`` is None, as
    dagster-dbt allows) and dbt Core's version read from the installed package."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))
