"""Benchmark: certbank's IRT engine against PyPI ``mirt`` (1.2, Rust core) and girth on the same data.

    python bench/irt.py            # full run (Rasch, 2PL, 3PL at N = 5,000 and 20,000; 120 items; EAP 100k)
    python bench/irt.py --quick    # N = 5,000 only, no girth 2PL

Same simulated data for every engine (a ~ lognormal(0, .25), b ~ N(0, 1), c = .2 for the 3PL, θ ~ N(0, 1)),
61 quadrature points for everyone (ours: equally spaced on [-6, 6]; mirt: its Gauss–Hermite rule with 61
points; girth: 61 equally spaced on [-6, 6]). Times are medians of ``--repeats`` runs (imports and data
generation excluded; a run over 5 s is not repeated); standard errors off for every engine (mirt's default
computes them; we time both without). Ratio = our time / mirt's fastest setting (≤ 1 means we are faster). RMSE against the truth.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from psychometrics.irt.estimation import calibrate  # noqa: E402
from psychometrics.irt.scoring import eap  # noqa: E402
from psychometrics.simulate import simulate_dataset  # noqa: E402

N_ITEMS = 120
N_NODES = 61


#: A run slower than this is not repeated (the machine is shared).
REPEAT_LIMIT_SECONDS = 5.0


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        if times[0] > REPEAT_LIMIT_SECONDS:
            break
    return statistics.median(times), out


def rmse(est, truth):
    return float(np.sqrt(np.mean((np.asarray(est, float).ravel() - np.asarray(truth, float).ravel()) ** 2)))


def run_ours(x, model):
    cal = calibrate(x, model, standard_errors=False)
    return cal.a, cal.b, cal.c, cal.iterations


def run_mirt(x, model, accelerate):
    import mirt
    name = {"rasch": "1PL", "2pl": "2PL", "3pl": "3PL"}[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mirt.fit_mirt(x, name, n_quadpts=N_NODES, compute_standard_errors=False, accelerate=accelerate)
    pars = res.model.parameters
    a = np.asarray(pars["discrimination"], float).ravel()
    b = np.asarray(pars["difficulty"], float).ravel()
    c = np.asarray(pars.get("guessing", np.zeros_like(b)), float).ravel()
    return a, b, c, res.n_iterations


def run_girth(x, model):
    from psychometrics.irt.girth_adapter import calibrate_girth
    cal = calibrate_girth(x, model, n_nodes=N_NODES)
    return cal.a, cal.b, cal.c, None


def row(label, seconds, est, truth, model, base=None):
    a, b, c, iters = est
    parts = [f"{label:<22}", f"{seconds:8.3f} s"]
    parts.append(f"ratio {seconds / base:5.2f}" if base else " " * 11)
    parts.append(f"RMSE b {rmse(b, truth.b):.4f}")
    if model != "rasch":
        parts.append(f"a {rmse(a, truth.a):.4f}")
    if model == "3pl":
        parts.append(f"c {rmse(c, truth.c):.4f}")
    if iters is not None:
        parts.append(f"({iters} it)")
    print("  ".join(parts), flush=True)


def bench_calibration(sizes, repeats, with_girth_2pl):
    print(f"Calibration, {N_ITEMS} items, {N_NODES} quadrature points; medians of {repeats} runs")
    for model in ("rasch", "2pl", "3pl"):
        for n in sizes:
            sim = simulate_dataset(n, N_ITEMS, np.random.default_rng(1000 + n), model=model)
            x = sim.responses
            xi = x.astype(int)
            print(f"\n{model.upper()}  N = {n:,}")
            t_sq, est_sq = timed(lambda: run_mirt(xi, model, "squarem"), repeats)
            t_def, est_def = timed(lambda: run_mirt(xi, model, "none"), repeats)
            fastest = min(t_sq, t_def)
            t_ours, est_ours = timed(lambda: run_ours(x, model), repeats)
            row("certbank", t_ours, est_ours, sim.items, model, fastest)
            row("mirt squarem", t_sq, est_sq, sim.items, model)
            row("mirt default", t_def, est_def, sim.items, model)
            if model == "3pl":
                from psychometrics.irt.girth_adapter import girth_3pl_available
                if not girth_3pl_available():
                    print(f"{'girth':<22}  fails on numpy {np.__version__} (threepl_mml; detected, not run)")
                    continue
            if model == "rasch" or (with_girth_2pl and n <= 5000) or model == "3pl":
                t_g, est_g = timed(lambda: run_girth(x, model), 1)
                row("girth", t_g, est_g, sim.items, model, None)


def naive_eap(x, a, b, nodes, weights):
    """A plain float64 numpy EAP, the way one writes it first."""
    p = 1 / (1 + np.exp(-a[None, :] * (nodes[:, None] - b[None, :])))
    logl = np.nan_to_num(x) @ np.log(p).T + (1 - np.nan_to_num(x)) @ np.log(1 - p).T
    post = np.exp(logl - logl.max(axis=1, keepdims=True)) * weights
    return post @ nodes / post.sum(axis=1)


def bench_eap(repeats):
    import mirt

    from psychometrics.irt.quadrature import make_quadrature
    n = 100_000
    sim = simulate_dataset(n, N_ITEMS, np.random.default_rng(5), model="2pl")
    x, it = sim.responses, sim.items
    print(f"\nEAP scoring, {n:,} × {N_ITEMS}, 2PL, {N_NODES} points")
    t_ours, res = timed(lambda: eap(x, it.a, it.b), repeats)
    print(f"{'certbank eap':<22}  {t_ours:8.3f} s   corr with θ {np.corrcoef(res.theta, sim.theta)[0, 1]:.4f}")
    quad = make_quadrature()
    t_naive, th = timed(lambda: naive_eap(x, it.a, it.b, quad.nodes, quad.weights), repeats)
    print(f"{'plain numpy eap':<22}  {t_naive:8.3f} s   max |diff| {np.abs(th - res.theta).max():.2e}")
    fitted = mirt.fit_mirt(x[:2000].astype(int), "2PL", n_quadpts=N_NODES, compute_standard_errors=False)
    fitted.model.set_parameters(discrimination=it.a, difficulty=it.b)
    xi = x.astype(int)
    t_m, sc = timed(lambda: mirt.fscores(fitted, xi, method="EAP", n_quadpts=N_NODES), repeats)
    print(f"{'mirt fscores EAP':<22}  {t_m:8.3f} s   max |diff| "
          f"{np.abs(np.asarray(sc.theta).ravel() - res.theta).max():.2e}   ratio {t_ours / t_m:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = (5000,) if args.quick else (5000, 20000)
    bench_calibration(sizes, args.repeats, with_girth_2pl=not args.quick)
    bench_eap(args.repeats)


if __name__ == "__main__":
    main()
