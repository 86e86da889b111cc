"""Every chart of the board workbooks, laid out for print: the item-analysis Charts sheet (score distribution
with the cut, test information and CSEM, an option-by-score-group plot for each of the first items of the
Action list: each option its own colour-blind-safe colour, the key drawn thick and named "(key)"), the
standard-setting impact chart (pass rate by cut) and the form's TIF / TCC against their target bands.

Renders; computes nothing. The numbers behind each chart sit to the right of the print area, so the chart
stays live in Excel and LibreOffice and the printout shows the charts only. Charts sit in fixed slots of
``CHART_ROWS`` rows whose heights are set explicitly (LibreOffice and Excel disagree on the default row height,
so without that a chart spills over its page break), span the full printed width, and print two to a page.
"""
from __future__ import annotations

import pandas as pd
from openpyxl.chart import Reference, Series
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.worksheet.pagebreak import Break

from reports import workbook as wbk

#: Quantile plots shown: the first items of the Action list.
N_ITEM_CHARTS = 4
#: One chart slot: this many rows of ``ROW_POINTS`` points; two slots and the title fit a landscape page of
#: Letter or A4 at 100%.
CHART_ROWS = 16
ROW_POINTS = 15.0
#: Charts are this wide and tall (cm): the printed width of 16 columns of width 8 (10.2 inches), and a little
#: less than a slot.
CHART_WIDTH_CM = 25.0
CHART_HEIGHT_CM = 7.9
#: The printed columns A:P; the chart data starts in column T, right of them.
PRINT_COLS = 16
DATA_COL = 20
FIRST_SLOT_ROW = 3


def slot_anchors(first_row: int = FIRST_SLOT_ROW):
    """The anchor cell of each chart slot, top to bottom (an endless iterator)."""
    k = 0
    while True:
        yield f"A{first_row + CHART_ROWS * k}"
        k += 1


def chart_page(ws, n_charts: int, first_row: int = FIRST_SLOT_ROW) -> int:
    """Lay ``ws`` out as pages of chart slots (call it after the charts' data is written): fixed row heights,
    16 printed columns at 100% landscape, no repeated title rows (a repeated row prints a sliver of the first
    chart at the top of every page), a page break after every second chart. Returns the printed scale."""
    n = max(n_charts, 1)
    for r in range(1, first_row + CHART_ROWS * n + 1):
        ws.row_dimensions[r].height = ROW_POINTS
    for c in range(1, PRINT_COLS + 1):
        ws.column_dimensions[wbk.get_column_letter(c)].width = 8
    ws.print_area = f"A1:{wbk.get_column_letter(PRINT_COLS)}{first_row - 1 + CHART_ROWS * n}"
    scale = wbk.print_fit(ws, last_col=PRINT_COLS, orientation="landscape", repeat_cols=None)
    for chart in ws._charts:  # fill the slot whatever the chart's size in cm: LibreOffice shrinks cm sizes
        if isinstance(chart.anchor, str):
            top = int(chart.anchor.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1
            chart.anchor = TwoCellAnchor(_from=AnchorMarker(col=0, row=top),
                                         to=AnchorMarker(col=PRINT_COLS, row=top + CHART_ROWS - 1))
    ws._print_rows = None  # openpyxl's setter ignores None; write_table set the chart data's header row
    ws.freeze_panes = None
    for k in range(2, n, 2):
        ws.row_breaks.append(Break(id=first_row - 1 + CHART_ROWS * k))
    return scale


def charts_sheet(wb, report) -> None:
    ws = wb.create_sheet("Charts")
    wbk.write_title(ws, "Charts", "Where people look rather than read")
    col = DATA_COL
    anchors = slot_anchors()
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
                              "Raw score", "Candidates", (col, 3, last), series, next(anchors),
                              width=CHART_WIDTH_CM, height=CHART_HEIGHT_CM)
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
                                   next(anchors), width=CHART_WIDTH_CM, height=CHART_HEIGHT_CM)
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
                                   next(anchors), width=CHART_WIDTH_CM, height=CHART_HEIGHT_CM)
            widths = [50000 if "(key)" in c else 22000 for c in wide.columns[1:]]
            wbk.colour_series(chart, widths=widths)
            for s, c in zip(chart.series, wide.columns[1:]):
                s.marker.symbol = "circle" if "(key)" in c else "none"
            col += len(wide.columns) + 1
            shown += 1
            n_charts += 1
    chart_page(ws, n_charts)


