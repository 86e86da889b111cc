"""`certbank score`: θ for each candidate from item parameters, or raw, θ, scaled score and pass/fail against
a stored standard. Reads the responses (with the bank's key for a form) and the parameters, calls
``psychometrics.irt.scoring`` or ``psychometrics.standards.scaling``, and writes one CSV.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.irt import scoring
from psychometrics.responses import CANDIDATE_COLUMN, ResponseMatrix
from psychometrics.standards.area_bands import AreaBands, area_bands
from psychometrics.standards.scaling import scale_from_dict, score_candidates
from workflows.outputs import write_atomically, write_csv
from workflows.parameter_files import FormParameters, bank_form_parameters, form_parameters, read_latent, read_params
from workflows.responses import scored_matrix
from workflows.standards import load_standard


def score_responses(scored, item_ids, params: pd.DataFrame, method: str = "eap", person_ids=None,
                    prior: tuple[float, float] = (0.0, 1.0)) -> scoring.ThetaScores:
    """Score responses with parameters from ``read_params``; items are matched by id. ``prior`` (mean, SD)
    is the latent distribution used by EAP and MAP. ``scored``: 1/0/NaN floats, or a ResponseMatrix (EAP then
    reads its int8 ``right`` and ``not_reached`` mask, one byte a cell, instead of the float matrix)."""
    not_presented = None
    if isinstance(scored, ResponseMatrix):
        if method.lower() == "eap" and scored.values is None:
            scored, not_presented = scored.right, scored.not_reached
        else:
            scored = scored.scored
    by_id = params.set_index("item_id")
    missing = [i for i in item_ids if i not in by_id.index]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise InputError(Problem(f"{len(missing)} item(s) in the responses have no parameters: {shown}"))
    rows = by_id.loc[list(item_ids)]
    options = {"prior_mean": prior[0], "prior_sd": prior[1]} if method.lower() in ("eap", "map") else {}
    if not_presented is not None:
        options["missing"] = not_presented
    return scoring.score(scored, rows["a"].to_numpy(float), rows["b"].to_numpy(float), rows["c"].to_numpy(float),
                         method=method, D=float(rows["D"].iloc[0]), person_ids=person_ids, **options)



@dataclass(frozen=True)
class ThetaRun:
    """θ estimates of one response file by ``method``."""

    scores: scoring.ThetaScores
    method: str

    def write(self, out) -> list[Path]:
        frame = self.scores.to_frame().rename(columns={"person_id": CANDIDATE_COLUMN})
        return write_atomically([(out, frame.to_csv(index=False))])

    def message(self, out) -> str:
        bounded = int(self.scores.bounded.sum())
        return (f"Scored {self.scores.theta.size} candidates by {self.method.upper()}: mean θ "
                f"{np.nanmean(self.scores.theta):.3f}{f', {bounded} held at the ±4 bound' if bounded else ''}. "
                f"Wrote {out}.")



@dataclass(frozen=True)
class FormThetaRun:
    """`score --form ID` without a standard: per candidate raw score, θ by ``method`` and its SE, from the
    form's bank-scale parameters (``parameters`` says which sets); ``administration_id`` is only reported."""

    form_id: str
    method: str
    report: pd.DataFrame = field(repr=False)
    parameters: FormParameters = field(repr=False)
    administration_id: str | None = None

    def write(self, out) -> list[Path]:
        return [write_csv(out, self.report)]

    def message(self, out) -> str:
        bounded = int(self.report["bounded"].sum())
        adm = f" Administration {self.administration_id}." if self.administration_id else ""
        return (f"Scored {len(self.report)} candidates on form {self.form_id} by {self.method.upper()}: mean raw "
                f"{self.report['raw'].mean():.2f} of {self.parameters.params.n_items}, mean θ "
                f"{np.nanmean(self.report['theta']):.3f}{f', {bounded} held at the ±4 bound' if bounded else ''}."
                f"{adm} {self.parameters.sentence()} Wrote {out}.")


def _checked_administration(bank, administration_id: str | None, form_id: str | None) -> str | None:
    """The form the administration delivered (checked against ``form_id``), or ``form_id`` without one."""
    if not administration_id:
        return form_id
    adm = bank.get_administration(administration_id)
    if form_id and adm.form_id and adm.form_id != form_id:
        raise InputError(f"Administration {administration_id} delivered form {adm.form_id}, not {form_id}: give "
                         f"the administration of form {form_id}, or leave --administration out.")
    return form_id or adm.form_id


def score_form(bank, responses, form_id: str, *, method: str = "eap",
               administration_id: str | None = None) -> FormThetaRun:
    """`score RESPONSES --form ID` without a standard: each candidate's raw score on the form's scored items
    and θ by ``method`` (EAP/MAP with a N(0, 1) prior on the bank scale; MLE, WLE) with its SE, from the form's
    parameters on the bank scale (``bank_form_parameters``: refused, in one sentence, when items lack them).
    Responses are scored with the form's bank key; not-reached items are left out of θ and count as wrong in
    the raw score."""
    found = bank_form_parameters(bank, form_id)
    params = found.params
    matrix, _ = scored_matrix(bank, responses, form_id)
    columns = [matrix.item_ids.index(i) for i in params.item_ids]
    if method.lower() == "eap" and matrix.values is None:   # one byte a cell: right and the not-reached mask
        x = matrix.right[:, columns]
        extra = {"missing": matrix.not_reached[:, columns]}
    else:
        x, extra = matrix.scored[:, columns], {}
    thetas = scoring.score(x, params.a, params.b, params.c, method=method.lower(), D=params.D,
                           person_ids=matrix.person_ids, **extra)
    report = pd.DataFrame({"candidate_id": matrix.person_ids, "raw": np.nansum(x, axis=1, dtype=float).astype(int),
                           "n_answered": thetas.n_answered, "theta": thetas.theta, "se": thetas.se,
                           "bounded": thetas.bounded, "method": method.lower()})
    if "language" in matrix.groups:
        report.insert(1, "language", matrix.groups["language"].to_numpy())
    return FormThetaRun(form_id, method, report, found, administration_id)


