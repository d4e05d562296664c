from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Environment changes that last for one test module (e.g. a temporary warehouse)."""
    with pytest.MonkeyPatch.context() as mp:
        yield mp
