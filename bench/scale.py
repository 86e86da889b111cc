"""Benchmark: how `certbank analyze` and `certbank score` scale in persons, and their peak memory.

    python bench/scale.py                       # 100,000 and 1,000,000 × 120
    python bench/scale.py --n 100000 500000     # other sizes
    python bench/scale.py --eap-only            # just the EAP library call, 100k → 1M, against mirt
    python bench/scale.py --wide                # `certbank calibrate` 2PL on 300 × 2,000 against the mirt peer

Each size gets a generated response file (option letters A–D, 2PL, 120 items, a few omits and a not-reached
tail for 3% of candidates) with its key and parameter file, cached in ``--dir``. Every command runs as a fresh
process (``python -m cli``), twice, interleaved analyze / score; the time is the median wall clock and the
memory the process's peak resident size (``resource.getrusage(RUSAGE_CHILDREN)`` of that child alone). The
CSV is printed beside (its size on disk and as '<U1' cells).

``--wide`` times the whole `certbank calibrate` (2PL, fit and flags) on a generated 300 × 2,000 0/1 file and
``bench/calibrate_peer.py`` (read the CSV, mirt SQUAREM, no SEs) on the same file, each a fresh process,
interleaved, with the peak resident size; a contestant still running after ``--limit`` s is stopped and
reported as such.

``--eap-only`` times ``psychometrics.irt.scoring.eap`` on 0/1 float data against mirt ``fscores`` EAP,
interleaved, medians, and the growth factor from the smallest to the largest size.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved, load, mb  # noqa: E402

N_ITEMS = 120
LETTERS = np.frombuffer(b"ABCD", dtype=np.uint8)


def generate(n: int, folder: Path) -> tuple[Path, Path, Path]:
    """responses.csv, key.csv and params.csv for ``n`` candidates (written once, block by block)."""
    folder.mkdir(parents=True, exist_ok=True)
    responses, key_file, params_file = (folder / f"responses_{n}.csv", folder / "key.csv", folder / "params.csv")
    rng = np.random.default_rng(2024)
    a = rng.lognormal(0.0, 0.3, N_ITEMS)
    b = rng.normal(0.0, 1.0, N_ITEMS)
    key = rng.integers(0, 4, N_ITEMS)
    items = [f"I{j + 1:03d}" for j in range(N_ITEMS)]
    key_file.write_text("item_id,key\n" + "".join(f"{i},{'ABCD'[k]}\n" for i, k in zip(items, key)))
    params_file.write_text("item_id,a,b\n" + "".join(f"{i},{x:.6f},{y:.6f}\n" for i, x, y in zip(items, a, b)))
    if responses.exists():
        return responses, key_file, params_file
    tmp = responses.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(("candidate_id," + ",".join(items) + "\n").encode())
        for start in range(0, n, 50_000):
            m = min(50_000, n - start)
            theta = rng.normal(0, 1, m)
            right = rng.random((m, N_ITEMS)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))
            wrong = (key + rng.integers(1, 4, (m, N_ITEMS))) % 4
            cells = LETTERS[np.where(right, key, wrong)]
            blank = rng.random((m, N_ITEMS)) < 0.01
            tail = rng.random(m) < 0.03
            blank |= tail[:, None] & (np.arange(N_ITEMS) >= rng.integers(90, N_ITEMS, m)[:, None])
            # fixed-width ids, then letter + separator per item; a blank cell drops its letter
            ids = np.frombuffer("".join(f"C{start + i + 1:07d}," for i in range(m)).encode(),
                                dtype=np.uint8).reshape(m, 9)
            body = np.empty((m, 2 * N_ITEMS), dtype=np.uint8)
            body[:, 0::2] = cells
            body[:, 1::2] = ord(",")
            body[:, -1] = ord("\n")
            keep = np.ones_like(body, dtype=bool)
            keep[:, 0::2] = ~blank
            rows = np.concatenate([ids, body], axis=1)
            keep = np.concatenate([np.ones_like(ids, dtype=bool), keep], axis=1)
            fh.write(rows[keep].tobytes())
    os.replace(tmp, responses)
    return responses, key_file, params_file


def run_child(args: list[str]) -> tuple[float, int]:
    """(wall seconds, peak resident bytes) of one fresh ``python -m cli`` process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ("import resource, runpy, sys; sys.argv = ['certbank'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('cli', run_name='__main__')\nexcept SystemExit as e:\n"
            "    code = e.code\nelse:\n    code = 0\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    peak = [line for line in out.stderr.splitlines() if line.startswith("PEAK")][-1]
    return seconds, int(peak.split()[1]) * 1024


def bench_commands(sizes, folder: Path, repeats: int):
    print(f"`certbank analyze` and `certbank score` (EAP) on generated A–D files, {N_ITEMS} items; {load()}")
    rows = {}
    for n in sizes:
        responses, key_file, params_file = generate(n, folder)
        out = folder / f"out_{n}"
        commands = {
            "analyze": ["analyze", str(responses), "--key", str(key_file), "--out", str(out / "analysis")],
            "score": ["score", str(responses), "--key", str(key_file), "--params", str(params_file),
                      "--out", str(out / "thetas.csv")],
        }
        times = {k: [] for k in commands}
        peaks = {k: 0 for k in commands}
        for _ in range(repeats):
            for name, cmd in commands.items():
                sec, peak = run_child(cmd)
                times[name].append(sec)
                peaks[name] = max(peaks[name], peak)
        size = responses.stat().st_size
        print(f"\nN = {n:,}: file {mb(size).strip()} on disk, cells {mb(n * N_ITEMS * 4).strip()} as '<U1'")
        for name in commands:
            med = statistics.median(times[name])
            rows[(name, n)] = med
            print(f"  {name:<8} {med:7.2f} s  peak {mb(peaks[name])}  (median of {repeats}; {load()})", flush=True)
    small, large = min(sizes), max(sizes)
    if small != large:
        for name in ("analyze", "score"):
            print(f"{name}: {large:,} takes {rows[(name, large)] / rows[(name, small)]:.1f}× the time of "
                  f"{small:,} ({large / small:.0f}× the persons)")


def run_timed(cmd: list[str], limit: float, expect: int = 0, output: list | None = None) -> tuple[float, int | None]:
    """(wall seconds, peak resident bytes) of a fresh process, or (limit, None) if it ran out of time. The
    process must exit with ``expect``; its stdout and stderr are appended to ``output`` when given."""
    code = ("import resource, runpy, sys; sys.argv = sys.argv[1:]\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\nexcept SystemExit as e:\n"
            "    code = e.code\nelse:\n    code = 0\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)")
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", code, *cmd], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                             capture_output=True, text=True, cwd=ROOT, timeout=limit)
    except subprocess.TimeoutExpired:
        return limit, None
    if output is not None:
        output.append(out.stdout + out.stderr)
    if out.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    peak = [line for line in out.stderr.splitlines() if line.startswith("PEAK")][-1]
    return time.perf_counter() - start, int(peak.split()[1]) * 1024


def bench_wide(folder: Path, repeats: int, limit: float, n_persons: int = 300, n_items: int = 2000):
    from psychometrics.simulate import simulate_dataset

    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"wide_{n_persons}x{n_items}.csv"
    if not src.exists():
        sim = simulate_dataset(n_persons, n_items, np.random.default_rng(3), model="2pl")
        cells = sim.responses.astype(np.int8).astype(str)
        rows = [",".join(["candidate_id", *(f"I{j + 1:04d}" for j in range(n_items))])]
        rows += [",".join([f"P{i + 1}", *cells[i]]) for i in range(n_persons)]
        src.write_text("\n".join(rows) + "\n")
    print(f"calibrate 2PL, {n_persons} × {n_items:,} (whole processes, CSV in, files out); {load()}")
    contestants = {
        "certbank calibrate": [str(ROOT / "cli.py"), "calibrate", str(src), "--out", str(folder / "wide_params.csv")],
        "read CSV + mirt": [str(ROOT / "bench" / "calibrate_peer.py"), str(src), str(folder / "wide_mirt.csv")],
    }
    times = {k: [] for k in contestants}
    peaks = {k: 0 for k in contestants}
    for r in range(repeats):
        for name, cmd in contestants.items():
            if r and times[name] and times[name][0] >= limit:
                continue
            sec, peak = run_timed(cmd, limit)
            times[name].append(sec)
            peaks[name] = None if peak is None else max(peaks[name] or 0, peak)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in contestants:
        what = f"{med[name]:7.2f} s  peak {mb(peaks[name])}" if peaks[name] is not None else \
            f"stopped after {limit:.0f} s"
        print(f"  {name:<20} {what}")
    print(f"ratio certbank / mirt {med['certbank calibrate'] / med['read CSV + mirt']:.2f} "
          f"(a stopped peer counts as {limit:.0f} s); {load()}")
    # a 3PL on these data: too few candidates per item to identify the asymptotes, refused before any EM cycle
    said: list[str] = []
    sec, peak = run_timed([str(ROOT / "cli.py"), "calibrate", str(src), "--model", "3pl", "--out",
                           str(folder / "wide_3pl.csv")], limit, expect=2, output=said)
    message = [line for line in said[-1].splitlines() if line.startswith("Error:")]
    print(f"  certbank calibrate --model 3pl: exit 2 in {sec:.2f} s, peak {mb(peak).strip()}: "
          f"{message[0] if message else said[-1].strip()}")


def bench_eap(sizes, repeats: int):
    from psychometrics.irt.scoring import eap
    from psychometrics.simulate import simulate_dataset

    print(f"EAP θ, 2PL, {N_ITEMS} items, 61 points; {load()}")
    sim = simulate_dataset(max(sizes), N_ITEMS, np.random.default_rng(5), model="2pl")
    fitted = None
    try:
        import mirt
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = mirt.fit_mirt(sim.responses[:2000].astype(int), "2PL", compute_standard_errors=False)
        fitted.model.set_parameters(discrimination=sim.items.a, difficulty=sim.items.b)
    except ImportError:  # pragma: no cover
        print("(mirt is not installed: certbank alone)")
    medians = {}
    for n in sizes:
        x = sim.responses[:n]
        xi = x.astype(int) if fitted is not None else None
        contestants = {"certbank eap": lambda: eap(x, sim.items.a, sim.items.b).theta}
        if fitted is not None:
            def run_mirt():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return np.asarray(mirt.fscores(fitted, xi, method="EAP", n_quadpts=61).theta).ravel()
            contestants["mirt EAP"] = run_mirt
        res = interleaved(contestants, repeats)
        print(f"\nN = {n:,} (float64 matrix {mb(x.nbytes).strip()})")
        for name, (sec, peak, theta) in res.items():
            medians[(name, n)] = sec
            diff = np.abs(np.asarray(theta) - res["certbank eap"][2]).max()
            print(f"  {name:<14} {sec:8.3f} s  peak {mb(peak)}  max |θ − certbank| {diff:.1e}", flush=True)
    small, large = min(sizes), max(sizes)
    for name in {k for k, _ in medians}:
        print(f"{name}: {large:,} / {small:,} = {medians[(name, large)] / medians[(name, small)]:.1f}× the time "
              f"for {large / small:.0f}× the persons")
    print(load())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/certbank-bench-scale"))
    parser.add_argument("--eap-only", action="store_true")
    parser.add_argument("--wide", action="store_true")
    parser.add_argument("--limit", type=float, default=300.0, help="--wide: seconds before a contestant is stopped")
    args = parser.parse_args()
    if args.wide:
        return bench_wide(args.dir, args.repeats, args.limit)
    if args.eap_only:
        return bench_eap(args.n, args.repeats)
    bench_commands(args.n, args.dir, args.repeats)


if __name__ == "__main__":
    main()
