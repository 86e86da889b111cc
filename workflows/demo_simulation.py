"""The simulated program behind `certbank demo`: the truth the demo's results are checked against.

* ``bank_scale_truth`` draws 3PL parameters for every item of the sample bank (the generating truth) and stores
  the operational items' as the bank scale, standing in for earlier calibrations; pretest items have none
  until a year's calibration estimates them.
* ``simulate_administration`` answers every item of a form (scored and pretest) for N(mean, 1) candidates, a
  third in Spanish, with year 1's four planted problems (a miskey, an item far too easy, Spanish DIF, a
  distractor nobody chooses) and, in a later year, anchors that drift (harder than their bank values).
* ``true_raw_cut`` is the form's raw cut under the generating process itself (plants included), the number
  certbank's carried standard should reproduce.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics.irt.models import probability
from psychometrics.simulate import OPTION_LABELS, simulate_option_choices

N_CANDIDATES = 3000
SPANISH_SHARE = 1 / 3
#: Bank-scale item parameters (3PL, D = 1): a ~ lognormal(0.1, 0.25), b ~ N(-0.6, 0.9), c ~ Beta(5, 20).
TRUE_LOG_SLOPE = (0.1, 0.25)
TRUE_DIFFICULTY = (-0.6, 0.9)
TRUE_GUESSING = (5.0, 20.0)
#: The planted problems of year 1.
EASY_B = -4.5
SPANISH_SHIFT = 1.4
NFD_WEIGHT = 0.002
OMIT_RATE = 0.004
NOT_REACHED_SHARE = 0.02


def bank_scale_truth(bank, rng: np.random.Generator) -> pd.DataFrame:
    """Generating 3PL parameters of every bank item (frame indexed by item_id: version, a, b, c, status); the
    operational items' are saved as the first parameter set, which defines the bank scale."""
    pool = bank.item_pool()
    n = len(pool)
    truth = pd.DataFrame({"item_id": pool["item_id"], "version": pool["version"],
                          "a": rng.lognormal(*TRUE_LOG_SLOPE, n), "b": rng.normal(*TRUE_DIFFICULTY, n),
                          "c": rng.beta(*TRUE_GUESSING, n), "status": pool["status"]})
    known = truth[truth["status"] == "operational"]
    bank.save_parameter_set(known[["item_id", "version", "a", "b", "c"]], model="3pl", D=1.0, method="free",
                            scale="bank", label="bank scale (simulated earlier calibrations, demo)")
    return truth.set_index("item_id")


@dataclass(frozen=True)
class Administration:
    """Simulated responses (candidate_id, form_id, language, one column per item in form order), the true θ,
    and what was planted: (item_id, kind, description) and the drift {item_id: Δb}."""

    responses: pd.DataFrame = field(repr=False)
    theta: np.ndarray = field(repr=False)
    planted: tuple[tuple[str, str, str], ...] = ()
    drift: dict = field(default_factory=dict)
    #: per item: kind of plant ('miskey', 'too easy', 'Spanish DIF', '' …) for ``true_raw_cut``
    effects: dict = field(default_factory=dict)


