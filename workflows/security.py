"""The exam-security job behind `certbank security`: person fit, answer similarity between every pair of
candidates, preknowledge on an exposed item set, item drift against the bank's statistics history, and
retakers' gains (``psychometrics.security``), with the tables and the security workbook they make.

θ is the WLE (Warm 1989) from the form's parameters on the bank scale (lz* needs an ML or WLE θ). Response
files are not kept in the bank, so earlier attempts come in as files: ``previous`` is a list of
(RESPONSES, FORM_ID) of earlier administrations, each scored with its own form's bank-scale parameters, and
candidates are linked across them by ``candidate_id``.

Response times: a column ``<item_id>_seconds`` beside the item columns holds the seconds a candidate spent on
that item (blank: not timed). They are read as group columns, so they are never taken for items; when any is
present the timing screen runs (``psychometrics.security.timing``) on the timed items.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.irt import scoring
from psychometrics.irt.models import ItemParameters, probability
from psychometrics.responses.matrix import OPTION_LABELS
from psychometrics.security.person_fit import person_fit
from psychometrics.security.preknowledge import differential_person_functioning, item_drift, retake_gains
from psychometrics.security.similarity import answer_similarity
from psychometrics.security.timing import aberrant_timing
from workflows.outputs import write_outputs
from workflows.parameter_files import bank_form_parameters, read_item_parameters
from workflows.responses import read_key_file, read_responses

THETA_METHOD = "wle"
CAUTION = ("A statistic alone is not proof of misconduct: each case is a reason to look further (seating, "
           "timing, the candidate's history, an interview), and about alpha × the number of tests of honest "
           "candidates are flagged by chance.")
#: The response-time column of an item: ``<item_id>_seconds``.
SECONDS_SUFFIX = "_seconds"


@dataclass(frozen=True)
class SecurityStudy:
    """The tables of one run (file name → frame), the sentences of its findings and the run's settings."""

    frames: dict = field(repr=False)
    findings: tuple[str, ...]
    summary: dict

    def write(self, outdir) -> list[Path]:
        return write_outputs(outdir, self.frames, self.summary)

    def write_report(self, path, force: bool = False) -> Path:
        from reports.security_report import SecurityReport, build_security_workbook

        return build_security_workbook(SecurityReport(self.findings, CAUTION, self.frames, self.summary), path,
                                       force=force)

    def message(self, outdir, report=None) -> str:
        lines = list(self.findings) + [CAUTION, f"Wrote {len(self.frames) + 1} files into {outdir}"
                                       + (f" and the workbook {report}." if report else ".")]
        return "\n".join(lines)


def _parameters(bank, form_id, params_file) -> tuple[ItemParameters, str]:
    if form_id:
        return bank_form_parameters(bank, form_id).params, form_id
    if params_file:
        return read_item_parameters(params_file), "key file"
    raise InputError("θ needs item parameters on the bank scale: give --form ID (the bank's), or --params FILE "
                     "(item_id, a, b, c) with --key.")


def _read(bank, path, form_id, key_file, site, item_ids=()):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The response file {path} does not exist.")
    groups = ((site,) if site else ()) + tuple(f"{i}{SECONDS_SUFFIX}" for i in item_ids)
    if form_id:
        if bank is None:
            raise InputError(f"form {form_id} needs the item bank, and none was given.")
        key, options = bank.form_key(form_id), bank.form_options(form_id)
        return read_responses(path, key=key, options=options, item_ids=list(key), form_id=form_id,
                              group_columns=groups)
    return read_responses(path, key=read_key_file(key_file) if key_file else None, group_columns=groups)


def _scored(matrix, params: ItemParameters, path):
    missing = [i for i in params.item_ids if i not in matrix.item_ids]
    if missing:
        raise InputError(f"{path}: {len(missing)} scored item(s) have no column ({', '.join(missing[:3])}"
                         f"{', …' if len(missing) > 3 else ''}).")
    cols = [matrix.item_ids.index(i) for i in params.item_ids]
    x = matrix.scored[:, cols]
    theta = scoring.score(x, params.a, params.b, params.c, method=THETA_METHOD, D=params.D,
                          person_ids=matrix.person_ids)
    return cols, x, theta


