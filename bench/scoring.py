"""Benchmark: MLE and WLE θ scoring against PyPI ``mirt`` (``fscores``) and a plain vectorized numpy Newton.

    python bench/scoring.py                 # 100,000 × 120, 2PL, 3 interleaved rounds
    python bench/scoring.py --n 20000 --repeats 5

Same simulated 2PL data and the true item parameters for everyone. The reference θ is the plain numpy
Newton run for 100 iterations in float64 (|step| < 1e-13 at the end), checked against the score function;
each contestant's max |θ − reference| is printed over persons with a finite maximum inside (−3.9, 3.9) (the
contestants bound extremes differently: mirt at ±6, we at ±4). Contestants run interleaved (A B C A B C …),
times are medians; peak memory is the resident high-water mark above the size before the call, beside the
size of the float64 response matrix. Ratio = certbank / mirt ML.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import interleaved, load, mb, peak_call  # noqa: E402

from psychometrics.irt import scoring  # noqa: E402
from psychometrics.simulate import simulate_dataset  # noqa: E402


def numpy_newton(x, a, b, method, iterations=20):
    """The vectorized Newton one writes first: float64 persons × items arrays, analytic 2PL derivatives,
    a fixed number of steps for everyone, θ clipped to [−4, 4]."""
    y = np.nan_to_num(x)
    m = ~np.isnan(x)
    raw, n = y.sum(axis=1), m.sum(axis=1)
    theta = np.log((raw + 0.5) / (n - raw + 0.5))
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-a * (theta[:, None] - b)))
        pq = p * (1 - p) * m
        g = (a * (y - p * m)).sum(axis=1)
        info = (a * a * pq).sum(axis=1)
        slope = -info
        if method == "wle":
            j = (a ** 3 * pq * (1 - 2 * p)).sum(axis=1)
            jp = (a ** 4 * pq * (1 - 6 * pq / np.maximum(m, 1))).sum(axis=1)
            g = g + j / (2 * info)
            slope = slope + (jp * info - j * j) / (2 * info * info)
        theta = np.clip(theta - g / slope, -4, 4)
    return theta


def mirt_model(x, a, b):
    """A mirt 2PL model holding the true parameters (the small fit that builds it is not timed)."""
    import mirt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = mirt.fit_mirt(x[:2000], "2PL", compute_standard_errors=False)
    fitted.model.set_parameters(discrimination=a, difficulty=b)
    return fitted


def mirt_scores(fitted, x, method):
    import mirt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(mirt.fscores(fitted, x, method=method).theta, float).ravel()


def contestants_for(method, x, xi, it, fitted):
    mirt_name = {"mle": "ML", "wle": "WLE"}[method]
    return {
        "certbank": lambda: getattr(scoring, method)(x, it.a, it.b).theta,
        f"mirt {mirt_name}": lambda: mirt_scores(fitted, xi, mirt_name),
        "numpy Newton": lambda: numpy_newton(x, it.a, it.b, method),
    }


def data(n, items):
    sim = simulate_dataset(n, items, np.random.default_rng(17), model="2pl")
    return sim.responses, sim.responses.astype(int), sim.items


def memory_child(n, items, method, name):
    """Run one contestant once in this fresh process and print its peak memory above the start."""
    x, xi, it = data(n, items)
    fitted = mirt_model(xi, it.a, it.b)
    _, _, peak = peak_call(contestants_for(method, x, xi, it, fitted)[name])
    print(peak)


def peak_in_child(args, method, name):
    out = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--items", str(args.items),
                          "--memory-of", method, name], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-of", nargs=2, metavar=("METHOD", "CONTESTANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        return memory_child(args.n, args.items, *args.memory_of)
    x, xi, it = data(args.n, args.items)
    fitted = mirt_model(xi, it.a, it.b)
    print(f"MLE / WLE θ, {args.n:,} × {args.items}, 2PL; response matrix {mb(x.nbytes).strip()} (float64); "
          f"{load()}")
    mirt_ml = None
    for method in ("mle", "wle"):
        reference = numpy_newton(x, it.a, it.b, method, iterations=100)
        res = interleaved(contestants_for(method, x, xi, it, fitted), args.repeats)
        inside = np.abs(reference) < 3.9
        names = list(res)
        mirt_ml = mirt_ml or res[names[1]][0]
        print(f"\n{method.upper()}  (medians of {args.repeats} interleaved rounds; peak memory of one run in a "
              "fresh process)")
        for name, (sec, _, theta) in res.items():
            peak = peak_in_child(args, method, name)
            err = np.nanmax(np.abs(np.asarray(theta)[inside] - reference[inside]))
            print(f"{name:<14} {sec:8.3f} s  ratio to {names[1]} {sec / res[names[1]][0]:5.2f}, to mirt ML "
                  f"{sec / mirt_ml:5.2f}  peak {mb(peak)} ({peak / x.nbytes:4.2f}× the matrix)  "
                  f"max |θ − ref| {err:.1e}", flush=True)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
