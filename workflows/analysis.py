"""`certbank analyze`: one administration's response file, scored with the bank form's key (or a key file),
analysed classically with flags, optionally calibrated and screened for DIF, written atomically and saved to
the bank. ``analyze_administration`` is the beyond-classical part (IRT with item fit; DIF between language
groups when both took the form), one call shared by `analyze --report`, the demo and Python users.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

import numpy as np

from certbank_core.errors import CertbankError, InputError
from psychometrics.ctt import OUTPUT_FILES, ClassicalReport, analyze_responses
from psychometrics.flags import (DEFAULT_THRESHOLDS, Thresholds, action_list, counts_sentence, flags_frame,
                                 merge_flags)
from psychometrics.responses import ResponseMatrix
from workflows.administrations import attach
from workflows.responses import read_item_areas, read_key_file, read_responses

#: DIF needs both groups; below these sizes Mantel–Haenszel is too unstable to report (Zwick 2012 suggests
#: at least 100–200 in the smaller group).
MIN_DIF_GROUP = 100


@dataclass(frozen=True)
class AdministrationAnalysis:
    """IRT calibration and fit (None when not requested or not estimable) and DIF (None without two
    groups), with plain-language notes on what was skipped and why."""

    calibration: object | None
    fit: object | None
    dif: object | None
    notes: tuple[str, ...] = ()


def analyze_administration(matrix: ResponseMatrix, *, irt_model: str | None = None,
                           dif_column: str = "language", focal: str = "es", reference: str = "en",
                           purify: bool = False, adjust: str | None = None,
                           pretest=()) -> AdministrationAnalysis:
    """Calibrate ``irt_model`` (rasch, 1pl, 2pl, 3pl; None to skip) with item fit, and run DIF of ``focal``
    against ``reference`` on ``dif_column`` when the file has that column and both groups are large enough.
    ``pretest``: item ids that do not count in the score; DIF leaves them out of the matching score."""
    from psychometrics import dif as dif_analysis

    notes: list[str] = []
    calibration = fit = dif = None
    if irt_model:
        from psychometrics.irt.estimation import calibrate
        from psychometrics.irt.fit import item_fit

        try:
            calibration = calibrate(matrix.scored, model=irt_model, item_ids=matrix.item_ids)
            fit = item_fit(matrix.scored, calibration)
            notes.extend(fit.warnings)
        except CertbankError as err:
            notes.append(f"IRT calibration ({irt_model}) was not possible: {err}")
    columns = {str(c).lower(): c for c in matrix.groups.columns}
    if dif_column.lower() in columns:
        labels = matrix.groups[columns[dif_column.lower()]].astype(str).str.strip().to_numpy()
        n_focal, n_ref = int(np.sum(labels == focal)), int(np.sum(labels == reference))
        if min(n_focal, n_ref) >= MIN_DIF_GROUP:
            dif = dif_analysis.analyze_responses(matrix, group=columns[dif_column.lower()], focal=focal,
                                                 reference=reference, purify=purify, adjust=adjust,
                                                 pretest=pretest)
        else:
            notes.append(f"DIF was not run: {n_ref} {reference} and {n_focal} {focal} candidates "
                         f"(each group needs at least {MIN_DIF_GROUP}).")
    else:
        notes.append(f"DIF was not run: the file has no '{dif_column}' column.")
    return AdministrationAnalysis(calibration, fit, dif, tuple(notes))


#: Files of `certbank analyze`: the classical tables and the action list.
ANALYSIS_FILES = OUTPUT_FILES + ("actions.csv",)


def action_outputs(report: ClassicalReport, extra_flags=()) -> tuple:
    """(every flag, the action list) of a classical report and any IRT / DIF flags beside it: the one source
    of the flagged-item counts of the terminal, the CSVs and the workbook."""
    all_flags = merge_flags(list(report.flags), list(extra_flags))
    return all_flags, action_list(all_flags, report.thresholds)


def write_classical_outputs(report: ClassicalReport, outdir, extra_flags=()) -> list[str]:
    """Write items.csv, options.csv, quantiles.csv, test.json, flags.csv and actions.csv atomically: everything
    goes to a temporary directory beside ``outdir`` first and is moved in only when all files are written.
    ``extra_flags`` (IRT, DIF) join the classical flags in flags.csv and actions.csv, and the 'all' rows of
    items.csv carry each item's action-list severity and action, so every file counts the same items."""
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result should look like any directory
    try:
        all_flags, actions = action_outputs(report, extra_flags)
        items = report.items_frame()
        overall = items["group"] == report.analysis.combined.label if "group" in items.columns else True
        decided = actions.set_index("item_id")
        for col, src, empty in (("worst_severity", "severity", ""), ("suggested_action", "action", "keep"),
                                ("flags", "codes", "")):
            if col in items.columns:
                items.loc[overall, col] = items.loc[overall, "item_id"].map(decided[src]).fillna(empty)
        items.to_csv(tmp / "items.csv", index=False)
        actions.to_csv(tmp / "actions.csv", index=False)
        report.analysis.options_frame().to_csv(tmp / "options.csv", index=False)
        report.analysis.quantiles_frame().to_csv(tmp / "quantiles.csv", index=False)
        (tmp / "test.json").write_text(json.dumps(report.test_dict(), indent=2), encoding="utf-8")
        flags_frame(all_flags).to_csv(tmp / "flags.csv", index=False)
        if not outdir.exists():
            os.replace(tmp, outdir)
        else:
            for name in ANALYSIS_FILES:
                os.replace(tmp / name, outdir / name)
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [str(outdir / name) for name in ANALYSIS_FILES]


