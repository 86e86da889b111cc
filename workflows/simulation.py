"""`certbank simulate`: a practice administration of a bank form — responses to every item of the form (and,
if asked, a modified-Angoff panel's ratings) from IRT parameters, so a newcomer can run the whole cycle on a
form they just assembled.

The generating parameters are the form's bank-scale parameters where the bank has them; items without are
drawn from the sample program's distributions (3PL: a ~ lognormal(0.1, 0.25), b ~ N(−0.6, 0.9),
c ~ Beta(5, 20); ``demo_simulation``) with the same seed, and the result says how many. Nothing in the bank
changes; the files are written atomically.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from certbank_core.files import atomic_write
from workflows import demo_simulation as sim


@dataclass(frozen=True)
class SimulatedAdministration:
    """The simulated response file (and ratings) of one form, with how its generating parameters were chosen."""

    form_id: str
    responses: pd.DataFrame = field(repr=False)
    ratings: pd.DataFrame | None = field(default=None, repr=False)
    n_from_bank: int = 0
    n_drawn: int = 0
    mean: float = 0.0

    def write(self, out, ratings_out=None) -> list[Path]:
        written = [Path(out)]
        atomic_write(Path(out), lambda tmp: self.responses.to_csv(tmp, index=False))
        if ratings_out is not None and self.ratings is not None:
            atomic_write(Path(ratings_out), lambda tmp: self.ratings.to_csv(tmp, index=False))
            written.append(Path(ratings_out))
        return written

    def message(self, written) -> str:
        src = f"{self.n_from_bank} items from the bank's parameters"
        if self.n_drawn:
            src += f", {self.n_drawn} without bank parameters drawn from the sample program's distributions"
        return (f"Simulated {len(self.responses):,} candidates (θ ~ N({self.mean:g}, 1), a third in Spanish) on "
                f"form {self.form_id}: {src}. Wrote {', '.join(str(p) for p in written)}.")


def simulate_form(bank, form_id: str, *, n_candidates: int = sim.N_CANDIDATES, mean: float = 0.0, seed: int = 1,
                  ratings: bool = False) -> SimulatedAdministration:
    """Responses of ``n_candidates`` candidates θ ~ N(mean, 1) to every item of bank form ``form_id``; with
    ``ratings`` also a 12-rater modified-Angoff panel on its scored items."""
    if n_candidates < 2:
        raise InputError(f"--candidates {n_candidates}: simulate at least 2 candidates.")
    form = bank.get_form(form_id)
    rng = np.random.default_rng(seed)
    items = [fi.item_id for fi in form.items]
    params = bank.item_parameters(items).set_index("item_id")
    truth = pd.DataFrame(index=pd.Index(items, name="item_id"))
    drawn = pd.DataFrame({"a": rng.lognormal(*sim.TRUE_LOG_SLOPE, len(items)),
                          "b": rng.normal(*sim.TRUE_DIFFICULTY, len(items)),
                          "c": rng.beta(*sim.TRUE_GUESSING, len(items))}, index=truth.index)
    known = params.reindex(items)
    have = known["a"].notna() & known["b"].notna()
    for col in ("a", "b", "c"):
        truth[col] = np.where(have, known[col].fillna(0.0), drawn[col])
    admin = sim.simulate_administration(bank, form_id, truth, rng, mean=mean, plant=False, n_candidates=n_candidates)
    panel = sim.simulate_ratings(list(form.scored_item_ids), truth, rng) if ratings else None
    return SimulatedAdministration(form_id, admin.responses, panel, int(have.sum()), int((~have).sum()), mean)
