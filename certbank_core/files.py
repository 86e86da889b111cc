"""Writing files so that an error never leaves half a file, and spreadsheet cells that stay text.

Every output certbank writes (CSV, JSON, xlsx, zip) goes through ``atomic_write``: the content is written
to a temporary file in the target folder and moved into place with ``os.replace``, which POSIX and Windows
perform atomically on one file system. ``set_text`` writes a string into an openpyxl cell so that Excel and
LibreOffice show it and never evaluate it (OWASP, "CSV Injection"): text starting with ``=``, ``+``, ``-``
or ``@`` gets the quote prefix.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable

from certbank_core.errors import InputError, Problem

#: First characters that make a spreadsheet treat text as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@")

def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` on a temporary file beside ``path``, then move it into place.

    A missing or unwritable folder is an :class:`InputError` naming the file (the user chose the path)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(Problem(f"the folder {path.parent} does not exist", str(path)))
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as err:
        raise InputError(Problem(f"cannot write in the folder {path.parent} ({err.strerror})", str(path))) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file ordinary permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()




def check_output_path(path, *, suffix: str, force: bool, kind: str, noun: str) -> Path:
    """Refuse, before any work, an output with the wrong extension, one that exists (unless ``force``) or
    whose folder is missing. ``kind`` and ``noun`` name it in the sentence ("a workbook", "the workbook")."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise InputError(f"{path}: {kind} must have the {suffix} extension.")
    if path.exists() and not force:
        raise InputError(f"{path} already exists; use --force to overwrite it.")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: the folder for {noun} does not exist.")
    return path


def set_text(cell, text: str) -> None:
    """Put ``text`` in an openpyxl cell as text, never as a formula."""
    cell.value = text
    if isinstance(text, str) and text:
        cell.data_type = "s"
        if text.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True

def sha256_of(path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (FIPS 180-4)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