@dataclass(frozen=True)
class FormContext:
    """What a bank form gives an analysis: key, options, item versions, pretest items, content areas."""

    key: Mapping[str, str] | None = None
    options: Mapping[str, tuple[str, ...]] | None = None
    versions: Mapping[str, int] | None = None
    pretest: tuple[str, ...] = ()
    areas: Mapping[str, str] | None = None


def form_context(bank, form_id: str) -> FormContext:
    """The key, options, versions, pretest items and (when every item has one) areas of a bank form."""
    key, options = bank.form_key(form_id), bank.form_options(form_id)
    form = bank.get_form(form_id)
    pool = bank.item_pool()
    areas = {i: a for i, a in zip(pool["item_id"], pool["area"]) if i in key and isinstance(a, str) and a}
    return FormContext(key, options, {fi.item_id: fi.version for fi in form.items},
                       tuple(fi.item_id for fi in form.items if fi.is_pretest),
                       areas if len(areas) == len(key) else None)


@dataclass(frozen=True)
class AnalysisRun:
    """A classical analysis of one response file (``report``), the matrix it read, and the form's context."""

    report: ClassicalReport
    matrix: ResponseMatrix = field(repr=False)
    context: FormContext
    form_id: str | None = None

    def message(self, outdir, written, report_path=None, extra_flags=()) -> str:
        """One paragraph for the terminal; the flagged-item counts are the action list's (``extra_flags``:
        the IRT and DIF flags the workbook adds), the same as actions.csv and the workbook's."""
        test = self.report.analysis.combined.test
        actions = action_outputs(self.report, extra_flags)[1]
        first = actions[actions["severity"] == "critical"]["item_id"].tolist()
        act = f" Act before scoring on {', '.join(first)} (see actions.csv)." if first else ""
        return (f"{test.n_persons} candidates, {test.n_items} items: mean {test.mean:.2f}, SD {test.sd:.2f}, "
                f"alpha {test.alpha:.3f}; {counts_sentence(actions)}.{act} Wrote {len(written)} files to {outdir}"
                + (f" and the workbook {report_path}." if report_path else "."))


def analyze_file(bank, responses, *, form_id: str | None = None, key_file=None, areas_file=None,
                 group_column: str | None = None, numeric_options: bool = False, not_reached_rule: bool = True,
                 thresholds=None, **options) -> AnalysisRun:
    """Read, score and analyse a response file; ``bank`` is needed only with ``form_id``. ``options`` go to
    :func:`psychometrics.ctt.analyze_responses` (quantiles, corrected, omits_in_n, not_reached_in_n)."""
    if form_id and key_file:
        raise InputError("Give either --form or --key, not both.")
    context = FormContext()
    if form_id:
        if bank is None:
            raise InputError(f"form {form_id} needs the item bank, and none was given.")
        context = form_context(bank, form_id)
    elif key_file:
        context = FormContext(key=read_key_file(key_file))
    if areas_file:
        context = FormContext(context.key, context.options, context.versions, context.pretest,
                              read_item_areas(areas_file))
    matrix = read_responses(responses, key=context.key, options=context.options, numeric_options=numeric_options,
                            not_reached_rule=not_reached_rule, form_id=form_id,
                            group_columns=(group_column,) if group_column else ())
    report = analyze_responses(matrix, group_column=group_column, areas=context.areas, thresholds=thresholds,
                               item_versions=context.versions, pretest=context.pretest, **options)
    return AnalysisRun(report, matrix, context, form_id)


def save_and_write(run: AnalysisRun, outdir, bank=None, label: str | None = None, *, responses=None,
                   administration_id: str | None = None, extra_flags=()) -> list[str]:
    """Write the analysis files; with ``bank`` also save each group's statistics under ``label``, dated by
    the administration of ``responses`` (``--administration``, created on first use, or the one the file is
    attached to), the files written inside the bank transaction so that either both happen or neither."""
    if bank is None:
        return write_classical_outputs(run.report, outdir, extra_flags)
    with bank.transaction():
        if responses is not None and run.form_id:
            administration_id = attach(bank, responses, run.form_id, run.matrix, administration_id).administration_id
        for group, frame in run.report.bank_statistics():
            bank.save_item_statistics(frame, label, group=group, administration_id=administration_id)
        return write_classical_outputs(run.report, outdir, extra_flags)


@contextmanager
def staged_file(path):
    """A temporary path beside ``path`` (None for None) to write into; moved onto ``path`` when the block ends
    without an error, removed otherwise. ``analyze --report`` renders its workbook here first, so a workbook
    that fails leaves neither the workbook nor the --out files, and a failure after it leaves no workbook."""
    if path is None:
        yield None
        return
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist.")
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        staged = folder / path.name
        yield staged
        if staged.exists():
            os.replace(staged, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parse_thresholds(pairs) -> Thresholds:
    """--threshold NAME=VALUE pairs -> a flags.Thresholds (unknown names or bad numbers: InputError)."""
    known = {f.name: f.type for f in fields(DEFAULT_THRESHOLDS)}
    changes, problems = {}, []
    for pair in pairs:
        name, _, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if name not in known:
            problems.append(f"--threshold {pair}: unknown threshold '{name}' (known: {', '.join(known)})")
            continue
        try:
            changes[name] = int(value) if name == "min_n" else float(value)
        except ValueError:
            problems.append(f"--threshold {pair}: '{value}' is not a number")
    if problems:
        raise InputError(problems)
    return replace(DEFAULT_THRESHOLDS, **changes)