def score_file(bank, responses, *, params_file=None, key_file=None, method: str = "eap",
               form_id: str | None = None, standard: str | None = None, administration_id: str | None = None):
    """Score a response file. With ``standard``: each candidate's raw, θ, scaled score, pass/fail and areas
    against it (``score_against_standard``); with ``form_id`` alone (or ``administration_id``, whose form is
    used): raw and θ by ``method`` from the form's bank-scale parameters (``score_form``); else θ by ``method``
    with the parameters in ``params_file`` (EAP/MAP prior: the latent mean and SD in the calibration.json
    beside it, else N(0, 1)). Returns a result with ``write(out)`` and ``message(out)``."""
    if administration_id:
        form_id = _checked_administration(bank, administration_id, form_id)
    if standard:
        return score_against_standard(bank, responses, standard=standard, form_id=form_id,
                                      params_file=params_file, key_file=key_file)
    if form_id:
        if params_file or key_file:
            raise InputError("Without --standard, --form scores with the bank's key and bank-scale parameters: "
                             "leave out --params and --key.")
        return score_form(bank, responses, form_id, method=method, administration_id=administration_id)
    if params_file is None:
        raise InputError("Give --params FILE, or --form ID (bank-scale parameters), with or without --standard.")
    matrix, _ = scored_matrix(None, responses, None, key_file)
    params = read_params(params_file)
    result = score_responses(matrix, matrix.item_ids, params, method.lower(), person_ids=matrix.person_ids,
                             prior=read_latent(params_file))
    return ThetaRun(result, method)


# ---- candidates against a standard -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StandardScores:
    """Per candidate raw, θ, scaled, pass/fail and area percentages (``report``, attrs raw_cut)."""

    standard: str
    n_items: int
    report: pd.DataFrame = field(repr=False)
    #: Bank forms: each area's band against the passing level (its ``band_<area>`` columns are in ``report``).
    bands: AreaBands | None = field(default=None, repr=False)
    #: The response file's non-item columns (language, name, ...) and ``n_answered`` (scored items answered).
    candidates: pd.DataFrame | None = field(default=None, repr=False)

    def write(self, out) -> list[Path]:
        # the file names candidates the way the response file did
        return [write_csv(out, self.report.rename(columns={"person_id": CANDIDATE_COLUMN}))]

    def message(self, out) -> str:
        n_pass = int((self.report["result"] == "pass").sum())
        return (f"Scored {len(self.report)} candidates against standard {self.standard}: raw cut "
                f"{self.report.attrs['raw_cut']} of {self.n_items}, {n_pass} pass "
                f"({100 * n_pass / len(self.report):.1f}%). Wrote {out}.")



def score_against_standard(bank, responses, *, standard: str | None, form_id: str | None = None,
                           params_file=None, key_file=None) -> StandardScores:
    """`score --form ID --standard NAME|FILE`: each candidate's raw score, θ and scaled score from the form's
    conversion table, pass/fail and (bank forms) percent correct and band against the passing level by
    competency area (``psychometrics.standards.area_bands``)."""
    if not standard:
        raise InputError("--form with `score` needs --standard NAME|FILE (the pass/fail standard).")
    record = load_standard(bank, standard)
    params, _ = form_parameters(bank, form_id, params_file)
    matrix, _ = scored_matrix(bank, responses, form_id, key_file)
    missing = [i for i in params.item_ids if i not in matrix.item_ids]
    if missing:
        raise InputError([f"{responses}: no responses for scored item {i}" for i in missing])
    columns = [matrix.item_ids.index(i) for i in params.item_ids]
    areas = None
    if form_id:
        pool = bank.item_pool().set_index("item_id")
        areas = pool.reindex(list(params.item_ids))["area"].fillna("unassigned").tolist()
    report = score_candidates(matrix.scored[:, columns], params, float(record["theta_cut"]), areas=areas,
                              person_ids=matrix.person_ids, scale=scale_from_dict(record.get("scale")))
    if "language" in matrix.groups:
        report.insert(1, "language", matrix.groups["language"].to_numpy())
    bands = None
    if areas is not None:
        bands = area_bands(matrix.scored[:, columns], params, float(record["theta_cut"]), areas,
                           person_ids=matrix.person_ids)
        for k, area in enumerate(bands.areas):
            report.insert(report.columns.get_loc("note"), f"band_{area}", bands.band[:, k])
    candidates = matrix.groups.reset_index(drop=True).assign(
        n_answered=np.isfinite(matrix.scored[:, columns]).sum(axis=1))
    return StandardScores(str(record.get("name", standard)), params.n_items, report, bands, candidates)

