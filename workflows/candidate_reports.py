"""`certbank score RESPONSES --form ID --standard NAME --reports DIR`: the letter every candidate receives.

Joins the scores against the standard (``workflows.scoring.score_against_standard``: pass/fail, scaled score,
area bands), the area titles in each language (the bank's English titles; ``title_<lang>`` from the framework
files the program settings name), the program settings (name, retake rules, contact), the administration (its
testing window is the test date) and the message catalogue of each language, then renders one PDF per
candidate and one merged PDF with ``reports.candidate_letters`` (each letter drawn once; from
``PARALLEL_FROM`` letters on, in two processes). Everything is checked before anything is
drawn; the folder is written beside its destination and moved into place, so a failure leaves no partial
folder.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from certbank_core.errors import InputError, Problem
from reports import candidate_letters as letters
from workflows.scoring import StandardScores, score_against_standard
from workflows.standards import load_standard

MERGED_NAME = "all-letters.pdf"
SUMMARY_NAME = "program-summary.csv"
LIST_NAME = "reports-written.csv"
DEFAULT_SETTINGS = Path(str(resources.files("itembank") / "sample" / "program.toml"))
MESSAGES_DIR = Path(str(resources.files("reports") / "messages"))


def catalogue_languages() -> list[str]:
    """Language codes with a message catalogue (``reports/messages/<code>.toml``)."""
    return sorted(p.stem for p in MESSAGES_DIR.glob("*.toml"))


def read_messages(language: str) -> dict:
    """The message catalogue of ``language``, checked for every key the letters use."""
    path = MESSAGES_DIR / f"{language}.toml"
    if not path.is_file():
        raise InputError(f"There is no message catalogue for language {language!r} (available: "
                         f"{', '.join(catalogue_languages())}).")
    messages = _toml(path)
    missing = [k for k in letters.MESSAGE_KEYS if k not in messages]
    if missing:
        raise InputError(Problem(f"the catalogue lacks {', '.join(missing)}", str(path)))
    return messages


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(Problem(f"the file is not valid TOML ({err})", str(path))) from None


@dataclass(frozen=True)
class ProgramSettings:
    """The program's texts and rules from its settings file (``itembank/sample/program.toml`` is the sample)."""

    path: Path
    names: dict  # language → program name
    default_language: str
    retake: dict  # max_attempts, period_months, waiting_days
    contact: dict  # language → contact text
    title_files: tuple[Path, ...] = ()
    fonts: dict | None = None  # {"regular": path, "bold": path} for text beyond Latin-1

    def text(self, table: str, language: str) -> str:
        """The program name ('names') or contact text ('contact') in ``language``; a missing one is an error."""
        values = self.names if table == "names" else self.contact
        if not str(values.get(language, "")).strip():
            where = "[program] name" if table == "names" else "[contact]"
            raise InputError(Problem(f"{where} has no {language} text, which the reports need", str(self.path)))
        return str(values[language]).strip()


def read_program_settings(path=None) -> ProgramSettings:
    """Read and check a program settings file (TOML: [program] name.<lang>, default_language; [retake]
    max_attempts, period_months, waiting_days; [contact] <lang>; optional [area_titles] frameworks and
    [fonts] regular, bold). ``None`` reads the sample program's settings."""
    path = Path(path) if path is not None else DEFAULT_SETTINGS
    if not path.is_file():
        raise InputError(Problem("the program settings file does not exist", str(path)))
    data = _toml(path)
    name = str(path)
    program, retake, contact = data.get("program", {}), data.get("retake", {}), data.get("contact", {})
    names = program.get("name", {})
    if not isinstance(names, dict) or not names:
        raise InputError(Problem("[program] needs name.<language> for each report language", name, None, "name"))
    rules = {}
    for key in ("max_attempts", "period_months", "waiting_days"):
        value = retake.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(Problem(f"[retake] needs {key} as a whole number", name, None, key))
        rules[key] = value
    base = path.parent
    files = tuple(base / f for f in data.get("area_titles", {}).get("frameworks", []))
    fonts = data.get("fonts")
    if fonts is not None:
        if not isinstance(fonts, dict) or not {"regular", "bold"} <= set(fonts):
            raise InputError(Problem("[fonts] needs regular and bold (TrueType files)", name, None, "fonts"))
        fonts = {k: str(base / fonts[k]) for k in ("regular", "bold")}
        for font in fonts.values():
            if not Path(font).is_file():
                raise InputError(Problem(f"the font file {font} does not exist", name, None, "fonts"))
    return ProgramSettings(path, dict(names), str(program.get("default_language", "en")).strip().lower(), rules,
                           dict(contact), files, fonts)


