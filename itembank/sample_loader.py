"""Load the bundled peer-support sample program into a bank (``certbank init --sample``).

The sample ships as package data: ``itembank/sample/frameworks/*.toml``, ``itembank/sample/crosswalk*.toml``,
``itembank/sample/items/*.json`` (wide layout) and the default blueprint
``blueprints/default/peer_support.toml``. Everything is loaded in one transaction: either the whole sample
arrives or nothing does.
"""
from __future__ import annotations

from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from certbank_core.errors import InputError, Problem
from itembank.importing import import_frameworks, parse_items, read_rows

DEFAULT_BLUEPRINT_NAME = "peer_support"


def _package_dir(package: str, folder: str, stack: ExitStack) -> Path | None:
    """A real folder for package data (``as_file`` extracts it if the package is zipped), or None."""
    try:
        base = resources.files(package).joinpath(folder)
    except ModuleNotFoundError:
        return None
    if not base.is_dir():
        return None
    return Path(stack.enter_context(resources.as_file(base)))


def load_sample(bank, sample_dir: str | Path | None = None, blueprint_path: str | Path | None = None) -> dict:
    """Load frameworks, crosswalks, items and the default blueprint in one transaction.

    ``sample_dir`` (default: the package's ``itembank/sample``) holds ``frameworks/*.toml``,
    ``crosswalk*.toml`` and ``items/*.json``; ``blueprint_path`` defaults to the package's
    ``blueprints/default/peer_support.toml`` and is skipped if absent. Returns counts of what was loaded.
    """
    summary = {"frameworks": 0, "crosswalk_links": 0, "items": 0, "blueprint": ""}
    with ExitStack() as stack, bank.transaction():
        root = Path(sample_dir) if sample_dir is not None else _package_dir("itembank", "sample", stack)
        if blueprint_path is None:
            default = _package_dir("blueprints", "default", stack)
            blueprint_path = default / "peer_support.toml" if default else None
        if root is None or not root.is_dir():
            raise InputError(f"The sample program is not installed (no folder {root}).")
        for path in sorted((root / "frameworks").glob("*.toml")):
            summary["frameworks"] += len(import_frameworks(bank, path)["frameworks"])
        for path in sorted(root.glob("crosswalk*.toml")):
            summary["crosswalk_links"] += import_frameworks(bank, path)["crosswalk_links"]
        item_files = sorted((root / "items").glob("*.json"))
        # Enemies may name items in another file of the sample, so every file's ids count as known;
        # an id in two files is an error (the second would silently become version 2 of the first).
        first_file: dict[str, Path] = {}
        problems = []
        for path in item_files:
            for n, row in read_rows(path)[1]:
                item_id = (row.get("item_id") or "").strip()
                if item_id in first_file and first_file[item_id] != path:
                    problems.append(Problem(f"item {item_id} is also in {first_file[item_id].name}", str(path), n,
                                            "item_id"))
                first_file.setdefault(item_id, path)
        drafts = []
        for path in item_files:
            try:
                drafts += parse_items(path, bank, other_ids=frozenset(first_file))
            except InputError as err:
                problems += err.problems
        if problems:
            raise InputError(problems)
        if drafts:
            result = bank.save_items(drafts, reason="sample program")
            summary["items"] = len(result["created"]) + len(result["new_version"])
        if blueprint_path is not None and Path(blueprint_path).is_file():
            bank.save_blueprint(DEFAULT_BLUEPRINT_NAME, Path(blueprint_path).read_text(encoding="utf-8"))
            summary["blueprint"] = DEFAULT_BLUEPRINT_NAME
    return summary


def create_sample_bank(path: str | Path, user: str = "unknown") -> dict:
    """Create a new bank at ``path`` holding the sample program. If loading fails the new file is removed."""
    from itembank.store import MEMORY, Bank

    bank = Bank.create(path, user=user)
    try:
        with bank:
            return load_sample(bank)
    except BaseException:
        if str(path) != MEMORY:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        raise