def _seconds(matrix, item_ids, path) -> np.ndarray | None:
    """(n, J) response times from the ``<item_id>_seconds`` columns (NaN: blank or no column), or None when the
    file has none. A cell that is not a positive number is a problem with its row and column."""
    columns = {str(c).lower(): c for c in matrix.groups.columns}
    names = [columns.get(f"{i}{SECONDS_SUFFIX}".lower()) for i in item_ids]
    if not any(names):
        return None
    out = np.full((matrix.n_persons, len(item_ids)), np.nan)
    bad = []
    for j, name in enumerate(names):
        if name is None:
            continue
        cells = matrix.groups[name].astype(str).str.strip()
        values = pd.to_numeric(cells.where(cells != "", None), errors="coerce").to_numpy(float)
        for r in np.flatnonzero((cells != "").to_numpy() & ~(values > 0)):
            bad.append(Problem(f"'{cells.iloc[r]}' is not a positive number of seconds", str(path), int(r) + 2,
                               name))
        out[:, j] = np.where(values > 0, values, np.nan)
    if bad:
        raise InputError(bad)
    return out


def _exposed_items(path, item_ids) -> list[int]:
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(Problem(f"cannot be read ({err})", file=str(path))) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "item_id" not in frame.columns:
        raise InputError(Problem("there is no 'item_id' column", file=str(path), row=1))
    ids = [v.strip() for v in frame["item_id"]]
    bad = [Problem(f"item {v or '(blank)'} is not a scored item of these responses", str(path), r + 2, "item_id")
           for r, v in enumerate(ids) if v not in item_ids]
    if bad:
        raise InputError(bad)
    if not ids or len(set(ids)) == len(item_ids):
        raise InputError(Problem("the exposed set must hold some, not all, of the scored items", file=str(path)))
    return sorted({item_ids.index(v) for v in ids})


