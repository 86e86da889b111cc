"""Gather finished results (CTT, IRT, DIF, standard, assembly) into the bundles the workbooks render.

Nothing here estimates anything: it selects, joins and renames the frames that the result objects already
expose (``to_frame()``), and evaluates the item response function where a chart needs a curve.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from certbank_core.errors import InputError
from certbank_core.files import atomic_write, check_output_path
from psychometrics import flags as flagging
from psychometrics.irt import models
from reports.form_report import FormReport, build_form_workbook
from reports.item_analysis import ItemAnalysisReport, build_item_analysis_workbook
from reports.standard_report import StandardReport, build_standard_workbook
from reports.workbook import LANGUAGE_NAMES, check_writable
from workflows.analysis import analyze_administration
from workflows.assembly import form_export, form_verification

#: θ grid of the information / CSEM and TIF / TCC charts.
CHART_THETA = np.round(np.linspace(-4.0, 4.0, 33), 2)


def _group_value(label: str) -> str:
    """'language=es' → 'es'; 'all' stays."""
    return label.split("=", 1)[1] if "=" in label else label


#: Words of an English stem shown in the action list.
STEM_WORDS = 12


def action_table(all_flags: Sequence[flagging.Flag], thresholds=flagging.DEFAULT_THRESHOLDS, *,
                 areas: Mapping[str, str] | None = None, texts: pd.DataFrame | None = None) -> pd.DataFrame:
    """``flags.action_list`` with each item's content area and the first words of its English stem
    (columns rank, item_id, area, stem, severity, action, problem, why, evidence, groups, codes, n_problems)."""
    actions = flagging.action_list(all_flags, thresholds)
    area = actions["item_id"].map(dict(areas)) if areas else pd.Series([""] * len(actions), dtype=object)
    stems = {}
    if texts is not None and "stem_en" in texts.columns:
        for item, stem in zip(texts["item_id"], texts["stem_en"]):
            words = str(stem).split() if isinstance(stem, str) else []
            stems[item] = " ".join(words[:STEM_WORDS]) + (" …" if len(words) > STEM_WORDS else "")
    actions.insert(2, "area", area.fillna("").to_numpy())
    actions.insert(3, "stem", actions["item_id"].map(stems).fillna("").to_numpy())
    return actions


def problems_table(all_flags: Sequence[flagging.Flag], thresholds, actions: pd.DataFrame) -> pd.DataFrame:
    """The Flags sheet: one row per item × problem with the groups it holds in, in action-list order (the
    item's rank, then its worst problem first)."""
    cols = ["item_id", "severity", "code", "detail", "groups", "value", "reason", "suggested_action"]
    probs = pd.DataFrame(flagging.problems(all_flags, thresholds))
    if probs.empty:
        return pd.DataFrame(columns=cols)
    rank = dict(zip(actions["item_id"], actions["rank"]))
    probs = probs.assign(_rank=probs["item_id"].map(rank),
                         _sev=[-flagging.SEVERITIES.index(s) for s in probs["severity"]], _ex=-probs["excess"])
    return probs.sort_values(["_rank", "_sev", "_ex", "code"], kind="stable")[cols].reset_index(drop=True)


def items_with_flags(items: pd.DataFrame, all_flags: Sequence[flagging.Flag],
                     groups: Mapping[str, pd.DataFrame] | None = None,
                     actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The combined item table with every source's flags summarised per item (worst severity, codes, action)
    and each group's P beside the overall P. With ``actions`` (``action_table``) the severity and action are
    the action list's, so the Items sheet and the action list cannot disagree."""
    base = items.drop(columns=[c for c in ("flags", "worst_severity", "suggested_action", "n_flags", "group")
                               if c in items.columns])
    summary = flagging.item_summary(all_flags, list(base["item_id"]))
    if actions is not None:
        decided = actions.set_index("item_id")
        summary["suggested_action"] = summary["item_id"].map(decided["action"]).fillna("keep")
        summary["worst_severity"] = summary["item_id"].map(decided["severity"]).fillna("")
    out = base.merge(summary, on="item_id", how="left")
    out = out.rename(columns={"worst_severity": "severity"})
    for name, frame in (groups or {}).items():
        col = f"p_value_{name}"
        out.insert(out.columns.get_loc("p_value") + 1, col,
                   out["item_id"].map(frame.set_index("item_id")["p_value"]))
    return out


def item_analysis_bundle(classical, *, title: str, calibration=None, fit=None, dif=None,
                         texts: pd.DataFrame | None = None, conversion: pd.DataFrame | None = None,
                         cut: int | None = None, linking=None, extra_flags: Sequence[flagging.Flag] = (),
                         areas: Mapping[str, str] | None = None, input_files: Sequence[str] = (),
                         settings: Mapping[str, object] | None = None,
                         sentences: Sequence[str] = (), history: pd.DataFrame | None = None) -> ItemAnalysisReport:
    """Bundle a ``ctt.ClassicalReport`` with optional IRT calibration/fit, DIF result and conversion table.
    ``history``: the bank's statistics by administration (``Bank.statistics_table``), shown beside each flag
    as the item's P in every administration, oldest first."""
    analysis = classical.analysis
    combined = analysis.combined
    items_all = classical.items_frame()
    if "group" in items_all.columns:
        items_all = items_all[items_all["group"] == combined.label]
    groups = {_group_value(g.label): g.items.to_frame() for g in analysis.groups} if analysis.groups else {}
    all_flags = list(classical.flags)
    if calibration is not None:
        from psychometrics.irt.fit import irt_flags

        all_flags += irt_flags(calibration, fit)
    if dif is not None:
        all_flags += list(dif.flags())
    all_flags = flagging.merge_flags(all_flags, extra_flags)
    actions = action_table(all_flags, classical.thresholds, areas=areas, texts=texts)
    items = items_with_flags(items_all, all_flags, groups, actions)
    if areas:
        items.insert(1, "area", items["item_id"].map(areas))

    test = combined.test
    summary: dict[str, object] = {
        "n": test.n_persons, "n_items": test.n_items, "mean": test.mean, "sd": test.sd, "min": test.minimum,
        "max": test.maximum, "median": test.median, "alpha": test.alpha, "alpha_ci_low": test.alpha_ci[0],
        "alpha_ci_high": test.alpha_ci[1], "sem": test.sem, "mean_p": test.mean_p,
        "mean_point_biserial": test.mean_point_biserial,
    }
    for s in test.split_halves:
        summary[f"split-half ({s.method}), Spearman–Brown"] = s.spearman_brown
    if cut is not None:
        summary["cut"] = int(cut)
        freq = test.frequency
        summary["pass_rate"] = float(freq[int(cut):].sum() / max(freq.sum(), 1))
    if calibration is not None:
        summary["irt_model"] = f"{calibration.model} (D = {calibration.D:g})"
        summary["irt_converged"] = bool(calibration.converged)
        summary["irt_log_likelihood"] = calibration.log_likelihood
    if linking is not None:
        summary["linking_A"], summary["linking_B"] = float(linking.A), float(linking.B)

    n_by_group = {}
    for g in analysis.groups or ():
        n_by_group[_group_value(g.label)] = int(g.test.n_persons)

    irt = pd.DataFrame()
    information = pd.DataFrame()
    if calibration is not None:
        irt = calibration.to_frame()
        if fit is not None:
            fit_frame = fit.to_frame().rename(columns={"p_value": "sx2_p", "p_adjusted": "sx2_p_adjusted"})
            irt = irt.merge(fit_frame, on="item_id", how="left", suffixes=("", "_fit"))
        a, b, c = calibration.a, calibration.b, calibration.c
        if linking is not None:  # show the curves on the bank scale
            a, b = a / linking.A, linking.A * b + linking.B
        info = models.test_information(CHART_THETA, a, b, c, calibration.D)
        information = pd.DataFrame({"theta": CHART_THETA, "information": info, "csem": 1 / np.sqrt(info)})

    dif_frame = pd.DataFrame()
    if dif is not None:
        dif_frame = dif.to_frame(texts) if texts is not None else dif.to_frame()
        if "ets_level" in dif_frame.columns:
            dif_frame = dif_frame.assign(ets_class=dif_frame["ets_level"].fillna(dif_frame["ets_class"]))

    dist = test.frequency_frame()[["raw_score", "n"]].rename(columns={"n": "frequency"})
    domains = combined.subscores.to_frame() if combined.subscores is not None else pd.DataFrame()
    return ItemAnalysisReport(
        title=title, summary=summary, items=items, options=analysis.options_frame(),
        quantiles=_quantiles_long(analysis.quantiles_frame()),
        flags=with_p_history(problems_table(all_flags, classical.thresholds, actions), history),
        actions=actions, flag_rows=flagging.flags_frame(all_flags),
        domains=domains, dif=dif_frame, irt=irt, scores=conversion if conversion is not None else pd.DataFrame(),
        score_distribution=dist, information=information, n_by_group=n_by_group, sentences=tuple(sentences),
        settings=dict(settings or {}), input_files=tuple(str(f) for f in input_files))


def with_p_history(flags: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """``flags`` with a ``p_history`` column: each item's overall P in every administration the bank holds,
    oldest first ("DEMO-Y1 0.62 · DEMO-Y2 0.58"), so a board sees whether a flagged item changed or was
    always so. Unchanged when there is no history."""
    if history is None or history.empty or flags.empty:
        return flags
    rows = history[(history["group"] == "all") & history["p_value"].notna()]
    trend = {item: " · ".join(f"{r.administration_id or r.analysis_label} {r.p_value:.2f}"
                              for r in grp.itertuples(index=False))
             for item, grp in rows.groupby("item_id", sort=False)}
    return flags.assign(p_history=flags["item_id"].map(trend).fillna(""))


def _quantiles_long(frame: pd.DataFrame) -> pd.DataFrame:
    """Quantile tables in the long layout the charts use: item_id, group (1 = lowest scores), option,
    proportion — whatever the analysis's own layout."""
    if frame.empty:
        return frame
    if "group" in frame.columns and "score_group" in frame.columns:  # 'group' is the candidate group here
        frame = frame[frame["group"] == "all"].drop(columns="group")
    if "score_group" in frame.columns:
        frame = frame.rename(columns={"score_group": "group"})
    return frame


def form_bundle(form, pool: pd.DataFrame, texts: pd.DataFrame, *, verification: pd.DataFrame | None = None,
                params: pd.DataFrame | None = None, targets: pd.DataFrame | None = None,
                title: str | None = None, languages: Sequence[str] = ("en", "es")) -> FormReport:
    """A form's map, conformance, curves, key distribution and booklets.

    form: an ``itembank.model.Form``; pool: ``bank.item_pool()``; texts: ``bank.item_texts()``; params: item
    parameters (item_id, a, b, c, D) for the curves; targets: theta, tif_target, tcc_target (optional).
    """
    rows = pd.DataFrame([{"position": fi.position, "item_id": fi.item_id, "version": fi.version,
                          "pretest": bool(fi.is_pretest)} for fi in form.items])
    cols = [c for c in ("item_id", "area", "primary_competency", "cognitive_level", "key", "p_value",
                        "point_biserial") if c in pool.columns]
    fm = rows.merge(pool[cols], on="item_id", how="left")
    if params is not None and not params.empty:
        fm = fm.merge(params[["item_id", "a", "b", "c"]], on="item_id", how="left")
    curves = pd.DataFrame()
    if params is not None and not params.empty:
        p = params.set_index("item_id").reindex(fm["item_id"])
        ok = p["b"].notna().to_numpy()
        if ok.any():
            D = float(p["D"].dropna().iloc[0]) if "D" in p and p["D"].notna().any() else 1.0
            a, b, c = (p[k].to_numpy(dtype=float)[ok] for k in ("a", "b", "c"))
            c = np.nan_to_num(c)
            curves = pd.DataFrame({"theta": CHART_THETA,
                                   "tif": models.test_information(CHART_THETA, a, b, c, D),
                                   "tcc": models.test_characteristic_curve(CHART_THETA, a, b, c, D)})
            if targets is None and verification is not None and not verification.empty:
                targets = target_bands(verification)
            if targets is not None and not targets.empty:
                curves = curves.merge(targets, on="theta", how="left")
    keys = fm["key"].value_counts().sort_index()
    key_distribution = pd.DataFrame({"key": keys.index, "count": keys.to_numpy()})
    booklets = {}
    t = texts.set_index("item_id")
    for lang in languages:
        if f"stem_{lang}" not in t.columns:
            continue
        b = pd.DataFrame({"position": fm["position"], "item_id": fm["item_id"],
                          "stem": fm["item_id"].map(t[f"stem_{lang}"])})
        for label in "abcdef":
            col = f"option_{label}_{lang}"
            if col in t.columns:
                b[f"option_{label}"] = fm["item_id"].map(t[col])
        booklets[lang] = b
    conformance = pd.DataFrame()
    if verification is not None and not verification.empty:
        conformance = conformance_frame(verification)
    status = getattr(form.status, "value", form.status)  # the enum's word (published), not FormStatus.PUBLISHED
    sentences = [f"Form {form.form_id} ({form.name}) has {len(fm)} items; status {status}."]
    return FormReport(form_id=form.form_id, title=title or f"Form {form.form_id}", form_map=fm,
                      conformance=conformance, curves=curves, booklets=booklets,
                      key_distribution=key_distribution, sentences=sentences)


def target_bands(verification: pd.DataFrame) -> pd.DataFrame:
    """The blueprint's TIF / TCC target bands at their θ points, from a verification frame (rules named
    ``information@θ`` and ``characteristic@θ`` with lower and upper bounds): theta, tif_target_low, ..."""
    rows = {}
    for rule, lower, upper in zip(verification["rule"], verification["lower"], verification["upper"]):
        kind, _, at = str(rule).partition("@")
        if kind not in ("information", "characteristic") or not at:
            continue
        prefix = "tif" if kind == "information" else "tcc"
        row = rows.setdefault(round(float(at), 2), {"theta": round(float(at), 2)})
        row[f"{prefix}_target_low"], row[f"{prefix}_target_high"] = lower, upper
    return pd.DataFrame(list(rows.values()))


def _bound(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _required(lower, upper) -> str:
    lo, hi = _bound(lower), _bound(upper)
    if lo and hi:
        return lo if lo == hi else f"{lo}–{hi}"
    return f"at least {lo}" if lo else (f"at most {hi}" if hi else "")


def conformance_frame(verification: pd.DataFrame) -> pd.DataFrame:
    """``Verification.to_frame()`` in the words of the Conformance sheet: rule, form, required, actual, ok."""
    v = verification
    required = [_required(lo, hi) for lo, hi in zip(v["lower"], v["upper"])]
    out = pd.DataFrame({"rule": v["rule"], "kind": v["kind"], "form": v["form"], "required": required,
                        "actual": v["achieved"], "ok": v["passed"].astype(bool),
                        "binding": np.where(v["hard"], "required", "target (soft)"), "message": v["message"]})
    return out


def impact_frames(impact: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``setting.impact`` (pass rates in percent) for the workbook: the table with pass rates as proportions
    (so a percentage format shows 63.4%, not 6340%) and groups in words, and the chart's curve: one row per raw
    cut, one pass-rate column per group."""
    if impact is None or impact.empty:
        return pd.DataFrame(), pd.DataFrame()
    names = {"all": "All candidates", **LANGUAGE_NAMES}
    table = impact.assign(pass_rate=impact["pass_rate"] / 100.0,
                          group=impact["group"].map(lambda g: names.get(str(g), str(g))))
    order = list(dict.fromkeys(table["group"]))
    curve = (table.pivot_table(index="raw_cut", columns="group", values="pass_rate", aggfunc="first")
             .reindex(columns=order).reset_index())
    curve.columns = [str(c) for c in curve.columns]
    return table, curve


def standard_bundle(angoff, carried=None, *, title: str, sentences: Sequence[str] = (),
                    input_files: Sequence[str] = (), settings: Mapping[str, object] | None = None) -> StandardReport:
    """The standard-setting workbook's bundle: an Angoff result and, optionally, the standard carried to every
    form (``standard_study.StandardAcrossForms``: raw cuts, conversion tables, impact, decision quality)."""
    s = angoff.summary()
    cut = {"Recommended raw cut (mean of raters' cuts)": s["cut_raw"],
           "Recommended cut as percent correct": s["cut_percent"],
           "SD of raters' cuts": s["sd"], "Standard error of the cut (SD / √raters)": s["se"],
           "Number of raters": s["n_raters"], "Number of items rated": s["n_items"]}
    if s.get("theta_cut") is not None:
        cut["θ cut on the bank scale"] = s["theta_cut"]
    if s.get("outlier_raters"):
        cut["Raters flagged as outliers"] = ", ".join(s["outlier_raters"])
    conv = {}
    form_cuts = impact = dq = pd.DataFrame()
    if carried is not None:
        cut["Rounding rule for each form's raw cut"] = ("smallest raw score whose true score reaches the θ cut"
                                                        if carried.rule == "at_least" else carried.rule)
        for form_id, table in carried.conversions.items():
            t = table.rename(columns={"raw": "raw_score"})
            conv[form_id] = t.assign(decision=np.where(t["passed"], "pass", "fail")).drop(columns="passed")
        form_cuts, impact, dq = carried.form_cuts_frame(), carried.impact, carried.decision
    impact, curve = impact_frames(impact)
    return StandardReport(title=title, raters=angoff.to_frame(), cut=cut, impact=impact, impact_curve=curve,
                          cut_raw=s["cut_raw"], form_cuts=form_cuts,
                          conversions=conv, decision=dq, sentences=tuple(sentences), settings=dict(settings or {}),
                          input_files=tuple(str(f) for f in input_files))


def stored_standard_bundle(name: str, record: Mapping[str, object], carried, *, raters: pd.DataFrame | None = None,
                           input_files: Sequence[str] = ()) -> StandardReport:
    """The standard-setting workbook for a standard stored in the bank (``bank.get_standard``) carried to
    forms; ``raters`` is the raters table of the Angoff study behind it, when available."""
    source = dict(record.get("source") or {})
    scale = dict(record.get("scale") or {})
    cut = {"Standard": name, "θ cut on the bank scale": record["theta_cut"],
           "How it was set": str(source.get("method", "given directly as θ"))}
    for key, label in (("cut_raw", "Panel's raw cut on its reference form"), ("se", "Standard error of the cut"),
                       ("n_raters", "Number of raters")):
        if source.get(key) is not None:
            cut[label] = source[key]
    if scale:
        cut["Scaled score at the cut"] = scale.get("cut")
        cut["Scaled score range"] = f"{scale.get('low'):g}–{scale.get('high'):g}"
    cut["Rounding rule for each form's raw cut"] = ("smallest raw score whose true score reaches the θ cut"
                                                    if carried.rule == "at_least" else carried.rule)
    conv = {}
    for form_id, table in carried.conversions.items():
        t = table.rename(columns={"raw": "raw_score"})
        conv[form_id] = t.assign(decision=np.where(t["passed"], "pass", "fail")).drop(columns="passed")
    sentences = [f"The standard '{name}' is θ = {float(record['theta_cut']):.3f} on the bank scale. Each form's "
                 "raw passing score is where its test characteristic curve reaches that θ: "
                 + ", ".join(f"form {f} {c}" for f, c in carried.raw_cuts.items()) + "."]
    impact, curve = impact_frames(carried.impact)
    return StandardReport(title=f"Standard {name}", raters=raters if raters is not None else pd.DataFrame(),
                          cut=cut, impact=impact, impact_curve=curve, cut_raw=source.get("cut_raw"), form_cuts=carried.form_cuts_frame(), conversions=conv,
                          decision=carried.decision, sentences=tuple(sentences),
                          input_files=tuple(str(f) for f in input_files))


def analysis_workbook(run, bank, responses, *, irt_model: str | None = None,
                      settings: Mapping[str, object] | None = None) -> ItemAnalysisReport:
    """The item-analysis workbook bundle of an ``analysis.AnalysisRun``: IRT (``irt_model``) and DIF by
    language from ``analysis.analyze_administration``, with the bank's English and Spanish stems beside DIF
    (``bank`` may be None: then the DIF sheet shows ids only)."""
    extra = analyze_administration(run.matrix, irt_model=irt_model, pretest=run.context.pretest)
    texts = history = None
    if bank is not None:
        texts = bank.item_texts(run.matrix.item_ids)[["item_id", "stem_en", "stem_es"]]
    if bank is not None:
        history = bank.statistics_table(run.matrix.item_ids)
    return item_analysis_bundle(
        run.report, title=f"Item analysis: {run.form_id or Path(responses).name}", calibration=extra.calibration,
        fit=extra.fit, dif=extra.dif, texts=texts, areas=run.context.areas, input_files=[responses],
        sentences=extra.notes, settings=settings, history=history)


def workbook_flags(bundle: ItemAnalysisReport | None) -> list[flagging.Flag]:
    """The IRT and DIF flags a workbook bundle adds to the classical ones, for `analyze`'s CSVs and message
    (so the terminal, actions.csv and the workbook count the same items)."""
    if bundle is None or bundle.flag_rows is None or bundle.flag_rows.empty:
        return []
    rows = bundle.flag_rows[bundle.flag_rows["source"] != "ctt"]
    return [flagging.Flag(**{k: getattr(r, k) for k in rows.columns}) for r in rows.itertuples(index=False)]


# ---- writing the workbooks (what the CLI's --report / --format xlsx options call) -----------------------------

def check_workbook_path(path, force: bool) -> Path:
    """Refuse a path that is not .xlsx, is in a missing folder, or exists without ``force`` (before any work)."""
    return check_writable(path, force)


def write_item_analysis_workbook(bundle: ItemAnalysisReport, out, force: bool = False) -> Path:
    """Render the item-analysis workbook bundle (``analysis_workbook``) to ``out``, atomically."""
    return build_item_analysis_workbook(bundle, out, force=force)


def write_form_workbook(bank, form_id: str, out, force: bool = False) -> Path:
    """The form workbook of a saved form: map, conformance, TIF/TCC, key distribution, booklets, answer key."""
    if out is None:
        raise InputError("An xlsx export needs --out FILE.xlsx.")
    check_writable(out, force)
    exp = form_export(bank, form_id)
    report = form_bundle(exp.form, bank.item_pool(), exp.texts, verification=form_verification(exp.form),
                         params=bank.item_parameters(exp.form.item_ids), title=f"Form {form_id}: {exp.form.name}")
    return build_form_workbook(report, out, force=force)


def write_angoff_workbook(study, out, force: bool = False) -> Path:
    """The standard-setting workbook of a modified-Angoff study (``standards.AngoffStudy``)."""
    return build_standard_workbook(standard_bundle(study.result, study.carried,
                                                   title="Standard setting (modified Angoff)",
                                                   input_files=study.input_files), out, force=force)


def write_stored_standard_workbook(name: str, study, out, force: bool = False) -> Path:
    """The standard-setting workbook of a stored standard carried to forms (``standards.standard_across_forms``)."""
    return build_standard_workbook(stored_standard_bundle(name, study.record, study.carried, raters=study.raters,
                                                          input_files=study.input_files), out, force)


# ---- the board packet: a workbook printed to PDF through LibreOffice -------------------------------------------

#: How to get LibreOffice, in the one sentence the CLI prints when it is missing.
INSTALL_LIBREOFFICE = ("LibreOffice is needed to print a workbook to PDF and was not found on the PATH (soffice or "
                       "libreoffice); install it (Debian/Ubuntu: apt-get install libreoffice-calc; macOS: brew "
                       "install --cask libreoffice; Windows: libreoffice.org) and run the command again.")


def find_libreoffice() -> str | None:
    """The LibreOffice program on the PATH (``soffice`` or ``libreoffice``), or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def workbook_pdf(workbook, out=None, force: bool = False, timeout: float = 300) -> Path:
    """Print ``workbook`` (.xlsx) to PDF as a board member's printer would, through LibreOffice headless.

    ``out`` defaults to the workbook's name with .pdf. LibreOffice renders into a temporary folder (with its own
    profile, so a desktop LibreOffice that is open does not block it); the PDF is then moved into place atomically.
    Refuses before any work when the workbook is missing, the PDF exists without ``force``, or LibreOffice is
    not installed."""
    src = Path(workbook)
    if src.suffix.lower() != ".xlsx" or not src.is_file():
        raise InputError(f"{src}: no such workbook (a board packet is printed from an .xlsx file).")
    dest = check_output_path(Path(out) if out is not None else src.with_suffix(".pdf"), suffix=".pdf",
                             force=force, kind="the board packet", noun="the PDF")
    office = find_libreoffice()
    if office is None:
        raise InputError(INSTALL_LIBREOFFICE)
    with tempfile.TemporaryDirectory(prefix="certbank-pdf-") as tmp:
        profile = Path(tmp, "profile").as_uri()
        cmd = [office, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", tmp,
               str(src.resolve())]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise InputError(f"{src}: LibreOffice did not finish printing the workbook within {timeout:g} "
                             "seconds.") from None
        rendered = Path(tmp, src.with_suffix(".pdf").name)
        if proc.returncode != 0 or not rendered.is_file():
            detail = (proc.stderr or proc.stdout or "").strip()[:200] or "no PDF was written"
            raise InputError(f"{src}: LibreOffice could not print the workbook ({detail}).")
        atomic_write(dest, lambda tmp_path: shutil.copyfile(rendered, tmp_path))
    return dest