def impact_chart(ws, curve: pd.DataFrame, cut=None, first_row: int = FIRST_SLOT_ROW) -> None:
    """The pass rate at each raw cut near the recommended one, a line per candidate group.

    ``curve``: raw_cut and one column of pass rates (proportions) per group, headed in words."""
    _, last = wbk.write_table(ws, curve, start_row=first_row, start_col=DATA_COL, freeze=False, autofilter=False,
                              formats={c: wbk.FORMATS["percent"] for c in curve.columns[1:]},
                              headers={"raw_cut": "Raw cut"})
    title = "Pass rate by raw cut" + (f" (recommended cut {cut:.1f})" if isinstance(cut, (int, float)) else "")
    series = [(DATA_COL + j, first_row, last) for j in range(1, len(curve.columns))]
    chart = wbk.line_chart(ws, title, "Raw cut (a candidate passes at or above it)", "Share passing",
                           (DATA_COL, first_row, last), series, next(slot_anchors(first_row)),
                           width=CHART_WIDTH_CM, height=CHART_HEIGHT_CM)
    wbk.colour_series(chart)
    for s in chart.series:
        s.smooth = False
        s.marker.symbol = "circle"
        s.marker.size = 7
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0.0, 1.0
    chart_page(ws, 1, first_row)


def curve_with_band(ws, curves: pd.DataFrame, prefix: str, title: str, y_title: str, col: int, anchor: str,
                    first_row: int = FIRST_SLOT_ROW):
    """The form's curve (``prefix`` = tif or tcc) with its target band drawn as two dashed lines, lower and
    upper, through the θ points the blueprint sets them at: lines, not markers or fills, because LibreOffice
    and Excel both draw dashed scatter lines the same way. Writes the data at ``col``; returns the next free
    column."""
    data = curves[["theta", prefix]]
    _, last = wbk.write_table(ws, data, start_row=first_row, start_col=col, freeze=False, autofilter=False,
                              formats={prefix: "0.00"}, headers={"theta": "θ", prefix: "This form"})
    chart = wbk.line_chart(ws, title, "θ (ability)", y_title, (col, first_row, last), [(col + 1, first_row, last)],
                           anchor, width=CHART_WIDTH_CM, height=CHART_HEIGHT_CM)
    wbk.colour_series(chart, widths=[32000])
    next_col = col + 3
    low, high = f"{prefix}_target_low", f"{prefix}_target_high"
    if {low, high} <= set(curves.columns):
        band = curves[["theta", low, high]].dropna(how="all", subset=[low, high])
        if not band.empty:
            _, blast = wbk.write_table(ws, band, start_row=first_row, start_col=next_col, freeze=False,
                                       autofilter=False, formats={low: "0.00", high: "0.00"},
                                       headers={"theta": "θ (target)", low: "Target: lower", high: "Target: upper"})
            x = Reference(ws, min_col=next_col, min_row=first_row + 1, max_row=blast)
            for j, colour in ((1, "D55E00"), (2, "D55E00")):
                s = Series(Reference(ws, min_col=next_col + j, min_row=first_row, max_row=blast), x,
                           title_from_data=True)
                s.smooth = False
                s.marker.symbol = "triangle" if j == 2 else "diamond"
                s.marker.size = 7
                s.graphicalProperties.line.solidFill = colour
                s.graphicalProperties.line.width = 22000
                s.graphicalProperties.line.dashStyle = "dash"
                chart.series.append(s)
            next_col += 4
    chart.legend.position = "b"
    return next_col