def security_study(bank, responses, *, form_id: str | None = None, key_file=None, params_file=None,
                   site: str | None = None, exposed_file=None, previous=(), alpha: float = 0.001,
                   adjust: str = "bonferroni") -> SecurityStudy:
    """Every security screen of one administration (module docstring); nothing is written here."""
    if form_id and (key_file or params_file):
        raise InputError("--form takes the key and the parameters from the bank: leave out --key and --params.")
    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1, not {alpha}.")
    params, form_label = _parameters(bank, form_id, params_file)
    matrix = _read(bank, responses, form_id, key_file, site, params.item_ids)
    if matrix.n_persons < 2:
        raise InputError(f"{responses}: security screens compare candidates, and the file has only "
                         f"{matrix.n_persons} candidate.")
    sites = None
    if site:
        column = next((c for c in matrix.groups.columns if str(c).lower() == site.lower()), None)
        if column is None:
            raise InputError(Problem(f"there is no site column '{site}'", file=str(responses), row=1))
        sites = matrix.groups[column].astype(str).to_numpy()
        if len(set(sites)) < 2:
            raise InputError(Problem(f"every candidate has the same {site} ({sites[0]}): grouping by it changes "
                                     "nothing; leave out --site", file=str(responses), column=site))
    cols, x, theta = _scored(matrix, params, responses)
    seconds = _seconds(matrix, params.item_ids, responses)
    ids = matrix.person_ids.astype(str)
    frames, findings = {}, []

    fit = person_fit(x, theta.theta, params.a, params.b, params.c, D=params.D, estimator=THETA_METHOD,
                     person_ids=ids, alpha=alpha)
    frames["person_fit.csv"] = fit.to_frame()
    findings.append(f"Person fit: {int(fit.flagged.sum())} of {len(ids)} candidates have an unexpected pattern "
                    f"of right and wrong answers (lz* p < {alpha:g}; about {alpha * len(ids):.1f} expected by "
                    "chance).")

    codes = matrix.option_codes[:, cols]
    key_codes = matrix.key_codes[cols]
    # option codes count from A, so an item's options are the codes below its highest label's (0/1 data: two)
    n_options = np.array([OPTION_LABELS.index(matrix.option_labels(i)[-1]) + 1 if matrix.has_labels else 2
                          for i in params.item_ids])
    p_correct = probability(theta.theta, params.a, params.b, params.c, params.D)
    sim = answer_similarity(codes, key_codes, n_options, p_correct, theta.theta, person_ids=ids,
                            item_ids=params.item_ids, sites=sites, alpha=alpha, adjust=adjust)
    frames["pairs.csv"] = sim.pairs
    frames["clusters.csv"] = sim.clusters
    n_clusters = sim.clusters["cluster"].nunique() if len(sim.clusters) else 0
    findings.append(f"Answer similarity: {sim.n_flagged} of {sim.n_pairs:,} pairs{' within a site' if sites is not None else ''}"
                    f" share more identical wrong answers than chance explains ({adjust}-adjusted p ≤ {alpha:g}), "
                    f"in {n_clusters} cluster{'s' if n_clusters != 1 else ''} of linked candidates.")

    if exposed_file:
        pk = differential_person_functioning(x, _exposed_items(exposed_file, list(params.item_ids)), params.a,
                                             params.b, params.c, D=params.D, person_ids=ids, alpha=alpha)
        frames["preknowledge.csv"] = pk.frame
        findings.append(f"Preknowledge: {pk.n_flagged} candidates did far better on the {pk.n_exposed} exposed "
                        f"items than on the rest (p < {alpha:g}).")
    timing = None
    if seconds is not None:
        timing = aberrant_timing(seconds, x, p_correct=p_correct, person_ids=ids, item_ids=params.item_ids,
                                 alpha=alpha)
        frames["timing.csv"] = timing.persons
        frames["fast_answers.csv"] = timing.responses
        frames["item_times.csv"] = timing.items
        findings.append(f"Timing: {timing.n_flagged} of {len(ids)} candidates gave more correct answers too fast "
                        f"for the item than chance explains ({len(timing.responses)} such answers in all; "
                        f"an answer is too fast below the item's {timing.response_alpha:.1%} point at the "
                        f"candidate's own speed; p < {alpha:g}).")
    if bank is not None and form_id:
        history = bank.statistics_table(list(params.item_ids))
        current = pd.DataFrame({"item_id": params.item_ids, "n": np.sum(~np.isnan(x), axis=0),
                                "p_value": np.nanmean(x, axis=0)})
        drift = item_drift(current, history, alpha=alpha)
        frames["item_drift.csv"] = drift
        findings.append(f"Item drift: {int(drift['flagged'].sum())} of {len(drift)} items with history are easier "
                        "now than in their latest earlier administration, beyond sampling error.")

    earlier = []
    for path, prev_form in previous:
        prev_params, prev_label = _parameters(bank, prev_form, None if prev_form else params_file)
        prev_matrix = _read(bank, path, prev_form, None if prev_form else key_file, None)
        _, _, prev_theta = _scored(prev_matrix, prev_params, path)
        earlier.append(pd.DataFrame({"candidate_id": prev_matrix.person_ids.astype(str), "form_id": prev_label,
                                     "theta": prev_theta.theta, "se": prev_theta.se}))
    now = pd.DataFrame({"candidate_id": ids, "form_id": form_label, "theta": theta.theta, "se": theta.se})
    retakes = retake_gains(now, pd.concat(earlier, ignore_index=True) if earlier else now.iloc[:0], alpha=alpha)
    frames["retakes.csv"] = retakes.frame
    if previous:
        findings.append(f"Retakers: {len(retakes.frame)} candidates sat before; {retakes.n_flagged} flagged (gain "
                        f"beyond error and the typical gain of {retakes.typical_gain:+.2f} θ, the same form twice, "
                        "or too many attempts).")
    n_review = len(set(fit.to_frame().query("flagged")["candidate_id"])
                   | set(sim.clusters["candidate_id"])
                   | (set(frames["preknowledge.csv"].query("flagged")["candidate_id"]) if exposed_file else set())
                   | set(retakes.frame.loc[retakes.frame["flagged"], "candidate_id"])
                   | (set(timing.persons.loc[timing.persons["flagged"], "candidate_id"]) if timing else set()))
    findings.insert(0, f"{n_review} of {len(ids)} candidates need review.")
    summary = {"responses": str(responses), "form": form_label, "n_candidates": len(ids),
               "n_items": params.n_items, "alpha": alpha, "adjust": adjust, "site": site,
               "theta_method": THETA_METHOD, "n_pairs": sim.n_pairs, "n_pairs_exact": sim.n_screened,
               "n_review": n_review, "timed_items": 0 if seconds is None else int((~np.isnan(seconds)).any(axis=0).sum()),
               "findings": list(findings)}
    return SecurityStudy(frames, tuple(findings), summary)


def run_security(bank, responses, outdir, *, report=None, force: bool = False, **options) -> str:
    """`certbank security`: check the workbook path, run ``security_study`` (every error before any file is
    written), write the tables into OUTDIR and the workbook; returns what to print."""
    if report:
        from reports.workbook import check_writable

        check_writable(report, force)
    study = security_study(bank, responses, **options)
    study.write(outdir)
    if report:
        study.write_report(report, force=force)
    return study.message(outdir, report)
