"""Synthetic item pools (the columns of ``Bank.item_pool()``) for tests and benchmarks.

Parameters are drawn as is common in assembly studies (van der Linden 2005, ch. 1): log a ~ N(0, 0.3²),
b ~ N(0, 1), 2PL (c = 0), D = 1. Areas are SYN.I, SYN.II, ...; keys and cognitive levels are uniform.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI")
LEVELS = ("recall", "application", "analysis")


def synthetic_pool(n_items: int, n_areas: int = 12, *, rng: np.random.Generator, prefix: str = "SYN",
                   irt: bool = True, n_enemy_pairs: int = 0) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """A pool of ``n_items`` operational items spread evenly over ``n_areas`` areas, and random enemy pairs."""
    ids = [f"ITM-{i + 1:05d}" for i in range(n_items)]
    area_index = np.arange(n_items) % n_areas
    areas = [f"{prefix}.{ROMAN[k]}" for k in area_index]
    pool = pd.DataFrame({
        "item_id": ids,
        "version": 1,
        "status": "operational",
        "primary_competency": [f"{a}.{1 + (i // n_areas) % 3}" for i, a in enumerate(areas)],
        "area": areas,
        "cognitive_level": rng.choice(LEVELS, size=n_items, p=[0.4, 0.45, 0.15]),
        "key": rng.choice(list("ABCD"), size=n_items),
        "n_options": 4,
        "languages": "en;es",
        "es_status": "reviewed",
        "exposure_count": 0,
        "last_used_form": "",
        "p_value": np.clip(rng.normal(0.7, 0.12, n_items), 0.2, 0.97),
        "point_biserial": np.clip(rng.normal(0.3, 0.1, n_items), -0.1, 0.7),
    })
    if irt:
        pool["a"] = np.exp(rng.normal(0.0, 0.3, n_items))
        pool["b"] = rng.normal(0.0, 1.0, n_items)
        pool["c"] = 0.0
        pool["D"] = 1.0
    else:
        pool[["a", "b", "c", "D"]] = np.nan
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < n_enemy_pairs:
        i, j = rng.choice(n_items, size=2, replace=False)
        pairs.add((ids[min(i, j)], ids[max(i, j)]))
    return pool, sorted(pairs)
