"""`certbank demo`: the whole job on the bundled sample program, end to end.

The full pipeline (bank → assembly → simulated administration → CTT/IRT/DIF → standard → workbooks) is
wired here step by step as each part lands.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable


def run_demo(outdir: Path, progress: Callable[[str], None] = lambda _msg: None) -> str:
    """Run the demo into ``outdir`` and return a short plain-language summary."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    progress(f"Writing demo outputs to {outdir}")
    return f"Demo finished. Outputs are in {outdir}."