def translated_titles(settings: ProgramSettings, language: str) -> dict[str, str]:
    """Area code → ``title_<language>`` from the framework files the settings name."""
    titles = {}
    for path in settings.title_files:
        if not path.is_file():
            raise InputError(Problem(f"the framework file {path} named in [area_titles] does not exist",
                                     str(settings.path)))
        for area in _toml(path).get("areas", []):
            if area.get(f"title_{language}"):
                titles[str(area["code"]).strip()] = str(area[f"title_{language}"]).strip()
    return titles


@dataclass(frozen=True)
class CandidateReports:
    """What ``write_candidate_reports`` wrote: the scores, one row per report (``written``), the pass counts by
    language and form (``summary``) and the folder."""

    scores: StandardScores
    written: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    folder: Path = Path(".")

    def message(self) -> str:
        counts = ", ".join(f"{n} {lang}" for lang, n in self.written["language"].value_counts().sort_index().items())
        n_pass = int(self.written["result"].eq("pass").sum())
        return (f"Wrote {len(self.written)} candidate reports ({counts}; {n_pass} pass) and {MERGED_NAME} to "
                f"{self.folder}; pass counts by language and form in {SUMMARY_NAME}.")


def _administration(bank, administration_id: str | None, form_id: str):
    if administration_id:
        adm = bank.get_administration(administration_id)
        if adm.form_id and adm.form_id != form_id:
            raise InputError(f"Administration {administration_id} delivered form {adm.form_id}, not {form_id}: "
                             f"give the administration of form {form_id}.")
        return adm
    found = bank.list_administrations()
    found = found[found["form_id"] == form_id]
    if len(found) > 1:
        raise InputError(f"Form {form_id} was given in administrations {', '.join(found['administration_id'])}: "
                         f"give --administration ID so the reports show the right test date.")
    return bank.get_administration(found["administration_id"].iloc[0]) if len(found) else None


def _languages(scores: StandardScores, lang: str, default: str, responses) -> list[str]:
    """Each candidate's report language: ``lang``, or with 'auto' the response file's language column (blank:
    the program's default); a language without a catalogue is an error naming its row."""
    available = catalogue_languages()
    n = len(scores.report)
    if lang != "auto":
        if lang not in available:
            raise InputError(f"--lang {lang}: there is no message catalogue for {lang!r} (available: "
                             f"{', '.join(available)}).")
        return [lang] * n
    column = scores.candidates.get("language") if scores.candidates is not None else None
    codes = [default] * n if column is None else [str(v).strip().lower() if pd.notna(v) and str(v).strip()
                                                  else default for v in column]
    for i, code in enumerate(codes):
        if code not in available:
            raise InputError(Problem(f"language {code!r} has no message catalogue (available: "
                                     f"{', '.join(available)})", str(responses), i + 2, "language"))
    return codes


def _safe_name(candidate_id: str, taken: set) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", candidate_id).strip("._") or "candidate"
    name, k = f"{stem}.pdf", 2
    while name.lower() in taken or name in (MERGED_NAME,):
        name, k = f"{stem}-{k}.pdf", k + 1
    taken.add(name.lower())
    return name


def _area_order(bank, codes) -> list[str]:
    """The form's areas in framework order (the bank's area positions), unknown ones last."""
    order = list(dict.fromkeys(bank.competencies()["area_code"]))
    return sorted(codes, key=lambda c: order.index(c) if c in order else len(order))


def _study(passed: bool, bands: dict, titles: dict) -> tuple[list[str], str]:
    """Areas a candidate who did not pass should study: those below the passing level, else those near it."""
    if passed:
        return [], "none"
    for kind in ("below", "near"):
        chosen = [titles[a] for a, band in bands.items() if band == kind]
        if chosen:
            return chosen, kind
    return [], "none"


