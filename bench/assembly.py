"""Benchmark: assembling parallel forms (certbank: two-stage MIP, HiGHS via scipy.optimize.milp) against peers.

Run: ``python bench/assembly.py [--repeats 5]`` (about 2–4 minutes on a shared 2-core machine).

Synthetic bank (blueprints.synthetic): 2PL items, 12 areas, one enemy pair per 10 items. Blueprint: 120 scored
items with the peer-support area counts, key balance 24–36, disjoint forms, test information (±5%) and TCC (±1
raw-score point) targets at θ = −1, 0, 1, each target the pool reference (120 × mean over the pool).

Printed:
1. three cases (1,000 items / 4 forms, 2,000 / 6, 4,000 / 4), each with the contestants run on the same data
   interleaved (A B C A B C …, ``--repeats`` rounds): certbank's ``assemble`` (the two-stage method for
   disjoint forms), the same with ``method="joint"`` (one MIP for all forms), a per-form sequential MIP
   (``assemble(n_forms=1)`` repeatedly, removing used items: the same model and HiGHS settings for one form)
   and a greedy round-robin heuristic. Per contestant: median seconds, peak memory (resident high-water mark
   above the size before the call), the worst deviation from target in tolerances (≤ 1 means inside every band)
   and whether verify_forms' independent check of every rule passes; then time ratios against the peers;
2. joint-model variants on the 1,000-item case (without the tie-break cost, with explicit symmetry breaking,
   with an overlap cap of 20 instead of disjoint forms, which the two-stage method does not cover);
3. the shipped default blueprint on the sample bank, 3 forms (overlap cap 30 and a common block of 24, no
   targets): certbank against the plain overlap rows, no tie-break, and neither (the earlier model), interleaved (``sample_case``;
   alone with ``--sample-only``);
4. scaling with bank size (500 / 1,000 / 2,000 / 4,000 items, 4 forms) and forms (1, 2, 4, 6; 1,000 items).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import blueprints.constraints as assembly  # noqa: E402  (TIE_BREAK lives with the model)
from _common import interleaved, load, mb, peak_call  # noqa: E402
from blueprints.assemble import assemble, build_model, eligible_pool  # noqa: E402
from blueprints.model import (  # noqa: E402
    Blueprint, CharacteristicTarget, CountRule, Eligibility, Exam, InformationTarget)
from blueprints.synthetic import ROMAN, synthetic_pool  # noqa: E402
from blueprints.verify import FormDraft, verify_forms  # noqa: E402
from certbank_core.errors import AssemblyError  # noqa: E402
from psychometrics.irt import models  # noqa: E402

AREA_COUNTS = (12, 10, 8, 10, 10, 10, 12, 10, 10, 10, 8, 10)
THETA = (-1.0, 0.0, 1.0)
TIME_LIMIT = 60.0


def make_blueprint(pool, length: int = 120) -> Blueprint:
    """The benchmark blueprint, with targets fixed from the full pool (so every method aims at the same)."""
    a, b = pool["a"].to_numpy(), pool["b"].to_numpy()
    info = length * models.item_information(np.asarray(THETA), a, b).mean(axis=1)
    tcc = length * models.probability(np.asarray(THETA), a, b).mean(axis=1)
    counts = tuple(CountRule(f"area:{ROMAN[k]}", "area", (f"SYN.{ROMAN[k]}",), n, n, f"Category {ROMAN[k]}")
                   for k, n in enumerate(AREA_COUNTS))
    counts += tuple(CountRule(f"key:{k}", "key", (k,), 24, 36) for k in "ABCD")
    return Blueprint(exam=Exam("Bench", length, 0, ("en", "es"), "SYN"),
                     eligibility=Eligibility(reviewed_languages=("en", "es")), counts=counts, max_overlap=0,
                     information=InformationTarget(THETA, "target", tuple(info), 0.05),
                     characteristic=CharacteristicTarget(THETA, tuple(tcc), 1.0))


def worst_deviation(bp, pool, forms, enemies) -> tuple[float, bool, str]:
    """Largest |achieved − target| / tolerance over forms and θ points, whether every hard rule holds (by
    verify_forms, independently of the solver), and the first broken rule in words ('' when none)."""
    view = eligible_pool(bp, pool)
    check = verify_forms(bp, view.pool, forms, enemies, targets=view.targets)
    frame = check.to_frame()
    soft = frame[~frame["hard"]]
    broken = "" if check.ok else f"{len(check.failures)} broken rules, e.g. {check.failures[0].message}"
    centre = (soft["lower"] + soft["upper"]) / 2
    tol = (soft["upper"] - soft["lower"]) / 2
    return float(((soft["achieved"] - centre).abs() / tol).max()), check.ok, broken


def lp_bound(bp, pool, enemies, n_forms) -> tuple[float, float]:
    """Objective of the LP relaxation of the same model (integrality dropped), and its solve time."""
    view = eligible_pool(bp, pool)
    model, _ = build_model(bp, view, enemies, n_forms)
    matrix = model.matrix()
    started = time.perf_counter()
    res = milp(np.asarray(model.cost), integrality=np.zeros(model.n), bounds=Bounds(model.col_lb, model.col_ub),
               constraints=LinearConstraint(matrix, model.lo, model.hi))
    return float(res.fun) / model.scale, time.perf_counter() - started


def greedy_forms(bp, pool, enemies, n_forms) -> list[FormDraft]:
    """Naive peer: deal items round-robin to forms; at each step a form takes the item of an unfilled area
    that brings its running TIF/TCC closest (in tolerance units) to the target pro rata."""
    theta = np.asarray(THETA)
    a, b = pool["a"].to_numpy(), pool["b"].to_numpy()
    values = np.vstack([models.item_information(theta, a, b), models.probability(theta, a, b)])  # (6, n)
    target = np.asarray(bp.information.values + bp.characteristic.values)
    tol = np.asarray([v * bp.information.tolerance for v in bp.information.values]
                     + [bp.characteristic.tolerance] * len(THETA))
    need = {f"SYN.{ROMAN[k]}": n for k, n in enumerate(AREA_COUNTS)}
    area = pool["area"].to_numpy()
    ids = pool["item_id"].to_numpy()
    enemy_of: dict[int, set[int]] = {}
    index = {i: n for n, i in enumerate(ids)}
    for x, y in enemies:
        enemy_of.setdefault(index[x], set()).add(index[y])
        enemy_of.setdefault(index[y], set()).add(index[x])
    free = np.ones(len(pool), bool)
    chosen = [[] for _ in range(n_forms)]
    left = [dict(need) for _ in range(n_forms)]
    sums = np.zeros((n_forms, len(target)))
    L = bp.exam.length
    for step in range(L):
        for f in range(n_forms):
            ok = free & np.isin(area, [k for k, v in left[f].items() if v > 0])
            for j in chosen[f]:
                for e in enemy_of.get(j, ()):
                    ok[e] = False
            cand = np.flatnonzero(ok)
            goal = target * (step + 1) / L
            cost = (((sums[f][:, None] + values[:, cand]) - goal[:, None]) / tol[:, None]) ** 2
            pick = cand[np.argmin(cost.sum(axis=0))]
            chosen[f].append(pick)
            free[pick] = False
            sums[f] += values[:, pick]
            left[f][area[pick]] -= 1
    return [FormDraft(f"G{f + 1}", tuple(ids[c]), (False,) * L) for f, c in enumerate(chosen)]


def sequential_forms(bp, pool, enemies, n_forms) -> list[FormDraft]:
    """Naive peer: one MIP per form, removing each form's items before the next."""
    forms, remaining = [], pool
    for f in range(n_forms):
        result = assemble(bp, remaining, enemies, n_forms=1, time_limit=TIME_LIMIT, name=f"S{f + 1}")
        forms.append(replace(result.forms[0].draft(), name=f"S{f + 1}"))
        remaining = remaining[~remaining["item_id"].isin(result.forms[0].item_ids)]
    return forms


