"""The IRT jobs behind the CLI: calibrate a response matrix (with fit and flags) and score one.

Each job is one library call returning a result that knows how to write itself, so ``cli.py`` only parses
options. Files are written atomically (temporary file, then ``os.replace``), all or nothing.

The file-level jobs (``calibrate_file``, ``score_file``) take ``bank``: an open ``itembank.store.Bank`` (or
anything with its ``form_key``, ``form_options``, ``get_form``, ``item_parameters``, ``transaction`` and
``save_item_parameters`` methods), used only when an option names something in the bank; else None.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from certbank_core.errors import InputError, Problem
from psychometrics.flags import Flag, flags_frame
from psychometrics.irt import fit as irt_fit
from psychometrics.irt import scoring
from psychometrics.irt.estimation import Calibration, calibrate
from psychometrics.irt.quadrature import make_quadrature

ENGINES = ("certbank", "girth")
PARAM_COLUMNS = ("item_id", "a", "b", "c")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("certbank")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


@dataclass(frozen=True)
class CalibrationReport:
    """A calibration with its item fit and IRT flags."""

    calibration: Calibration
    fit: irt_fit.ItemFit | None
    flags: tuple[Flag, ...] = field(default=())

    def params_frame(self) -> pd.DataFrame:
        """params.csv: item_id, a, b, c, se_a, se_b, se_c, n, fixed, D, then fit columns."""
        frame = self.calibration.to_frame()
        frame["D"] = self.calibration.D
        if self.fit is not None:
            extra = self.fit.to_frame().drop(columns=["item_id"])
            frame = pd.concat([frame, extra.set_index(frame.index)], axis=1)
        return frame

    def summary(self) -> dict:
        out = self.calibration.summary()
        out["version"] = _version()
        out["n_flags"] = len(self.flags)
        if self.fit is not None and self.fit.warnings:
            out["warnings"] = list(out.get("warnings", [])) + list(self.fit.warnings)
        return out

    @staticmethod
    def output_paths(params_path) -> list[Path]:
        """The files ``write`` makes: params.csv, then calibration.json and irt_flags.csv beside it."""
        params_path = Path(params_path)
        return [params_path, params_path.parent / "calibration.json", params_path.parent / "irt_flags.csv"]

    def write(self, params_path) -> list[Path]:
        """Write params.csv, calibration.json and irt_flags.csv beside it. Returns the paths written."""
        params, calibration, flags = self.output_paths(params_path)
        params.parent.mkdir(parents=True, exist_ok=True)
        targets = [
            (params, self.params_frame().to_csv(index=False)),
            (calibration, json.dumps(self.summary(), indent=2, default=_json_default) + "\n"),
            (flags, flags_frame(list(self.flags)).to_csv(index=False)),
        ]
        return write_atomically(targets)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_atomically(targets) -> list[Path]:
    """Write every (path, text) to a temporary file first; rename them all only when all succeeded."""
    temps = []
    try:
        for path, text in targets:
            fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            temps.append((tmp, path))
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.remove(tmp)
    return [Path(p) for p, _ in targets]


def calibrate_responses(scored, item_ids, model: str = "2pl", *, D: float = 1.0, engine: str = "certbank",
                        anchors: Mapping[str, tuple[float, float, float]] | None = None,
                        n_nodes: int = 61, quadrature_method: str = "equal", with_fit: bool = True
                        ) -> CalibrationReport:
    """Calibrate scored responses (n_persons, n_items) and add item fit and IRT flags."""
    engine = engine.lower()
    if engine not in ENGINES:
        raise InputError(Problem(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}"))
    quad = make_quadrature(n_nodes, quadrature_method)
    if engine == "girth":
        if anchors:
            raise InputError(Problem("the girth engine cannot hold anchor items fixed; use the certbank engine"))
        if D != 1.0:
            raise InputError(Problem("the girth engine reports parameters with D = 1 only"))
        from psychometrics.girth_adapter import calibrate_girth
        cal = calibrate_girth(scored, model, item_ids=item_ids, n_nodes=n_nodes)
    else:
        cal = calibrate(scored, model, item_ids=item_ids, D=D, quadrature=quad, anchors=anchors)
    item_fit = irt_fit.item_fit(scored, cal) if with_fit else None
    flags = tuple(irt_fit.irt_flags(cal, item_fit))
    return CalibrationReport(cal, item_fit, flags)


def read_params(path, D: float | None = None) -> pd.DataFrame:
    """Read a params.csv (item_id, a, b[, c][, D]); every problem is collected into one InputError."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"item_id": str})
    except FileNotFoundError:
        raise InputError(Problem("the parameter file does not exist", file=str(path))) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(Problem(f"cannot read the parameter file: {err}", file=str(path))) from None
    problems = []
    for col in ("item_id", "a", "b"):
        if col not in frame.columns:
            problems.append(Problem(f"there is no '{col}' column", file=str(path), row=1))
    if problems:
        raise InputError(problems)
    if "c" not in frame.columns:
        frame["c"] = 0.0
    for col in ("a", "b", "c", "D"):
        if col not in frame.columns:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        for r in np.flatnonzero(~np.isfinite(values.to_numpy(float))):
            problems.append(Problem(f"'{frame[col].iloc[r]}' is not a number", str(path), int(r) + 2, col))
        frame[col] = values
    dup = frame["item_id"].duplicated()
    for r in np.flatnonzero(dup.to_numpy()):
        problems.append(Problem(f"item {frame['item_id'].iloc[r]} appears twice", str(path), int(r) + 2, "item_id"))
    if "c" in frame.columns:
        bad = (frame["c"] < 0) | (frame["c"] >= 1)
        for r in np.flatnonzero(bad.fillna(False).to_numpy()):
            problems.append(Problem("c must be in [0, 1)", str(path), int(r) + 2, "c"))
    if problems:
        raise InputError(problems)
    if D is not None:
        frame["D"] = float(D)
    elif "D" not in frame.columns:
        frame["D"] = 1.0
    if frame["D"].nunique() > 1:
        raise InputError(Problem("the parameter file mixes scaling constants D", file=str(path)))
    return frame


