"""Item-writing and translation checks: pure rules over an item version's texts.

The writing rules are the ones of Haladyna, Downing & Rodriguez (2002, "A review of multiple-choice
item-writing guidelines") that a program can check without understanding the content, in English and
Spanish; the parity rules compare each translation with the English text of the same version. Nothing here
reads a file or the bank: :func:`lint_version` takes an :class:`ItemVersion` and a :class:`LintConfig` and
returns :class:`Finding` objects. ``lint_run`` applies them to a bank, a file or an import.

Every finding names the item, the language, the wide-layout column it is about (``stem_es``,
``option_c_en``, ``key``), the rule, what was found and a suggestion.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from importlib import resources
from pathlib import Path

from certbank_core.errors import InputError, Problem
from itembank.model import OPTION_LABELS, REQUIRED_LANGUAGE, ItemVersion

SEVERITIES = ("blocking", "warning", "off")

#: Rule id → what it checks (the README and ``certbank items lint`` list these).
RULES: dict[str, str] = {
    "all-none-of-the-above": "an option is 'all/none of the above' (todas/ninguna de las anteriores)",
    "negative-stem": "the question asks with NOT/EXCEPT (NO/EXCEPTO) without capitals",
    "key-longest": "the key is the longest option by far",
    "grammatical-cue": "the stem's last word (a/an, el/la/los/las/un/una) agrees with some options only",
    "absolute-distractors": "absolute words (always, never / siempre, nunca) in distractors but not in the key",
    "key-repeats-stem": "the key repeats stem words that no distractor repeats",
    "duplicate-options": "two options are the same or nearly the same",
    "stem-form": "the stem is neither a question nor a completion",
    "stem-length": "the stem is longer than the limit",
    "parity-numbers": "numbers or dates differ between the languages",
    "parity-doses": "a dose or quantity with a unit (25 mg, 10 ml, 50%) differs between the languages",
    "parity-names": "a proper name of the English text is missing from the translation",
    "parity-length": "an option's length in the translation is outside the band around the English length",
    "parity-untranslated": "a field of the translation is identical to the English one, or left empty",
    "parity-english": "the translation is mostly English words",
    "parity-key-position": "the options look reordered in the translation (the key letter is shared)",
}

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_ABOVE = {
    "en": re.compile(r"\b(all|none|both|neither) of the (above|previous|preceding|options|answers|choices)\b"
                     r"|\ball of these\b|\bnone of these\b|\bboth [a-f] and [a-f]\b", re.I),
    "es": re.compile(r"\b(todas|todos|ninguna|ninguno|ambas|ambos) (las |los )?(opciones |respuestas )?"
                     r"(anteriores|de las anteriores|de los anteriores|previas)\b"
                     r"|\b(ninguna|ninguno|todas|todos) de (las|los) (anteriores|opciones)\b"
                     r"|\bambas [a-f] y [a-f]\b", re.I),
}
_NEGATIVE = {"en": ("not", "except", "least", "never", "cannot", "isn't", "aren't", "doesn't", "don't"),
             "es": ("no", "excepto", "salvo", "menos", "nunca", "jamás")}
_ABSOLUTE = {"en": ("always", "never", "completely", "absolutely", "totally", "entirely", "invariably"),
             "es": ("siempre", "nunca", "jamás", "completamente", "absolutamente", "totalmente", "invariablemente")}
_STOP = {
    "en": set("the a an and or of to in on for with at by from is are was were be been this that these those "
              "what which who whom how when why it its their his her they them you your he she we our as if "
              "than then so do does did has have had not no can could should would will may might most best "
              "first next".split()),
    "es": set("el la los las un una unos unas y o de del al en con por para que qué cuál cuáles quién cómo "
              "cuándo es son era fue ser está están este esta estos estas ese esa su sus le les lo se sí no "
              "más mejor primero como si muy ya".split()),
}
_ENGLISH_MARKERS = set("the and of to is are with for you your what which that this will should would "
                       "be has have their they he she when how".split())
_ARTICLES_ES = {"el": "ms", "los": "mp", "un": "ms", "unos": "mp", "la": "fs", "las": "fp", "una": "fs",
                "unas": "fp"}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_UNIT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|mcg|µg|g|kg|ml|mL|l|cc|%|units?|unidades)\b", re.I)
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|«[^»]*»")
_MONTHS_DAYS = set("january february march april may june july august september october november december "
                   "monday tuesday wednesday thursday friday saturday sunday i".split())


@dataclass(frozen=True)
class Finding:
    item_id: str
    language: str  # "en", "es", … ; a parity finding names the translation's language
    field: str  # the wide-layout column: stem_en, option_b_es, key
    rule: str
    message: str
    suggestion: str
    severity: str = "warning"

    def as_dict(self) -> dict:
        return {"item_id": self.item_id, "language": self.language, "field": self.field, "rule": self.rule,
                "severity": self.severity, "message": self.message, "suggestion": self.suggestion}


@dataclass(frozen=True)
class LintConfig:
    """Severity per rule and the numeric limits; read from TOML (``default_lint.toml`` ships)."""

    severities: dict = field(default_factory=dict)
    key_length_ratio: float = 1.5
    near_duplicate: float = 0.9
    stem_max_words: dict = field(default_factory=lambda: {"en": 80, "es": 95})
    length_band: tuple[float, float] = (0.6, 2.2)
    english_share: float = 0.35
    key_stem_words: int = 2
    names: dict = field(default_factory=dict)  # English name → accepted renderings in a translation
    source: str = "default"

    def severity(self, rule: str) -> str:
        return self.severities.get(rule, "warning")


def _read_toml(text: str, name: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(Problem(f"the file is not valid TOML ({err})", name)) from None


def load_config(path: str | Path | None = None) -> LintConfig:
    """The lint configuration: the shipped default, with ``path`` (a TOML file the program edits) laid over
    it. A rule, limit or name the program's file leaves out keeps its shipped setting, so a file that only
    switches one rule off does not quietly demote the blocking ones (parity-doses) to warnings."""
    shipped = resources.files("itembank").joinpath("default_lint.toml").read_text(encoding="utf-8")
    data = _read_toml(shipped, "default_lint.toml")
    name = "default_lint.toml"
    if path is not None:
        name = str(path)
        if not Path(path).is_file():
            raise InputError(Problem("the lint configuration file does not exist", name))
        own = _read_toml(Path(path).read_text(encoding="utf-8"), name)
        for table in ("rules", "limits", "names"):
            if table in own and not isinstance(own[table], dict):
                raise InputError(Problem(f"[{table}] must be a table", name, None, table))
            merged = dict(data.get(table, {}))
            for key, value in own.get(table, {}).items():  # a table-valued limit (stem_max_words) merges too
                both = isinstance(value, dict) and isinstance(merged.get(key), dict)
                merged[key] = {**merged[key], **value} if both else value
            data[table] = merged
    problems = []
    rules = data.get("rules", {})
    for rule, severity in rules.items():
        if rule not in RULES:
            problems.append(Problem(f"unknown rule {rule!r} (rules: {', '.join(RULES)})", name, None, "rules"))
        elif severity not in SEVERITIES:
            problems.append(Problem(f"rule {rule}: severity {severity!r} is not one of {', '.join(SEVERITIES)}",
                                    name, None, "rules"))
    limits = data.get("limits", {})
    try:
        band = tuple(float(x) for x in limits.get("length_band", (0.6, 2.2)))
        words = limits.get("stem_max_words", {"en": 80, "es": 95})
        config = LintConfig(severities=dict(rules), key_length_ratio=float(limits.get("key_length_ratio", 1.5)),
                            near_duplicate=float(limits.get("near_duplicate", 0.9)),
                            stem_max_words={str(k): int(v) for k, v in dict(words).items()},
                            length_band=(band[0], band[1]), english_share=float(limits.get("english_share", 0.35)),
                            key_stem_words=int(limits.get("key_stem_words", 2)),
                            names={str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
                                   for k, v in data.get("names", {}).items()},
                            source=name)
    except (TypeError, ValueError, IndexError) as err:
        problems.append(Problem(f"a limit is not a number ({err})", name, None, "limits"))
    if problems:
        raise InputError(problems)
    return config


# ---- helpers ----------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _base(lang: str) -> str:
    return lang.split("-")[0]


def _question(stem: str) -> str:
    """The part of the stem that asks: its last sentence (a scenario before it may say 'not' freely)."""
    parts = re.split(r"(?<=[.!?])\s+(?=[¿A-ZÁÉÍÓÚÑ\"“])", stem.strip())
    return parts[-1] if parts else stem


def _numbers(text: str) -> list[str]:
    return sorted(n.replace(",", ".") for n in _NUMBER.findall(text))


def _doses(text: str) -> list[str]:
    units = {"unit": "u", "units": "u", "unidades": "u", "ml": "ml", "cc": "ml"}
    return sorted(f"{n.replace(',', '.')} {units.get(u.lower(), u.lower())}" for n, u in _UNIT.findall(text))


def _names(text: str) -> set[str]:
    """Capitalised words not at a sentence start (and not a month, a day or 'I'): likely proper names."""
    names = set()
    for m in _WORD.finditer(text):
        t = m.group(0)
        before = text[: m.start()].rstrip()
        if t[0].isupper() and before and before[-1] not in ".!?:;\"“«([¿¡-" and len(t) > 1 \
                and t.lower() not in _MONTHS_DAYS and not t.startswith("I'"):
            names.add(t)
    return names


def _fold(text: str) -> str:
    """Lower case without accents, so 'Ramadan' is found in 'Ramadán'."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def _unquoted(text: str) -> str:
    """The text without quoted speech: what a person in the scenario says is content, not the writer's wording."""
    return _QUOTED.sub(" ", text)


