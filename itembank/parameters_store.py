"""Bank methods for IRT parameters as parameter sets with provenance (mixed into ``Bank``).

Every calibration saved is a *parameter set*: its model and D, the method ('free', 'fixed-anchor',
'stocking-lord', …), the scale it is on ('bank' for the bank's operational scale, another id such as
'own:<administration>' for a calibration not linked to it), the administration and form it came from,
linking constants A and B, and the caller's anchor report. Nothing is overwritten: the *current* parameters
of an item on a scale are those of the newest accepted set on that scale holding the item's current version,
counting only sets from the scale's origin on (the set that defined the scale, or the latest that started a
new bank scale with ``new_scale=True``). Triggers keep sets and parameter rows immutable except ``accepted``.

The bank-level rule: once the bank scale exists, an unlinked ('free') calibration saved onto it would mix
two scales, so it is refused unless the caller says it starts a new bank scale.
"""
from __future__ import annotations

import json
import math
import re
from typing import Iterable

import pandas as pd

from certbank_core.errors import InputError, NotFoundError, Problem
from itembank.model import BANK_SCALE, CALIBRATION_METHODS, LINKING_METHODS, ParameterSet, utc_now

PARAMETER_COLUMNS = ["item_id", "version", "model", "a", "b", "c", "D", "se_a", "se_b", "se_c",
                     "calibration_label", "computed_at", "parameter_set_id", "administration_id", "method", "scale"]
SET_COLUMNS = ["parameter_set_id", "administration_id", "form_id", "model", "D", "method", "scale", "linking_A",
               "linking_B", "anchors", "accepted", "starts_scale", "label", "n_items", "created_at", "created_by"]
_SCALE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
_VALUES = ("a", "b", "c", "se_a", "se_b", "se_c")


def _num(value):
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


