"""Bootstrap standard errors of equating, and the short-anchor warning.

Bootstrap (Efron & Tibshirani 1993; Kolen & Brennan 2014, sec. 7.1): draw each group's scores again with
replacement (a multinomial draw of the same size from its observed frequencies — from the joint (total,
anchor) table in the NEAT design), equate the replicate with the same method, and take the SD over the
replicates at each score. Seeded ``numpy.random.Generator``. The analytic delta-method SEs Kolen & Brennan give
(linear and equipercentile, random groups) stay on the methods themselves (``classical.py``).

Short anchor (K&B sec. 8.1 rule of thumb): fewer than 20 % of the total test's items, or fewer than 10 items.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

MIN_ANCHOR_ITEMS = 10
MIN_ANCHOR_SHARE = 0.20


def bootstrap_se_random_groups(equate: Callable, freq_x, freq_y, *, n_boot: int = 500,
                               rng: np.random.Generator) -> np.ndarray:
    """SD over ``n_boot`` replicates of equate(fx*, fy*).equated, fx*, fy* multinomial redraws of the counts."""
    fx = np.asarray(freq_x, dtype=float)
    fy = np.asarray(freq_y, dtype=float)
    nx, ny = int(round(fx.sum())), int(round(fy.sum()))
    reps = np.empty((n_boot, fx.size))
    for r in range(n_boot):
        bx = rng.multinomial(nx, fx / fx.sum()).astype(float)
        by = rng.multinomial(ny, fy / fy.sum()).astype(float)
        reps[r] = equate(bx, by).equated
    return reps.std(axis=0, ddof=1)


def bootstrap_se_neat(equate: Callable, data, *, n_boot: int = 500, rng: np.random.Generator) -> np.ndarray:
    """SD over replicates of equate(NeatData*).equated, each joint table redrawn from itself."""
    from psychometrics.equating.classical import NeatData
    t1, t2 = np.asarray(data.joint1, float), np.asarray(data.joint2, float)
    n1, n2 = int(round(t1.sum())), int(round(t2.sum()))
    reps = np.empty((n_boot, t1.shape[0]))
    for r in range(n_boot):
        b1 = rng.multinomial(n1, (t1 / t1.sum()).ravel()).reshape(t1.shape).astype(float)
        b2 = rng.multinomial(n2, (t2 / t2.sum()).ravel()).reshape(t2.shape).astype(float)
        reps[r] = equate(NeatData(b1, b2, data.internal)).equated
    return reps.std(axis=0, ddof=1)


def short_anchor_warning(n_anchor_items: int, n_items: int) -> str | None:
    """A sentence when the anchor is too short to trust (< 20 % of the items or < 10 items), else None."""
    if n_anchor_items < MIN_ANCHOR_ITEMS or n_anchor_items < MIN_ANCHOR_SHARE * n_items:
        return (f"The anchor has {n_anchor_items} of {n_items} items: fewer than "
                f"{MIN_ANCHOR_ITEMS} items or 20% of the test (Kolen & Brennan 2014, sec. 8.1); "
                "the NEAT equating rests on too little common material to trust.")
    return None