# ---- the rules ---------------------------------------------------------------------------------------------


def _writing(v: ItemVersion, lang: str, stem: str, options: tuple[str, ...], cfg: LintConfig):
    """(rule, field, message, suggestion) for the item-writing rules in one language."""
    base = _base(lang)
    key_i = OPTION_LABELS.index(v.key) if v.key in OPTION_LABELS[: len(options)] else None
    col = lambda i: f"option_{OPTION_LABELS[i].lower()}_{lang}"  # noqa: E731
    above = _ABOVE.get(base)
    if above:
        for i, opt in enumerate(options):
            if above.search(opt):
                yield ("all-none-of-the-above", col(i), f"option {OPTION_LABELS[i]} is {opt!r}",
                       "replace it with a plausible distractor of its own")
    question = _unquoted(_question(stem))
    for neg in _NEGATIVE.get(base, ()):
        for m in re.finditer(rf"(?<![\w']){re.escape(neg)}(?![\w'])(?! verbal)", question, re.I):
            if not m.group(0).isupper():
                yield ("negative-stem", f"stem_{lang}", f"the question asks with {m.group(0)!r}",
                       f"word the question positively, or write {m.group(0).upper()} in capitals")
                break
        else:
            continue
        break
    lengths = [len(o) for o in options]
    if key_i is not None and len(options) > 1:
        others = [n for i, n in enumerate(lengths) if i != key_i]
        if lengths[key_i] > max(others) and lengths[key_i] >= cfg.key_length_ratio * max(max(others), 1):
            yield ("key-longest", col(key_i), f"the key has {lengths[key_i]} characters, the longest distractor "
                   f"{max(others)}", "shorten the key or lengthen the distractors to about the same length")
    last = (_words(stem) or [""])[-1] if not stem.rstrip().endswith(("?", ".", "!")) else ""
    if key_i is not None and last:
        agree = [_agrees(base, last, o) for o in options]
        if None not in agree and agree[key_i] and not all(agree):
            bad = ", ".join(OPTION_LABELS[i] for i, a in enumerate(agree) if not a)
            yield ("grammatical-cue", f"stem_{lang}", f"the stem ends with {last!r}, which does not fit option(s) "
                   f"{bad} but fits the key", "end the stem before the article, or make every option agree")
    if key_i is not None:
        absolutes = set(_ABSOLUTE.get(base, ()))
        key_abs = absolutes & set(_words(_unquoted(options[key_i])))
        for i, opt in enumerate(options):
            hit = absolutes & set(_words(_unquoted(opt)))
            if i != key_i and hit and not key_abs:
                yield ("absolute-distractors", col(i), f"distractor {OPTION_LABELS[i]} says {sorted(hit)[0]!r} and "
                       "the key has no absolute word", "avoid always/never; test-wise candidates rule them out")
        stop = _STOP.get(base, set())
        stem_words = {w for w in _words(_unquoted(stem)) if len(w) > 3 and w not in stop}
        shared = [stem_words & {w for w in _words(o)} for o in options]
        only_key = shared[key_i] - set().union(*(s for i, s in enumerate(shared) if i != key_i))
        if len(only_key) >= cfg.key_stem_words:
            yield ("key-repeats-stem", col(key_i), f"the key repeats stem words {', '.join(sorted(only_key))} that "
                   "no distractor uses", "reword the key or let distractors share the stem's wording")
    norm = [" ".join(_words(o)) for o in options]
    for i in range(len(options)):
        for j in range(i + 1, len(options)):
            if norm[i] == norm[j] or SequenceMatcher(None, norm[i], norm[j]).ratio() >= cfg.near_duplicate:
                yield ("duplicate-options", col(j), f"options {OPTION_LABELS[i]} and {OPTION_LABELS[j]} are the same "
                       "or nearly the same", "make every option a distinct answer")
    end = stem.rstrip()
    if end.endswith("."):
        yield ("stem-form", f"stem_{lang}", "the stem ends with a statement, not a question or a completion",
               "end with the question ('What should the peer specialist do?') or an incomplete sentence")
    elif base == "es" and end.endswith("?") and "¿" not in _question(end):
        yield ("stem-form", f"stem_{lang}", "the Spanish question has no opening '¿'", "open the question with '¿'")
    limit = cfg.stem_max_words.get(base, cfg.stem_max_words.get("en", 80))
    if len(_words(stem)) > limit:
        yield ("stem-length", f"stem_{lang}", f"the stem has {len(_words(stem))} words (limit {limit})",
               "cut what the candidate does not need to answer")


