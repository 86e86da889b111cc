"""Benchmark: the whole `certbank calibrate` command against "read the CSV and call PyPI mirt".

    python bench/calibrate.py                    # N = 5,000, 20,000 and 100,000 × 120, five pairs each
    python bench/calibrate.py --n 5000 --pairs 3
    python bench/calibrate.py --imports          # only the import time of the calibrate command

Each size gets a generated 0/1 2PL response file (120 items), cached in ``--dir``. The contestants are fresh
processes, run in turn A B A B … (``--pairs`` pairs): ``certbank calibrate FILE --out …`` (2PL, standard
errors, S-X², infit/outfit, Q3 and flags written) and ``bench/calibrate_peer.py`` (pandas ``read_csv``, mirt
SQUAREM 2PL without standard errors or fit, parameters written). Printed per size: each one's median wall
time and peak resident size (``getrusage`` of the child), and the median of the pair-by-pair time ratios, so
a burst of load on the shared machine hits both sides of a pair.

The import time is the wall time of a fresh process importing what `certbank calibrate` needs before it
reads the file (``cli`` and ``workflows.calibration``), median of 7, beside ``import pandas`` alone, with the
bytecode compiled first (``compileall``, as ``pip install`` does).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load, mb  # noqa: E402
from scale import run_timed  # noqa: E402

N_ITEMS = 120


def generate(n: int, folder: Path) -> Path:
    """A 0/1 2PL response file of ``n`` candidates (a ~ lognormal(0, 0.3), b ~ N(0, 1), θ ~ N(0, 1))."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"calibrate_{n}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(0.0, 0.3, N_ITEMS), rng.normal(0.0, 1.0, N_ITEMS)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write("candidate_id," + ",".join(f"I{j + 1:03d}" for j in range(N_ITEMS)) + "\n")
        for start in range(0, n, 20_000):
            m = min(20_000, n - start)
            theta = rng.normal(size=m)
            x = (rng.random((m, N_ITEMS)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(np.int8)
            fh.write("".join(f"C{start + i + 1:07d}," + ",".join(map(str, row)) + "\n"
                             for i, row in enumerate(x.tolist())))
    tmp.replace(path)
    return path


def import_time(code: str, repeats: int = 7) -> float:
    """Median wall time of a fresh interpreter running ``code`` (minus an empty interpreter's start)."""
    def run(src):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", src], check=True, cwd=ROOT)
        return time.perf_counter() - started
    times, empty = [], []
    for _ in range(repeats):  # interleaved with the empty start, so load hits both
        empty.append(run("pass"))
        times.append(run(code))
    return statistics.median(times) - statistics.median(empty)


def bench_imports() -> None:
    # an installed certbank has its bytecode compiled by pip; a source checkout run with
    # PYTHONDONTWRITEBYTECODE would compile every module on every start, which no user pays
    packages = ["cli.py", "certbank_core", "psychometrics", "workflows", "itembank", "blueprints", "reports"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True, cwd=ROOT)
    print(f"Import time to reading the file (fresh processes, median of 7, interpreter start subtracted, "
          f"bytecode compiled as pip does); {load()}")
    ours = import_time("import sys; sys.path.insert(0, '.'); import cli, workflows.calibration")
    pandas = import_time("import pandas")
    print(f"  cli + workflows.calibration {ours:.3f} s (pandas alone {pandas:.3f} s)")


def bench_sizes(sizes, folder: Path, pairs: int) -> None:
    print(f"`certbank calibrate` 2PL vs read CSV + mirt squarem, {N_ITEMS} items, {pairs} pairs A B; {load()}")
    for n in sizes:
        src = generate(n, folder)
        contestants = {
            "certbank calibrate": [str(ROOT / "cli.py"), "calibrate", str(src), "--out",
                                   str(folder / f"out_{n}" / "params.csv")],
            "read CSV + mirt": [str(ROOT / "bench" / "calibrate_peer.py"), str(src), str(folder / f"mirt_{n}.csv")],
        }
        times = {k: [] for k in contestants}
        peaks = {k: 0 for k in contestants}
        for _ in range(pairs):
            for name, cmd in contestants.items():
                seconds, peak = run_timed(cmd, 900.0)
                times[name].append(seconds)
                peaks[name] = max(peaks[name], peak or 0)
        ratio = statistics.median(a / b for a, b in zip(*times.values()))
        print(f"\nN = {n:,}:")
        for name in contestants:
            print(f"  {name:<20} {statistics.median(times[name]):7.2f} s  peak {mb(peaks[name])}")
        print(f"  ratio certbank / peer (median of the pairs) {ratio:.2f}; {load()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[5_000, 20_000, 100_000])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/certbank-bench-calibrate"))
    parser.add_argument("--imports", action="store_true")
    args = parser.parse_args()
    bench_imports()
    if not args.imports:
        bench_sizes(args.n, args.dir, args.pairs)


if __name__ == "__main__":
    main()
