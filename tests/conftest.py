"""Fixtures shared across the suite."""
from __future__ import annotations

import pytest

from workflows.demo import run_demo

_README_FOLDER = pytest.StashKey()


def pytest_collection_modifyitems(session, config, items):
    """The README's test goes last, so the rest of the suite runs while its background run works."""
    last = [item for item in items if item.name == "test_every_readme_block_runs_as_written"]
    items[:] = [item for item in items if item not in last] + last


def pytest_collection_finish(session):
    """With other tests to run, start the README's run (about 2 minutes of separate processes) beside them;
    ``test_every_readme_block_runs_as_written`` collects it. Alone, that test runs it itself."""
    names = [item.name for item in session.items]
    if "test_every_readme_block_runs_as_written" in names and len(names) > 1 \
            and not session.config.getoption("collectonly"):
        import tempfile
        from pathlib import Path

        from tests import test_readme

        base = Path(tempfile.mkdtemp(prefix="certbank-readme-"))
        session.config.stash[_README_FOLDER] = base
        test_readme.start_in_background(base / "newcomer")


def pytest_sessionfinish(session, exitstatus):
    """The README's folder goes when the suite passed (kept to look at when it failed)."""
    import shutil

    base = session.config.stash.get(_README_FOLDER, None)
    if base is not None and exitstatus == 0:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_result(tmp_path_factory):
    """One run of `certbank demo` for every test that reads its outputs (about 15 s; tests only read it, or
    write their own files beside it)."""
    return run_demo(tmp_path_factory.mktemp("demo"))