def build_letters(bank, scores: StandardScores, form_id: str, responses, *, lang: str = "auto",
                  settings: ProgramSettings, administration=None) -> tuple[list, dict]:
    """One ``Letter`` per candidate, in file order, and the catalogue of each language used. Every check runs
    here, before anything is drawn: languages, program texts and area titles in each language, candidates
    without a score (no item answered), and text the core fonts cannot show."""
    report, bands = scores.report, scores.bands
    if bands is None:
        raise InputError("Candidate reports need a bank form (--form) so each area can be reported.")
    languages = _languages(scores, lang, settings.default_language, responses)
    unscored = [i for i, n in enumerate(scores.candidates["n_answered"]) if n == 0]
    if unscored:
        i = unscored[0]
        raise InputError(Problem(f"candidate {report['person_id'].iloc[i]} answered no scored item and has no "
                                 f"score to report" + (f" ({len(unscored)} such candidates)" if len(unscored) > 1
                                                       else ""), str(responses), i + 2, "candidate_id"))
    record = load_standard(bank, scores.standard)
    scale = record.get("scale") or {}
    low, high, cut = (int(round(float(scale.get(k, d)))) for k, d in (("low", 200), ("high", 800), ("cut", 500)))
    english = dict(zip(bank.competencies()["area_code"], bank.competencies()["area_title"]))
    areas = _area_order(bank, bands.areas)
    column = {a: k for k, a in enumerate(bands.areas)}
    catalogues, titles = {}, {}
    for code in sorted(set(languages)):
        catalogues[code] = read_messages(code)
        found = english if code == "en" else translated_titles(settings, code)
        missing = [a for a in areas if a not in found]
        if missing:
            raise InputError(Problem(f"no {code} title for area(s) {', '.join(missing)}: add title_{code} to the "
                                     f"framework file named in [area_titles]", str(settings.path)))
        titles[code] = {a: found[a] for a in areas}
        settings.text("names", code), settings.text("contact", code)
    names = scores.candidates.get("name")
    names = [None] * len(languages) if names is None else [v if pd.notna(v) else None for v in names]
    window = (administration.window_start, administration.window_end) if administration else (None, None)
    # Columns as plain lists once: a pandas lookup per candidate and field was most of this loop's time.
    results, scaled, ids = list(report["result"]), list(report["scaled"]), list(report["person_id"])
    columns = [column[a] for a in areas]
    observed, n_items = bands.observed[:, columns].astype(int).tolist(), [int(bands.n_items[c]) for c in columns]
    band_rows = bands.band[:, columns].tolist()
    out = []
    for i, code in enumerate(languages):
        passed = results[i] == "pass"
        row_bands = dict(zip(areas, band_rows[i]))
        study, kind = _study(passed, row_bands, titles[code])
        name = names[i]
        lines = [letters.AreaLine(titles[code][a], observed[i][k], n_items[k], row_bands[a])
                 for k, a in enumerate(areas)]
        letter = letters.Letter(code, settings.text("names", code), str(ids[i]),
                                str(name).strip() if name is not None else None, form_id, *window, passed,
                                int(scaled[i]), low, high, cut, lines, bands.min_items,
                                settings.text("contact", code), study, kind, settings.retake)
        if settings.fonts is None:
            _check_latin1(letter, catalogues[code], responses, i)
        out.append(letter)
    return out, catalogues


def _check_latin1(letter, messages, responses, i: int) -> None:
    for text in letters.letter_texts(letter, messages):
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise InputError(Problem(f"the report of candidate {letter.candidate_id} contains {text!r}, which the "
                                     f"built-in PDF font cannot show: name TrueType fonts in the settings' [fonts]",
                                     str(responses), i + 2)) from None


