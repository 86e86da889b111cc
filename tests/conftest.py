"""Fixtures shared across the suite."""
from __future__ import annotations

import pytest

from workflows.demo import run_demo


@pytest.fixture(scope="session")
def demo_result(tmp_path_factory):
    """One run of `certbank demo` for every test that reads its outputs (about 15 s; tests only read it, or
    write their own files beside it)."""
    return run_demo(tmp_path_factory.mktemp("demo"))