def simulate_administration(bank, form_id: str, truth: pd.DataFrame, rng: np.random.Generator, *,
                            mean: float = 0.0, plant: bool = True, drift: dict | None = None,
                            candidate_prefix: str = "C", n_candidates: int = N_CANDIDATES) -> Administration:
    """Every item of ``form_id`` answered by ``n_candidates`` candidates with θ ~ N(mean, 1)."""
    form = bank.get_form(form_id)
    items = [fi.item_id for fi in form.items]
    scored = set(form.scored_item_ids)
    key = bank.form_key(form_id)
    options = bank.form_options(form_id)
    n_opts = np.array([len(options[i]) for i in items])
    key_codes = np.array([options[i].index(key[i]) for i in items])
    p = truth.loc[items]
    a, b, c = p["a"].to_numpy(), p["b"].to_numpy().copy(), p["c"].to_numpy()
    drift = dict(drift or {})
    for item_id, shift in drift.items():
        b[items.index(item_id)] += shift
    correct = key_codes.copy()
    weights = np.ones((len(items), int(n_opts.max())))
    planted: tuple = ()
    effects: dict = {}
    dif_item = None
    if plant:
        # Four problems on well-behaved mid-difficulty scored items (deterministic: no two the same).
        candidates = np.array([j for j, i in enumerate(items) if i in scored])
        order = candidates[np.argsort(np.abs(b[candidates] - np.median(b[candidates])))]
        miskey, easy, dif_item, nfd = (int(j) for j in order[[0, 3, 6, 9]])
        correct[miskey] = (key_codes[miskey] + 1) % n_opts[miskey]
        b[easy] = EASY_B
        nfd_option = (key_codes[nfd] + 2) % n_opts[nfd]
        weights[nfd, nfd_option] = NFD_WEIGHT
        planted = (
            (items[miskey], "miskey", f"stored key {key[items[miskey]]} but option "
                                      f"{OPTION_LABELS[correct[miskey]]} is the right answer"),
            (items[easy], "too easy", "almost every candidate answers it correctly"),
            (items[dif_item], "Spanish DIF", "the Spanish translation makes it harder for Spanish takers"),
            (items[nfd], "non-functioning distractor",
             f"option {OPTION_LABELS[nfd_option]} attracts almost nobody"),
        )
        effects = {items[miskey]: ("miskey", n_opts[miskey], weights[miskey, :n_opts[miskey]],
                                   int(key_codes[miskey]), int(correct[miskey])),
                   items[easy]: ("b", EASY_B), items[dif_item]: ("spanish", SPANISH_SHIFT)}
    n = n_candidates
    spanish = rng.random(n) < SPANISH_SHARE
    theta = rng.normal(mean, 1.0, n)
    b_person = np.broadcast_to(b, (n, len(items))).copy()
    if dif_item is not None:
        b_person[spanish, dif_item] += SPANISH_SHIFT
    codes = simulate_option_choices(theta, a, b_person, c, correct_options=correct, n_options=n_opts, rng=rng,
                                    distractor_weights=weights)
    labels = np.array(list(OPTION_LABELS))[codes].astype(object)
    labels[rng.random(labels.shape) < OMIT_RATE] = ""
    # Some candidates run out of time: their last 3–10 answers are blank (not reached).
    slow = np.flatnonzero(rng.random(n) < NOT_REACHED_SHARE)
    for i, k in zip(slow, rng.integers(3, 11, slow.size)):  # a few dozen rows, not the persons loop of a statistic
        labels[i, -k:] = ""
    frame = pd.DataFrame(labels, columns=items)
    frame.insert(0, "language", np.where(spanish, "es", "en"))
    frame.insert(0, "form_id", form_id)
    frame.insert(0, "candidate_id", [f"{candidate_prefix}{i + 1:05d}" for i in range(n)])
    return Administration(frame, theta, planted, drift, effects)


def simulate_ratings(items, truth: pd.DataFrame, rng: np.random.Generator, *, n_raters: int = 12,
                     borderline_theta: float = -0.35) -> pd.DataFrame:
    """A modified-Angoff panel (long layout rater_id, item_id, rating): each rater judges P(correct) of a
    borderline candidate at ``borderline_theta`` with a personal leniency N(0, 0.25) and noise N(0, 0.08),
    rounded to 0.01 and kept within [0.05, 0.98]."""
    items = list(items)
    t = truth.loc[items]
    leniency = rng.normal(0.0, 0.25, n_raters)
    p_border = probability(borderline_theta + leniency, t["a"], t["b"], t["c"])  # (raters, items)
    ratings = np.clip(np.round(p_border + rng.normal(0, 0.08, p_border.shape), 2), 0.05, 0.98)
    raters = [f"R{j + 1:02d}" for j in range(n_raters)]
    return pd.DataFrame({"rater_id": np.repeat(raters, len(items)), "item_id": np.tile(items, n_raters),
                         "rating": ratings.ravel()})


def true_expected_score(theta_cut: float, items, truth: pd.DataFrame, admin: Administration) -> float:
    """The expected raw score on ``items`` (the scored ones) at θ under the simulation itself: drifted b,
    the too-easy item's b, the miskeyed item scored by its stored key (a distractor, chosen with the
    distractor weights when the right answer is missed), Spanish DIF for the Spanish share of takers."""
    items = list(items)
    p = truth.loc[items]
    b = p["b"].to_numpy() + np.array([admin.drift.get(i, 0.0) for i in items])
    total = 0.0
    for j, item_id in enumerate(items):
        a, c = float(p["a"].iloc[j]), float(p["c"].iloc[j])
        effect = admin.effects.get(item_id)
        prob = float(probability(np.array([theta_cut]), np.array([a]), np.array([b[j]]), np.array([c]))[0, 0])
        if effect and effect[0] == "b":
            prob = float(probability(np.array([theta_cut]), np.array([a]), np.array([effect[1]]),
                                     np.array([c]))[0, 0])
        elif effect and effect[0] == "spanish":
            hard = float(probability(np.array([theta_cut]), np.array([a]), np.array([b[j] + effect[1]]),
                                     np.array([c]))[0, 0])
            prob = (1 - SPANISH_SHARE) * prob + SPANISH_SHARE * hard
        elif effect and effect[0] == "miskey":
            _, n_opt, w, stored, right = effect
            others = [k for k in range(n_opt) if k != right]
            prob = (1 - prob) * w[stored] / sum(w[k] for k in others)
        total += prob
    return total


def true_raw_cut(theta_cut: float, items, truth: pd.DataFrame, admin: Administration) -> int:
    """⌈expected raw score at the θ cut⌉ under the simulation: the raw cut certbank's rule aims at."""
    return int(np.ceil(true_expected_score(theta_cut, items, truth, admin) - 1e-9))
