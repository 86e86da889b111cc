"""A grouped classical analysis with its flags: what ``certbank analyze`` reports.

``analyze_responses`` runs ``ctt.engine.analyze_by_group`` and ``flags.ctt_flags``; ``ClassicalReport`` gives
the tables of items.csv, options.csv, quantiles.csv, test.json and flags.csv (``OUTPUT_FILES``; written by
``workflows.analysis``) and the frames ``Bank.save_item_statistics`` stores. Nothing here computes a statistic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pandas as pd

from psychometrics import flags as flagging
from psychometrics.ctt.engine import DEFAULT_QUANTILES, DEFAULT_SPLIT_SEED, analyze_by_group
from psychometrics.ctt.results import GroupedAnalysis
from psychometrics.responses.matrix import ResponseMatrix

OUTPUT_FILES = ("items.csv", "options.csv", "quantiles.csv", "test.json", "flags.csv")


@dataclass(frozen=True, eq=False)
class ClassicalReport:
    """A grouped analysis with its flags and the thresholds that raised them."""

    analysis: GroupedAnalysis
    flags: tuple
    thresholds: object
    item_versions: Mapping[str, int] | None = None

    def items_frame(self) -> pd.DataFrame:
        """items.csv: one row per group × item, with the flag codes and the winning suggested action."""
        frame = self._with_versions(self.analysis.items_frame(), position=2)
        summaries = []
        for a in self.analysis.all:
            s = flagging.item_summary([f for f in self.flags if f.group == a.label], a.items.item_ids)
            s.insert(0, "group", a.label)
            summaries.append(s)
        summary = pd.concat(summaries, ignore_index=True)[["group", "item_id", "flags", "worst_severity",
                                                           "suggested_action"]]
        return frame.merge(summary, on=["group", "item_id"], how="left", sort=False)

    def flags_frame(self) -> pd.DataFrame:
        return flagging.flags_frame(self.flags)

    def _with_versions(self, frame: pd.DataFrame, position: int) -> pd.DataFrame:
        """``frame`` with a ``version`` column (the analysed version of each item) when versions are known."""
        if self.item_versions:
            frame.insert(position, "version", [self.item_versions.get(i) for i in frame["item_id"]])
        return frame

    def test_dict(self) -> dict:
        out = self.analysis.test_dict()
        out["corrected_correlations"] = self.analysis.combined.corrected
        out["omits_in_n"] = self.analysis.combined.omits_in_n
        out["not_reached_in_n"] = self.analysis.combined.not_reached_in_n
        out["pretest_items"] = [i for i, pre in zip(self.analysis.combined.items.item_ids,
                                                    self.analysis.combined.items.pretest) if pre]
        out["n_quantile_groups"] = self.analysis.combined.quantiles.n_groups
        out["flag_thresholds"] = self.thresholds.to_dict()
        return out


    def bank_statistics(self) -> list[tuple[str, pd.DataFrame]]:
        """(group label, frame) pairs for ``Bank.save_item_statistics``: item_id, version, n, p_value, ..."""
        out = []
        for a in self.analysis.all:
            frame = a.items.to_frame().drop(columns=["key"])
            frame["pretest"] = frame["pretest"].astype(int)
            out.append((a.label, self._with_versions(frame, position=1)))
        return out


def analyze_responses(responses: ResponseMatrix, *, group_column: str | None = None,
                      quantiles: int = DEFAULT_QUANTILES, areas: Mapping[str, str] | None = None,
                      corrected: bool = True, thresholds=None, item_versions: Mapping[str, int] | None = None,
                      split_seed: int | None = DEFAULT_SPLIT_SEED, pretest: Sequence[str] = (),
                      omits_in_n: bool = True, not_reached_in_n: bool = False) -> ClassicalReport:
    """Analyse everyone and each group, flag the items, and keep the thresholds used (``certbank analyze``)."""
    thresholds = thresholds or flagging.DEFAULT_THRESHOLDS
    grouped = analyze_by_group(responses, group_column, quantiles=quantiles, areas=areas, corrected=corrected,
                               split_seed=split_seed, pretest=tuple(pretest), omits_in_n=omits_in_n,
                               not_reached_in_n=not_reached_in_n)
    flags = flagging.merge_flags(*(flagging.ctt_flags(a, thresholds) for a in grouped.all))
    return ClassicalReport(analysis=grouped, flags=tuple(flags), thresholds=thresholds,
                           item_versions=item_versions)