def read_latent(params_path) -> tuple[float, float]:
    """Latent mean and SD of the calibration that made ``params_path`` (its calibration.json beside it), else
    (0, 1). A Rasch calibration estimates the SD; EAP and MAP must use it as their prior."""
    path = Path(params_path).parent / "calibration.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        mean, sd = float(info.get("latent_mean", 0.0)), float(info.get("latent_sd", 1.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0, 1.0
    return (mean, sd) if np.isfinite(mean) and np.isfinite(sd) and sd > 0 else (0.0, 1.0)


def score_responses(scored, item_ids, params: pd.DataFrame, method: str = "eap", person_ids=None,
                    prior: tuple[float, float] = (0.0, 1.0)) -> scoring.ThetaScores:
    """Score responses with parameters from ``read_params``; items are matched by id. ``prior`` (mean, SD)
    is the latent distribution used by EAP and MAP."""
    by_id = params.set_index("item_id")
    missing = [i for i in item_ids if i not in by_id.index]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise InputError(Problem(f"{len(missing)} item(s) in the responses have no parameters: {shown}"))
    rows = by_id.loc[list(item_ids)]
    options = {"prior_mean": prior[0], "prior_sd": prior[1]} if method.lower() in ("eap", "map") else {}
    return scoring.score(scored, rows["a"].to_numpy(float), rows["b"].to_numpy(float), rows["c"].to_numpy(float),
                         method=method, D=float(rows["D"].iloc[0]), person_ids=person_ids, **options)


def anchors_from_bank(bank_params: pd.DataFrame, item_ids, D: float) -> dict[str, tuple[float, float, float]]:
    """Anchors {item_id: (a, b, c)} on scaling constant ``D`` from ``Bank.item_parameters`` rows."""
    anchors = {}
    wanted = set(item_ids)
    for row in bank_params.itertuples(index=False):
        if row.item_id in wanted and np.isfinite(row.a) and np.isfinite(row.b):
            c = float(row.c) if np.isfinite(row.c) else 0.0
            d_bank = float(row.D) if np.isfinite(row.D) else 1.0
            anchors[row.item_id] = (float(row.a) * d_bank / D, float(row.b), c)
    return anchors


# ---- file-level jobs (one per CLI command) ---------------------------------------------------------------------
def scored_matrix(bank, responses, form_id: str | None = None, key_file=None):
    """RESPONSES scored by a bank form's key (``form_id``), a key file, or read as 0/1 data; also the form's
    item versions {item_id: version} (None without a form)."""
    from psychometrics.responses import read_key_file, read_responses

    if form_id and key_file:
        raise InputError("Give either --form or --key, not both.")
    key = options = versions = None
    if form_id:
        if bank is None:
            raise InputError(f"form {form_id} needs the item bank, and none was given.")
        key, options = bank.form_key(form_id), bank.form_options(form_id)
        versions = {fi.item_id: fi.version for fi in bank.get_form(form_id).items}
    elif key_file:
        key = read_key_file(key_file)
    return read_responses(responses, key=key, options=options, form_id=form_id), versions