def run_mip(bp, pool, enemies, n_forms, **kwargs):
    result = assemble(bp, pool, enemies, n_forms=n_forms, time_limit=TIME_LIMIT, **kwargs)
    dev, ok, _ = worst_deviation(bp, pool, [f.draft() for f in result.forms], enemies)
    return result, dev, ok


def line(label, seconds, dev, ok, extra=""):
    print(f"  {label:<44} {seconds:7.2f} s   worst deviation {dev:5.2f} tol   rules {'ok' if ok else 'BROKEN'}{extra}")


def bank(n_items: int):
    """The benchmark bank of ``n_items`` (the 1,000-item one is the headline bank of earlier runs)."""
    seed = 20261125 if n_items == 1000 else n_items
    pool, enemies = synthetic_pool(n_items, 12, rng=np.random.default_rng(seed), n_enemy_pairs=n_items // 10)
    return pool, enemies, make_blueprint(pool)


LABELS = {"certbank": "certbank", "joint": "certbank, one joint MIP",
          "sequential": "sequential MIP, one form at a time", "greedy": "greedy round-robin heuristic"}


def contestants_for(n_items: int, n_forms: int, with_joint: bool):
    pool, enemies, bp = bank(n_items)
    out = {"certbank": lambda: assemble(bp, pool, enemies, n_forms=n_forms, time_limit=TIME_LIMIT)}
    if with_joint:
        out["joint"] = lambda: assemble(bp, pool, enemies, n_forms=n_forms, time_limit=TIME_LIMIT, method="joint")
    out["sequential"] = lambda: sequential_forms(bp, pool, enemies, n_forms)
    out["greedy"] = lambda: greedy_forms(bp, pool, enemies, n_forms)
    return out, (pool, enemies, bp)


def memory_child(n_items: int, n_forms: int, name: str) -> None:
    """Run one contestant once in this fresh process and print its peak memory above the start."""
    contestants, _ = contestants_for(n_items, n_forms, with_joint=True)
    _, _, peak = peak_call(contestants[name])
    print(peak)


def peak_in_child(n_items: int, n_forms: int, name: str) -> float:
    out = subprocess.run([sys.executable, __file__, "--memory-of", str(n_items), str(n_forms), name],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def compare(n_items: int, n_forms: int, repeats: int, with_joint: bool) -> dict:
    """All contestants on one bank, interleaved; prints one line each and the ratios. Returns the medians."""
    contestants, (pool, enemies, bp) = contestants_for(n_items, n_forms, with_joint)
    print(f"\n{n_items:,} items, {n_forms} disjoint forms of 120 ({load()}; medians of {repeats} interleaved "
          "rounds; peak memory of one run in a fresh process):", flush=True)
    runs = interleaved(contestants, repeats, limit=20.0)
    out = {}
    for name, (seconds, _, result) in runs.items():
        forms = [f.draft() for f in result.forms] if hasattr(result, "forms") else result
        dev, ok, broken = worst_deviation(bp, pool, forms, enemies)
        peak = peak_in_child(n_items, n_forms, name)
        extra = f"   peak {mb(peak).strip()}"
        if hasattr(result, "solver"):
            s = result.solver
            extra += f"   [{s.method}, {s.status}, gap {s.gap:.2%}, {s.n_variables} vars]"
        line(LABELS[name], seconds, dev, ok, extra)
        if broken:
            print(f"    ({broken})")
        out[name] = (seconds, dev, ok, peak)
    ours = out["certbank"][0]
    joint = f", certbank / joint = {ours / out['joint'][0]:.2f}" if with_joint else ""
    print(f"  time ratio certbank / sequential = {ours / out['sequential'][0]:.2f}, certbank / greedy = "
          f"{ours / out['greedy'][0]:.1f}{joint}", flush=True)
    return out


def sample_case(repeats: int) -> None:
    """The shipped default blueprint (120 scored + 10 pretest items, any two forms share at most 30, a common
    block of 24 on every form, max_exposure) on a fresh sample bank, 3 forms, seed 7: no IRT targets there, so
    a pure feasibility model. Contestants interleaved: certbank; the plain overlap rows (the block not counted
    against the budget, ``BLOCK_IN_OVERLAP = False``); certbank without the tie-break costs; neither (the model
    before both)."""
    import tempfile

    from blueprints.loading import load_blueprint
    from itembank.sample_loader import create_sample_bank
    from itembank.store import Bank
    from workflows.assembly import pool_and_enemies

    root = Path(__file__).resolve().parents[1]
    bp = load_blueprint(root / "blueprints" / "default" / "peer_support.toml")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bank.db"
        create_sample_bank(path, user="bench")
        with Bank.open(path, user="bench") as bank:
            pool, enemies = pool_and_enemies(bank)
    solver: dict[str, list[float]] = {}

    def variant(name: str, **flags):
        def run():
            saved = {k: getattr(assembly, k) for k in flags}
            for k, v in flags.items():
                setattr(assembly, k, v)
            try:
                result = assemble(bp, pool, enemies, n_forms=3, seed=7, time_limit=TIME_LIMIT)
            finally:
                for k, v in saved.items():
                    setattr(assembly, k, v)
            solver.setdefault(name, []).append(result.solver.seconds)
            return result
        return run

    contestants = {"certbank": variant("certbank"),
                   "plain overlap rows": variant("plain overlap rows", BLOCK_IN_OVERLAP=False),
                   "without the tie-break": variant("without the tie-break", TIE_BREAK=0.0),
                   "neither (the earlier model)": variant("neither (the earlier model)", BLOCK_IN_OVERLAP=False,
                                                          TIE_BREAK=0.0)}
    print(f"\nDefault blueprint, sample bank, 3 forms (overlap ≤ 30, common block 24, no targets; {load()}; "
          f"medians of {repeats} interleaved rounds):", flush=True)
    runs = interleaved(contestants, repeats, limit=TIME_LIMIT)
    for name, (seconds, _, result) in runs.items():
        s = result.solver
        print(f"  {name:<28} {seconds:7.2f} s (solver median {np.median(solver[name]):6.2f} s, "
              f"runs {', '.join(f'{t:.2f}' for t in solver[name])})   rules {'ok' if result.ok else 'BROKEN'}"
              f"   [{s.status}, {s.nodes} nodes, {s.n_variables} vars, {s.n_constraints} rows]")
    ours = runs["certbank"][0]
    print(f"  time ratio certbank / plain overlap rows = {ours / runs['plain overlap rows'][0]:.3f}, "
          f"certbank / without the tie-break = {ours / runs['without the tie-break'][0]:.2f}, certbank / the "
          f"earlier model = {ours / runs['neither (the earlier model)'][0]:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per case (medians)")
    parser.add_argument("--sample-only", action="store_true", help="only the default blueprint on the sample bank")
    parser.add_argument("--memory-of", nargs=3, metavar=("ITEMS", "FORMS", "CONTESTANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        return memory_child(int(args.memory_of[0]), int(args.memory_of[1]), args.memory_of[2])
    if args.sample_only:
        return sample_case(args.repeats)
    print("Target: certbank ≤ 1.0 × the sequential MIP at equal quality (every rule verified, worst deviation "
          "≤ 1 tolerance); 4,000 items / 4 forms under 5 s")
    for n_items, n_forms in ((1000, 4), (2000, 6), (4000, 4)):
        compare(n_items, n_forms, args.repeats, with_joint=n_items <= 2000)

    pool, enemies, bp = bank(1000)
    print("\nThe joint model (method='joint') on the 1,000-item bank, 4 forms, one run each:")
    result, dev, ok = run_mip(bp, pool, enemies, 4, method="joint")
    s = result.solver
    lp, lp_seconds = lp_bound(bp, pool, enemies, 4)
    line("one MIP, all forms", s.seconds, dev, ok,
         f"   [{s.status}; objective {s.objective:.4f}, bound {s.bound:.4f}, gap {s.gap:.2%}, "
         f"{s.nodes} nodes; LP relaxation {lp:.4f} in {lp_seconds:.2f} s; {s.n_variables} vars, "
         f"{s.n_constraints} rows]")
    saved = assembly.TIE_BREAK
    assembly.TIE_BREAK = 0.0
    r0, d0, ok0 = run_mip(bp, pool, enemies, 4, method="joint")
    assembly.TIE_BREAK = saved
    line("  same, without the tie-break cost", r0.solver.seconds, d0, ok0,
         f"   [{r0.solver.status}, gap {r0.solver.gap:.2%}, {r0.solver.nodes} nodes]")
    r1, d1, ok1 = run_mip(bp, pool, enemies, 4, method="joint", symmetry_breaking=True)
    line("  same, with explicit symmetry breaking", r1.solver.seconds, d1, ok1,
         f"   [{r1.solver.status}, gap {r1.solver.gap:.2%}, {r1.solver.nodes} nodes]")
    r2, d2, ok2 = run_mip(replace(bp, max_overlap=20), pool, enemies, 4)
    line("  any two forms may share 20 items (auto)", r2.solver.seconds, d2, ok2,
         f"   [{r2.solver.method}, {r2.solver.status}, gap {r2.solver.gap:.2%}, {r2.solver.n_variables} vars]")

    sample_case(min(args.repeats, 3))

    print("\nScaling with bank size (4 forms, certbank, one run each):")
    for n_items in (500, 1000, 2000, 4000):
        p, e, b = bank(n_items)
        try:
            r, d, k = run_mip(b, p, e, 4)
        except AssemblyError as err:
            print(f"  {n_items:>5} items: not possible — {str(err).splitlines()[1]}")
            continue
        line(f"{n_items:>5} items", r.solver.seconds, d, k,
             f"   [{r.solver.method}, {r.solver.status}, gap {r.solver.gap:.2%}]")
    print("\nScaling with the number of forms (1,000 items, certbank, one run each):")
    for n_forms in (1, 2, 4, 6):
        r, d, k = run_mip(bp, pool, enemies, n_forms)
        line(f"{n_forms} form(s)", r.solver.seconds, d, k,
             f"   [{r.solver.method}, {r.solver.status}, gap {r.solver.gap:.2%}]")
    # With 6 forms the pool is tight (72 of ~83 items per large area): where one-form-at-a-time may fail.
    started = time.perf_counter()
    try:
        sequential = sequential_forms(bp, pool, enemies, 6)
        q_dev, q_ok, _ = worst_deviation(bp, pool, sequential, enemies)
        line("  peer: sequential MIP, 6 forms", time.perf_counter() - started, q_dev, q_ok)
    except AssemblyError as err:
        print(f"  peer: sequential MIP, 6 forms: failed — {str(err).splitlines()[0]}")


if __name__ == "__main__":
    main()
