"""The Charts sheet of the item-analysis workbook: the score distribution with the cut, test information
and CSEM, and an option-by-score-group plot for each of the first items of the Action list (each option its
own colour-blind-safe colour, the key drawn thick and named "(key)").

Renders; computes nothing. The numbers behind each chart sit to the right of the print area, so the chart
stays live in Excel and LibreOffice and the printout shows the charts only.
"""
from __future__ import annotations

import pandas as pd

from reports import workbook as wbk

#: Quantile plots shown: the first items of the Action list.
N_ITEM_CHARTS = 4
#: Charts are 17 rows tall; two per printed landscape page.
CHART_ROWS = 19
#: The chart data starts in this column (T), right of the printed area A:Q.
DATA_COL = 20
PRINT_LAST_COL = "Q"


def charts_sheet(wb, report) -> None:
    ws = wb.create_sheet("Charts")
    wbk.write_title(ws, "Charts", "Where people look rather than read")
    col = DATA_COL
    anchors = iter(f"A{3 + CHART_ROWS * k}" for k in range(20))
    n_charts = 0
    dist = report.score_distribution
    if not dist.empty:
        frame = dist[["raw_score", "frequency"]].copy()
        cut = report.summary.get("cut")
        if cut is not None:
            frame["at_cut"] = [f if s == cut else 0 for s, f in zip(frame["raw_score"], frame["frequency"])]
        _, last = wbk.write_table(ws, frame, start_row=3, start_col=col, freeze=False, autofilter=False,
                                  headers={"raw_score": "Raw score", "frequency": "Candidates",
                                           "at_cut": "At the cut"})
        series = [(col + 1, 3, last)] + ([(col + 2, 3, last)] if cut is not None else [])
        chart = wbk.bar_chart(ws, "Score distribution" + (f" (cut = {cut}, red)" if cut is not None else ""),
                              "Raw score", "Candidates", (col, 3, last), series, next(anchors), width=16, height=8.5)
        chart.grouping = "stacked"
        chart.overlap = 100
        for s, colour in zip(chart.series, ("0072B2", "D55E00")):
            s.graphicalProperties.solidFill = colour
        col += len(frame.columns) + 1
        n_charts += 1
    info = report.information
    if not info.empty:
        frame = info[["theta", "information", "csem"]]
        _, last = wbk.write_table(ws, frame, start_row=3, start_col=col, freeze=False, autofilter=False,
                                  headers={"theta": "θ", "information": "Information", "csem": "CSEM"})
        for j, (title, y) in enumerate((("Test information", "Information"),
                                        ("Conditional standard error of θ", "CSEM"))):
            chart = wbk.line_chart(ws, title, "θ (ability)", y, (col, 3, last), [(col + 1 + j, 3, last)],
                                   next(anchors), width=16, height=8.5)
            wbk.colour_series(chart)
        col += 4
        n_charts += 2
    quant = report.quantiles
    actions = report.actions if report.actions is not None else pd.DataFrame()
    if not quant.empty and not actions.empty and {"item_id", "option", "group"} <= set(quant.columns):
        value_col = "proportion" if "proportion" in quant.columns else quant.columns[-1]
        keys = {}
        if "is_key" in quant.columns:
            keys = {i: o for i, o, k in zip(quant["item_id"], quant["option"], quant["is_key"]) if bool(k)}
        shown = 0
        for rec in actions.itertuples(index=False):
            if shown >= N_ITEM_CHARTS:
                break
            q = quant[(quant["item_id"] == rec.item_id)
                      & ~quant["option"].astype(str).isin(("omit", "not reached"))]
            if q.empty:
                continue
            wide = q.pivot_table(index="group", columns="option", values=value_col, aggfunc="first")
            key = keys.get(rec.item_id)
            names = {o: f"{o} (key)" if o == key else str(o) for o in wide.columns}
            wide = wide.rename(columns=names).reset_index().rename(columns={"group": f"{rec.item_id} score group"})
            wide.columns = [str(c) for c in wide.columns]
            _, last = wbk.write_table(ws, wide, start_row=3, start_col=col, freeze=False, autofilter=False,
                                      formats={c: "0.00" for c in wide.columns[1:]})
            series = [(col + j, 3, last) for j in range(1, len(wide.columns))]
            chart = wbk.line_chart(ws, f"{rec.item_id} ({rec.action}): share choosing each option, low → high "
                                   "scorers", "Score group (1 = lowest)", "Proportion", (col, 3, last), series,
                                   next(anchors), width=16, height=8.5)
            widths = [50000 if "(key)" in c else 22000 for c in wide.columns[1:]]
            wbk.colour_series(chart, widths=widths)
            for s, c in zip(chart.series, wide.columns[1:]):
                s.marker.symbol = "circle" if "(key)" in c else "none"
            col += len(wide.columns) + 1
            shown += 1
            n_charts += 1
    rows = 3 + CHART_ROWS * max(n_charts, 1)
    ws.print_area = f"A1:{PRINT_LAST_COL}{rows}"
    for c in range(1, 18):
        ws.column_dimensions[wbk.get_column_letter(c)].width = 8.43
    wbk.print_fit(ws, last_col=17, orientation="landscape", repeat_cols=None)
    for k in range(1, n_charts):  # two charts per page, never one cut in half
        if k % 2 == 0:
            from openpyxl.worksheet.pagebreak import Break
            ws.row_breaks.append(Break(id=2 + CHART_ROWS * k))