@dataclass(frozen=True)
class CalibrationRun:
    """A calibration of one response file: ``report`` and, for a bank form, the item versions to save against."""

    report: CalibrationReport
    versions: Mapping[str, int] | None = None
    default_label: str = ""

    @property
    def warnings(self) -> tuple[str, ...]:
        fit_warnings = self.report.fit.warnings if self.report.fit is not None else ()
        return tuple(self.report.calibration.warnings) + tuple(fit_warnings)

    def write(self, params_path, bank=None, label: str | None = None) -> list[Path]:
        """Write params.csv, calibration.json, irt_flags.csv; with ``bank`` also store the estimated (not
        anchored) parameters under ``label``, in one bank transaction around the file writes."""
        if bank is None:
            return self.report.write(params_path)
        cal = self.report.calibration
        frame = cal.to_frame()
        frame = frame[~frame["fixed"]].drop(columns=["fixed", "n"])
        if self.versions:
            frame["version"] = frame["item_id"].map(self.versions)
        with bank.transaction():
            bank.save_item_parameters(frame, cal.model, cal.D, label or self.default_label)
            return self.report.write(params_path)

    def message(self, params_path) -> str:
        cal = self.report.calibration
        status = "converged" if cal.converged else ("convergence not reported" if cal.converged is None
                                                      else "DID NOT CONVERGE")
        anchored = f", {int(cal.fixed.sum())} anchors held fixed" if cal.fixed.any() else ""
        written = CalibrationReport.output_paths(params_path)
        return (f"{cal.model} ({cal.engine}, D = {cal.D:g}): {cal.n_persons} candidates, {len(cal.item_ids)} items"
                f"{anchored}; log-likelihood {cal.log_likelihood:.2f}, "
                f"{f'{cal.iterations} EM cycles, ' if cal.converged is not None else ''}{status}, "
                f"{cal.seconds:.2f} s; {len({f.item_id for f in self.report.flags})} items flagged. "
                f"Wrote {', '.join(str(p) for p in written)}.")


def calibrate_file(bank, responses, *, form_id: str | None = None, key_file=None, model: str = "2pl",
                   D: float = 1.0, engine: str = "certbank", n_nodes: int = 61, quadrature_method: str = "equal",
                   anchor_from_bank: bool = False) -> CalibrationRun:
    """Calibrate a response file (scored by a bank form's key, a key file, or 0/1 data) with fit and flags.
    ``anchor_from_bank`` holds the items that have bank parameters fixed (the rest land on the bank scale)."""
    matrix, versions = scored_matrix(bank, responses, form_id, key_file)
    anchors = None
    if anchor_from_bank:
        if bank is None:
            raise InputError("--anchor-from-bank needs the item bank, and none was given.")
        anchors = anchors_from_bank(bank.item_parameters(matrix.item_ids), matrix.item_ids, D)
        if not anchors:
            raise InputError("--anchor-from-bank: none of the items in the file has parameters in the bank.")
    report = calibrate_responses(matrix.scored, matrix.item_ids, model.lower(), D=D, engine=engine.lower(),
                                 anchors=anchors, n_nodes=n_nodes, quadrature_method=quadrature_method)
    return CalibrationRun(report, versions, f"{report.calibration.model} {Path(responses).name}")


@dataclass(frozen=True)
class ThetaRun:
    """θ estimates of one response file by ``method``."""

    scores: scoring.ThetaScores
    method: str

    def write(self, out) -> list[Path]:
        return write_atomically([(out, self.scores.to_frame().to_csv(index=False))])

    def message(self, out) -> str:
        bounded = int(self.scores.bounded.sum())
        return (f"Scored {self.scores.theta.size} candidates by {self.method.upper()}: mean θ "
                f"{np.nanmean(self.scores.theta):.3f}{f', {bounded} held at the ±4 bound' if bounded else ''}. "
                f"Wrote {out}.")


def score_file(bank, responses, *, params_file=None, key_file=None, method: str = "eap",
               form_id: str | None = None, standard: str | None = None):
    """Score a response file. With ``standard`` or ``form_id``: each candidate's raw, θ, scaled score,
    pass/fail and areas against the standard (``standard_jobs.score_against_standard``); else θ by
    ``method`` with the parameters in ``params_file`` (EAP/MAP prior: the latent mean and SD in the
    calibration.json beside it, else N(0, 1)). Returns a result with ``write(out)`` and ``message(out)``."""
    if standard or form_id:
        from psychometrics.standard_jobs import score_against_standard

        return score_against_standard(bank, responses, standard=standard, form_id=form_id,
                                      params_file=params_file, key_file=key_file)
    if params_file is None:
        raise InputError("Give --params FILE (or --form ID --standard NAME).")
    matrix, _ = scored_matrix(None, responses, None, key_file)
    params = read_params(params_file)
    result = score_responses(matrix.scored, matrix.item_ids, params, method.lower(), person_ids=matrix.person_ids,
                             prior=read_latent(params_file))
    return ThetaRun(result, method)