class ParametersMixin:
    # ---- writing ----------------------------------------------------------------------------------------

    def save_parameter_set(self, frame: pd.DataFrame, *, model: str, D: float, method: str, scale: str,
                           administration_id: str | None = None, form_id: str | None = None,
                           linking: dict | None = None, anchors=None, label: str = "", accepted: bool = True,
                           new_scale: bool = False) -> int:
        """Store one calibration as a new parameter set, in one transaction with an audit entry; return its id.

        ``frame``: one row per item, columns item_id, [version] (default: the version on the administration's
        form, else the current one), b, and a, c, se_a, se_b, se_c as the model has them. ``linking`` is
        {"A": float, "B": float} (required for the linking methods); ``anchors`` any JSON. ``form_id``
        defaults to the administration's form. The first accepted set on a scale defines it (see
        :meth:`scale_origin`); a 'free' set onto an existing bank scale is refused unless ``new_scale``.
        """
        records = frame.to_dict("records") if frame is not None else []
        method = str(method or "").strip().lower()
        scale = str(scale or "").strip()
        with self.transaction():  # the write lock keeps what the checks read true until commit
            problems: list[Problem] = []
            if method not in CALIBRATION_METHODS:
                problems.append(Problem(f"method {method!r} is not one of {', '.join(CALIBRATION_METHODS)}"))
            if not _SCALE.match(scale):
                problems.append(Problem(f"scale {scale!r} must be an id of letters, digits, '.', '_', ':' or '-'"))
            if not str(model or "").strip():
                problems.append(Problem("the model is missing (e.g. 2pl)"))
            d = _num(D)
            if d is None or d <= 0 or math.isinf(d):
                problems.append(Problem(f"D {D!r} must be a positive number (1.0 or 1.702)"))
            link = self._checked_linking(linking, method, problems)
            try:
                anchors_json = None if anchors is None else json.dumps(anchors, ensure_ascii=False, sort_keys=True)
            except (TypeError, ValueError) as err:
                problems.append(Problem(f"anchors cannot be stored as JSON ({err})"))
                anchors_json = None
            if administration_id is not None:
                adm = self.get_administration(administration_id)
                if form_id is not None and adm.form_id is not None and form_id != adm.form_id:
                    problems.append(Problem(f"administration {administration_id!r} delivered form {adm.form_id}, "
                                            f"not {form_id}"))
                form_id = form_id or adm.form_id
            if form_id is not None:
                self.get_form(form_id)
            rows = self._checked_parameter_rows(records, form_id, problems)
            if problems:
                raise InputError(problems)
            defined = self.scale_origin(scale) is None and bool(accepted)
            if scale == BANK_SCALE and method == "free" and self.bank_scale_defined() and not new_scale:
                raise InputError("A free calibration is on its own scale, not the bank's: link it to the bank "
                                 "scale (fixed anchors or Stocking–Lord) or save it on a scale of its own; "
                                 "pass new_scale=True only if it is meant to start a new bank scale.")
            now = utc_now()
            cur = self._x("INSERT INTO parameter_sets(administration_id, form_id, model, D, method, scale, linking_a,"
                          " linking_b, anchors, accepted, starts_scale, label, created_at, created_by) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (administration_id, form_id, str(model).strip(), d, method, scale,
                           *(link or (None, None)), anchors_json, int(bool(accepted)),
                           int(defined or bool(new_scale)), label or "", now, self.user))
            set_id = cur.lastrowid
            for item_id, version, values in rows:
                self._x("INSERT INTO item_parameters(item_id, version, model, a, b, c, D, se_a, se_b, se_c, "
                        "calibration_label, computed_at, parameter_set_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (item_id, version, str(model).strip(), values["a"], values["b"], values["c"], d,
                         values["se_a"], values["se_b"], values["se_c"], label or "", now, set_id))
            self._audit("parameters.save", None, None, {
                "parameter_set_id": set_id, "model": str(model).strip(), "D": d, "method": method, "scale": scale,
                "administration_id": administration_id, "form_id": form_id, "label": label or "",
                "accepted": bool(accepted), "n_items": len(rows), "defined_scale": defined,
                "new_scale": bool(new_scale) and not defined})
        return set_id

    def _checked_linking(self, linking, method: str, problems: list[Problem]) -> tuple[float, float] | None:
        if linking is None:
            if method in LINKING_METHODS:
                problems.append(Problem(f"a {method} set needs its linking constants (linking={{'A': …, 'B': …}})"))
            return None
        a = _num(linking.get("A")) if isinstance(linking, dict) else None
        b = _num(linking.get("B")) if isinstance(linking, dict) else None
        if a is None or b is None or a <= 0:
            problems.append(Problem(f"linking {linking!r} must be {{'A': positive number, 'B': number}}"))
            return None
        return a, b

    def _checked_parameter_rows(self, records: list[dict], form_id: str | None, problems: list[Problem]):
        if not records:
            problems.append(Problem("the parameter set holds no items"))
            return []
        on_form = {r[0]: r[1] for r in self._q("SELECT item_id, version FROM form_items WHERE form_id = ?",
                                               (form_id,))} if form_id else {}
        current = {r[0]: r[1] for r in self._q("SELECT item_id, current_version FROM items")}
        versions = {(r[0], r[1]) for r in self._q("SELECT item_id, version FROM item_versions")}
        out, seen = [], set()
        for row in records:
            item_id = str(row.get("item_id") or "")
            raw = row.get("version")
            version = None if raw is None or pd.isna(raw) else int(raw)
            version = version or on_form.get(item_id) or current.get(item_id)
            if item_id not in current:
                problems.append(Problem(f"item {item_id!r} is not in the bank"))
                continue
            if (item_id, version) not in versions:
                problems.append(Problem(f"item {item_id} has no version {version}"))
                continue
            if item_id in seen:
                problems.append(Problem(f"item {item_id} appears twice in the parameter set"))
            seen.add(item_id)
            values = {c: _num(row.get(c)) for c in _VALUES}
            if values["b"] is None:
                problems.append(Problem(f"item {item_id}: b is missing"))
            if values["c"] is not None and not 0 <= values["c"] < 1:
                problems.append(Problem(f"item {item_id}: c = {values['c']} is outside [0, 1)"))
            out.append((item_id, version, values))
        return out

    def save_item_parameters(self, frame: pd.DataFrame, model: str, D: float, calibration_label: str, *,
                             method: str = "unspecified", scale: str = BANK_SCALE, **provenance) -> int:
        """Store IRT parameters (columns item_id, [version], a, b, c, se_a, se_b, se_c) as a new accepted set
        on the bank scale; returns the number of rows saved (as before V2).

        Kept for callers that predate parameter sets: the set's method is 'unspecified' (the caller did not
        say how the calibration relates to the bank scale, so the free-calibration rule does not apply) and
        the newest such save is the current one, as it always was. Callers that know the method should use
        :meth:`save_parameter_set`; ``provenance`` passes administration_id, form_id, linking, anchors, … to it."""
        self.save_parameter_set(frame, model=model, D=D, method=method, scale=scale, label=calibration_label,
                                **provenance)
        return len(frame)

    def set_parameter_set_accepted(self, parameter_set_id: int, accepted: bool, reason: str) -> None:
        """Accept or withdraw a set (the only change a set allows); the reason goes to the audit log."""
        if not (reason or "").strip():
            raise InputError("Accepting or withdrawing a parameter set needs a reason.")
        with self.transaction():
            old = self.parameter_set(parameter_set_id)
            self._x("UPDATE parameter_sets SET accepted = ? WHERE id = ?", (int(bool(accepted)), parameter_set_id))
            self._audit("parameters.accept", None, {"parameter_set_id": parameter_set_id, "accepted": old.accepted},
                        {"parameter_set_id": parameter_set_id, "accepted": bool(accepted), "reason": reason.strip()})

    # ---- reading ----------------------------------------------------------------------------------------

    def _set_rows(self, where: str = "", params=()):
        return self._q("SELECT s.*, (SELECT COUNT(*) FROM item_parameters p WHERE p.parameter_set_id = s.id) "
                       f"AS n_items FROM parameter_sets s {where} ORDER BY s.id", params)

    @staticmethod
    def _parameter_set(r) -> ParameterSet:
        linking = None if r["linking_a"] is None else {"A": r["linking_a"], "B": r["linking_b"]}
        return ParameterSet(r["id"], r["model"], r["D"], r["method"], r["scale"], r["administration_id"],
                            r["form_id"], linking, None if r["anchors"] is None else json.loads(r["anchors"]),
                            bool(r["accepted"]), bool(r["starts_scale"]), r["label"], r["n_items"],
                            r["created_at"], r["created_by"])

    def parameter_set(self, parameter_set_id: int) -> ParameterSet:
        rows = self._set_rows("WHERE s.id = ?", (parameter_set_id,))
        if not rows:
            raise NotFoundError(f"There is no parameter set {parameter_set_id!r} in the bank.")
        return self._parameter_set(rows[0])

    def parameter_sets(self) -> pd.DataFrame:
        """Every parameter set, oldest first (older sets stay for history): :data:`SET_COLUMNS`, ``anchors``
        as JSON text, ``accepted`` / ``starts_scale`` as bools."""
        rows = self._set_rows()
        frame = pd.DataFrame([(r["id"], r["administration_id"], r["form_id"], r["model"], r["D"], r["method"],
                               r["scale"], r["linking_a"], r["linking_b"], r["anchors"], bool(r["accepted"]),
                               bool(r["starts_scale"]), r["label"], r["n_items"], r["created_at"], r["created_by"])
                              for r in rows], columns=SET_COLUMNS)
        return frame.astype({"accepted": bool, "starts_scale": bool})

    def scale_origin(self, scale: str = BANK_SCALE) -> int | None:
        """The id of the set the scale's current parameters count from: the newest accepted set that started
        the scale (``starts_scale``), else the oldest accepted set on it; None if the scale has none."""
        row = self._q("SELECT MAX(id) FROM parameter_sets WHERE scale = ? AND accepted = 1 AND starts_scale = 1",
                      (scale,))[0][0]
        if row is None:
            row = self._q("SELECT MIN(id) FROM parameter_sets WHERE scale = ? AND accepted = 1", (scale,))[0][0]
        return row

    def bank_scale_defined(self) -> bool:
        """Whether any accepted set is on the bank scale (then free calibrations must be linked to it)."""
        return self.scale_origin(BANK_SCALE) is not None

    def _current_parameters(self, scale: str = BANK_SCALE) -> dict[tuple[str, int], dict]:
        """(item_id, version) → the row of the newest accepted set on ``scale`` since its origin."""
        origin = self.scale_origin(scale)
        if origin is None:
            return {}
        rows = self._q("SELECT p.*, s.administration_id, s.method, s.scale FROM item_parameters p "
                       "JOIN parameter_sets s ON s.id = p.parameter_set_id WHERE s.scale = ? AND s.accepted = 1 "
                       "AND s.id >= ? ORDER BY s.id, p.id", (scale, origin))
        return {(r["item_id"], r["version"]): dict(r) for r in rows}  # later sets overwrite earlier ones

    def item_parameters(self, item_ids: Iterable[str] | None = None, scale: str = BANK_SCALE) -> pd.DataFrame:
        """Current parameters on ``scale``, one row per item that has them for its current version, in the
        order of ``item_ids`` (else by id): :data:`PARAMETER_COLUMNS` (``calibration_label`` is the set's label)."""
        current_version = {r[0]: r[1] for r in self._q("SELECT item_id, current_version FROM items")}
        params = self._current_parameters(scale)
        latest = {i: params[(i, v)] for i, v in current_version.items() if (i, v) in params}
        order = sorted(latest) if item_ids is None else [i for i in dict.fromkeys(item_ids) if i in latest]
        frame = pd.DataFrame([tuple(latest[i][c] for c in PARAMETER_COLUMNS) for i in order], columns=PARAMETER_COLUMNS)
        for c in ("a", "b", "c", "D", "se_a", "se_b", "se_c"):
            frame[c] = pd.to_numeric(frame[c]).astype(float)
        return frame