def _agrees(base: str, last: str, option: str) -> bool | None:
    """Whether an option fits the stem's final article; None when the stem does not end with one."""
    first = (_words(option) or [""])[0]
    if not first:
        return None
    if base == "en":
        if last not in ("a", "an"):
            return None
        vowel = first[0] in "aeiou" and not first.startswith(("uni", "use", "usu", "one"))
        return vowel == (last == "an")
    if base == "es" and last in _ARTICLES_ES:
        gender, number = _ARTICLES_ES[last]
        plural = first.endswith("s")
        if (number == "p") != plural:
            return False
        stem_end = first[:-1] if plural else first
        if stem_end.endswith("es") and plural:
            stem_end = first[:-2]
        if stem_end.endswith("a") and gender == "m" and not stem_end.endswith(("ma", "ta")):
            return False
        if stem_end.endswith("o") and gender == "f" and not stem_end.endswith("mano"):
            return False
        return True
    return None


def _parity(v: ItemVersion, lang: str, cfg: LintConfig):
    en, tr = v.text(REQUIRED_LANGUAGE), v.text(lang)
    fields = [("stem", en.stem, tr.stem)] + [(f"option_{OPTION_LABELS[i].lower()}", a, b)
                                             for i, (a, b) in enumerate(zip(en.options, tr.options))]
    fields.append(("rationale", en.rationale, tr.rationale))
    for name, a, b in fields:
        col = f"{name}_{lang}"
        if a and not b:
            yield ("parity-untranslated", col, f"{name} is empty in {lang} but not in en", f"translate the {name}")
            continue
        if not a or not b:
            continue
        if a.strip() == b.strip() and len(_words(a)) >= 2:
            yield ("parity-untranslated", col, f"{name} is identical in {lang} and en", f"translate the {name}")
            continue
        doses_a, doses_b = _doses(a), _doses(b)
        if doses_a != doses_b:
            yield ("parity-doses", col, f"doses differ: en has {', '.join(doses_a) or 'none'}, {lang} has "
                   f"{', '.join(doses_b) or 'none'}", "carry every dose over unchanged (same number, same unit)")
        elif _numbers(a) != _numbers(b):
            yield ("parity-numbers", col, f"numbers differ: en has {_numbers(a) or 'none'}, {lang} has "
                   f"{_numbers(b) or 'none'}", "carry every number, dose and date over unchanged")
        folded = _fold(b)
        missing = sorted(n for n in _names(a) if _fold(n) not in folded and n.upper() != n
                         and not any(_fold(r) in folded for r in cfg.names.get(n, ())))
        if missing:
            yield ("parity-names", col, f"{', '.join(missing)} of the English text is not in {lang}",
                   "keep proper names as they are (or rename them in every language)")
        words = _words(b)
        if len(words) >= 4 and sum(w in _ENGLISH_MARKERS for w in words) / len(words) >= cfg.english_share:
            yield ("parity-english", col, f"{name} in {lang} is mostly English words", f"translate the {name}")
        if name.startswith("option_") and len(a) >= 12:
            ratio = len(b) / len(a)
            low, high = cfg.length_band
            if not low <= ratio <= high:
                yield ("parity-length", col, f"{lang} is {ratio:.2f} times the English length (band {low}–{high})",
                       "check the option is complete and no longer or shorter than its meaning needs")
    sig_en = [_signature(o) for o in en.options]
    sig_tr = [_signature(o) for o in tr.options]
    key_i = OPTION_LABELS.index(v.key) if v.key in OPTION_LABELS[: len(en.options)] else None
    unique = key_i is not None and sig_en[key_i] and sig_en.count(sig_en[key_i]) == 1
    if unique and sig_en[key_i] != sig_tr[key_i]:
        # a swap: the English key's numbers/names sit in another translated option, and that option's in the key
        moved = [j for j, s in enumerate(sig_tr) if j != key_i and s == sig_en[key_i] and sig_tr[key_i] == sig_en[j]]
        if moved:
            yield ("parity-key-position", f"option_{OPTION_LABELS[moved[0]].lower()}_{lang}",
                   f"the English key {v.key} reads like option {OPTION_LABELS[moved[0]]} in {lang}",
                   "keep the options in the same order in every language (the key letter is shared)")