def write_candidate_reports(bank, responses, *, form_id: str | None, standard: str, reports_dir,
                            lang: str = "auto", settings_file=None,
                            administration_id: str | None = None) -> CandidateReports:
    """Score RESPONSES against ``standard`` and write DIR: one PDF per candidate (named by candidate id), all
    of them in ``all-letters.pdf`` in file order, ``reports-written.csv`` (candidate, language, form, result,
    scaled score, bands, file) and ``program-summary.csv`` (candidates and passes by language and form).
    A DIR that exists must be empty or a previous reports folder (it is then replaced)."""
    lang = (lang or "auto").strip().lower()
    settings = read_program_settings(settings_file)
    if lang != "auto" and lang not in catalogue_languages():
        raise InputError(f"--lang {lang}: there is no message catalogue for {lang!r} (available: "
                         f"{', '.join(catalogue_languages())}).")
    if not form_id and administration_id:
        form_id = bank.get_administration(administration_id).form_id
    if not form_id:
        raise InputError("Candidate reports need --form ID (or --administration ID): the form's areas are reported.")
    target = Path(reports_dir)
    _check_target(target)
    administration = _administration(bank, administration_id, form_id)
    scores = score_against_standard(bank, responses, standard=standard, form_id=form_id)
    built, catalogues = build_letters(bank, scores, form_id, responses, lang=lang, settings=settings,
                                      administration=administration)
    written = _written(scores, built)
    summary = (written.groupby(["language", "form_id"]).agg(candidates=("result", "size"),
                                                            passed=("result", lambda r: int((r == "pass").sum())))
               .reset_index())
    summary["pass_rate"] = (summary["passed"] / summary["candidates"]).round(4)
    _write_folder(target, built, catalogues, written, summary, settings.fonts)
    return CandidateReports(scores, written, summary, target)


def _written(scores: StandardScores, built) -> pd.DataFrame:
    taken: set = set()
    frame = pd.DataFrame({"candidate_id": [b.candidate_id for b in built], "language": [b.language for b in built],
                          "form_id": [b.form_id for b in built], "result": scores.report["result"].to_numpy(),
                          "scaled": scores.report["scaled"].to_numpy()})
    for column in scores.report.columns:
        if column.startswith("band_"):
            frame[column] = scores.report[column].to_numpy()
    frame["file"] = [_safe_name(b.candidate_id, taken) for b in built]
    return frame


def _check_target(target: Path) -> None:
    if not target.parent.is_dir():
        raise InputError(Problem(f"the folder {target.parent} does not exist", str(target)))
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / SUMMARY_NAME).exists())):
        raise InputError(Problem("the reports folder exists and is not an earlier reports folder: give a new or "
                                 "empty folder", str(target)))


def _write_folder(target: Path, built, catalogues, written, summary, fonts) -> None:
    """Render into a temporary folder beside ``target``, then swap it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        names = list(written["file"])
        if fonts:
            _render_with_fonts(tmp, built, names, catalogues, fonts)
        else:
            _render_core(tmp, built, names, catalogues)
        written.to_csv(tmp / LIST_NAME, index=False)
        summary.to_csv(tmp / SUMMARY_NAME, index=False)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / "previous")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


#: From this many letters on, the letters are drawn in two processes (below it, starting them costs more
#: than it saves).
PARALLEL_FROM = 500


def _workers(n_letters: int) -> int:
    if n_letters < PARALLEL_FROM:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def _render_core(folder: Path, built, names, catalogues) -> None:
    """Core-font letters, each drawn once: every candidate's PDF is written as it is drawn and the same page
    streams make the merged PDF. Many letters are split into two contiguous chunks, one per process; the
    merged PDF takes chunk 1's pages then chunk 2's, so its order is the file order whatever finishes first."""
    workers = _workers(len(built))
    if workers == 1:
        pages = _draw_chunk(folder, built, names, catalogues)
    else:
        cut = [len(built) * k // workers for k in range(workers + 1)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_draw_chunk, folder, built[a:b], names[a:b], catalogues)
                       for a, b in zip(cut, cut[1:])]
            pages = [page for future in futures for page in future.result()]
    (folder / MERGED_NAME).write_bytes(letters.LetterPages().document(pages))


def _draw_chunk(folder: Path, built, names, catalogues) -> list[bytes]:
    """Draw these letters, write each candidate's PDF into ``folder``; every page's content stream, in order."""
    drawer, pages = letters.LetterPages(), []
    for letter, name in zip(built, names):
        streams = drawer.draw(letter, catalogues[letter.language])
        (folder / name).write_bytes(drawer.document(streams))
        pages.extend(streams)
    return pages


def _render_with_fonts(folder: Path, built, names, catalogues, fonts) -> None:
    """TrueType letters (text beyond Latin-1): fpdf2 embeds a font subset per file, so each letter is drawn
    for its own PDF and again into the merged one (about twice as slow as the core-font path)."""
    merged = letters.MergedLetters(fonts)
    for letter, name in zip(built, names):
        messages = catalogues[letter.language]
        (folder / name).write_bytes(letters.render_letter(letter, messages, fonts))
        merged.add(letter, messages)
    (folder / MERGED_NAME).write_bytes(merged.output())
