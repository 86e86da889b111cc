"""Writing a job's outputs: tables and a summary into a folder, or several files all or nothing.

Each file goes through ``certbank_core.files.atomic_write`` (temporary file, then ``os.replace``), so an
error never leaves half a file; ``write_atomically`` renames a whole set only when every file was written.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

import pandas as pd

from certbank_core.files import atomic_write


def write_outputs(outdir, frames: Mapping[str, pd.DataFrame], summary: dict) -> list[Path]:
    """Write each frame as OUTDIR/<name> (CSV) and ``summary`` as OUTDIR/summary.json, each atomically."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        path = outdir / name
        atomic_write(path, lambda tmp, f=frame: f.to_csv(tmp, index=False, encoding="utf-8"))
        written.append(path)
    path = outdir / "summary.json"
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(summary, indent=2, default=float), encoding="utf-8"))
    return written + [path]



def write_csv(path, frame: pd.DataFrame) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))
    return path



# ---- cut scores ------------------------------------------------------------------------------------------------
class FolderOutputs:
    """A study whose outputs are tables (``frames``: file name → frame) and a ``summary`` in one folder."""

    frames: Mapping[str, pd.DataFrame]
    summary: dict

    def write(self, outdir) -> list[Path]:
        """Write every table and summary.json into OUTDIR (created if needed), each file atomically."""
        return write_outputs(outdir, self.frames, self.summary)


def write_atomically(targets) -> list[Path]:
    """Write every (path, text) to a temporary file first; rename them all only when all succeeded."""
    temps = []
    try:
        for path, text in targets:
            fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            temps.append((tmp, path))
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.remove(tmp)
    return [Path(p) for p, _ in targets]