def _signature(option: str) -> frozenset:
    """What survives translation unchanged: numbers and capitalised names."""
    return frozenset(_numbers(option)) | frozenset(t for t in _WORD.findall(option) if t[0].isupper() and len(t) > 1
                                                    and t.lower() not in _MONTHS_DAYS and t != option.split()[0])


def lint_version(v: ItemVersion, config: LintConfig | None = None) -> list[Finding]:
    """Every finding of every rule the configuration does not turn off, for one item version."""
    cfg = config or load_config()
    found = []
    for t in v.texts:
        for rule, col, message, suggestion in _writing(v, t.language, t.stem, t.options, cfg):
            found.append((t.language, rule, col, message, suggestion))
        if t.language != REQUIRED_LANGUAGE and v.text(REQUIRED_LANGUAGE) is not None:
            for rule, col, message, suggestion in _parity(v, t.language, cfg):
                found.append((t.language, rule, col, message, suggestion))
    out = []
    for lang, rule, col, message, suggestion in found:
        severity = cfg.severity(rule)
        if severity != "off":
            out.append(Finding(v.item_id, lang, col, rule, message, suggestion, severity))
    return out


def check_import(drafts, name: str, row_of: dict[str, int], config: LintConfig | None = None) -> list[str]:
    """The lint of an import: raise one InputError listing every blocking finding (file, row, column), else
    return the warnings as printable lines. ``row_of`` maps an item id to its row in the file."""
    findings = [f for d in drafts for f in lint_version(d.version, config)]
    def line(f: Finding) -> Problem:
        return Problem(f"item {f.item_id}, {f.rule} ({f.severity}): {f.message}; {f.suggestion}", name, row_of.get(f.item_id), f.field)
    blocking = [line(f) for f in findings if f.severity == "blocking"]
    if blocking:
        raise InputError(blocking)
    return [str(line(f)) for f in findings]
