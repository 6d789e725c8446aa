"""Kinetics outputs (SAP §9, §10): T-NCA, T-BIODIST, T-CYTO, F-PK, F-CYTO and the
generated text. Numbers come from the ARD; the individual curves of the figures are
graphical listings of ADPC / ADCYT records (like listings, they show records)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ard import ARD, OVERALL
from analysis.atomic import atomic_path
from analysis.kinetics import (ANALYTES, CRS_GROUPS, CRS_LABEL, CYTOKINE_LABEL, CYTOKINES,
                               PP_LABEL, PP_PARAMS, TIME_PARAMS, profile_label)
from analysis.tables import Table, sci

PRODUCT_TITLE = {"CAR-NK": "CAR-NK", "CAR-T": "CAR-T"}
SMALL = "†"
CYTO_DAYS = 42.0  # F-CYTO shows the first 6 weeks (CAR-NK, both CAR-T cycles, the CRS window)
PK_PROFILES = [("CAR-T", "CARDNA"), ("CAR-T", "CART"), ("CAR-NK", "CARDNA"), ("CAR-NK", "CARNK")]


# --------------------------------------------------------------------------- formatting

def sig3(x: float | None) -> str:
    """Three significant digits, thousands separated, no exponent (11358 -> 11,400)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NC"
    if x == 0:
        return "0"
    d = 2 - int(math.floor(math.log10(abs(x))))
    r = round(x, d)
    return f"{r:,.{d}f}" if d > 0 else f"{r:,.0f}"


def fmt_day(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NC"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def fmt_pct1(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NC"
    return f"{x:.1f}"


def fmt_p(p: float) -> str:
    if math.isnan(p):
        return "NC"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _num(a: ARD, analysis, variable, stat, group=OVERALL, gl=OVERALL, vl="") -> float:
    try:
        return a.num(analysis, variable, stat, group, gl, vl)
    except KeyError:
        return math.nan


def status(a: ARD) -> tuple[bool, str]:
    done = a.get("kinetics", "PC", "status") == "done"
    reason = "" if done else a.get("kinetics", "PC", "reason")
    return done, reason


def unit_of(analyte: str, param: str) -> str:
    u = ANALYTES.get(analyte, ("", ""))[1]
    if param in TIME_PARAMS:
        return "day"
    if param.startswith("AUC"):
        return f"{u}·day"
    return u


def _nk_dose(cfg: dict) -> str:
    d = cfg.get("car_nk_dose") or {}
    tot = sum(v for v in d.values() if isinstance(v, (int, float)))
    return f"{sci(tot)} cells" if tot else "fixed dose"


# --------------------------------------------------------------------------- tables

def not_done_table(tid: str, title: str, reason: str) -> str:
    """Markdown written in place of a table whose analysis was not done."""
    return f"**{tid}. {title}:** not done — {reason}.\n"


def table_nca(a: ARD, cfg: dict) -> Table:
    """T-NCA: NCA parameters by product, route and CAR-T dose level (kinetics set)."""
    levels = cfg["dose_levels"]
    small = int(cfg.get("small_group_n", 3))
    end = float(a.get("kinetics", "SETTINGS", "auc_end_day"))
    n_pk = a.int("sets", "KINETICS", "n")
    rows: list[list[str]] = []
    flagged = False
    for prod, an in PK_PROFILES:
        vl = profile_label(prod, an)
        if not len(a.select(analysis="nca", variable_level=vl)):
            continue
        route = a.get("nca", "ROUTE", "route", variable_level=prod).lower() or "route not recorded"
        rows.append([f"**{prod} ({route}) — {ANALYTES[an][0]}, blood**"] + [""] * 7)
        groups = [(OVERALL, OVERALL, "All")]
        if prod == "CAR-T":
            groups = [("DOSELVL", lvl, lvl) for lvl in levels] + groups
        for k in PP_PARAMS:
            lbl = PP_LABEL[k] if k != "AUC028" else f"AUC0-{end:g}d"
            first = True
            for g, gl, head in groups:
                n = _num(a, "nca", k, "n", g, gl, vl)
                if math.isnan(n):
                    continue
                nc = int(_num(a, "nca", k, "n_missing", g, gl, vl))
                if n == 0 and nc == 0:
                    continue
                f = fmt_day if k in TIME_PARAMS else sig3
                mn, mx = _num(a, "nca", k, "min", g, gl, vl), _num(a, "nca", k, "max", g, gl, vl)
                flag = SMALL if 0 < n + nc < small else ""
                flagged |= bool(flag)
                rows.append([
                    f"\u2003{lbl} ({unit_of(an, k)})" if first else "",
                    head + flag, str(int(n)), str(nc),
                    "–" if k in TIME_PARAMS else sig3(_num(a, "nca", k, "geomean", g, gl, vl)),
                    "–" if k in TIME_PARAMS else fmt_pct1(_num(a, "nca", k, "geocv", g, gl, vl)),
                    f(_num(a, "nca", k, "median", g, gl, vl)),
                    f"{f(mn)}–{f(mx)}" if n else "NC",
                ])
                first = False
    notes = [
        "Blood. Times in days since the first infusion of the product (day 0). CAR-NK by hepatic "
        f"artery infusion on days 0 and 1 ({_nk_dose(cfg)} in all, a fixed dose: no dose-level rows); "
        "CAR-T intravenously on days 0 and 1 of each cycle. Group = CAR-T dose level actually given "
        "(cells/kg per infusion): " + ", ".join(f"{lvl} {sci(v)}" for lvl, v in levels.items()) + ".",
        "n = subjects with the parameter; NC = not computed (no quantifiable sample; fewer than 2 "
        f"quantifiable samples for an AUC; AUC0-{end:g}d when sampling stopped before day {end:g} with a "
        "quantifiable value — each reason per subject in ADPP). Geo. = geometric; CV% = "
        "100·sqrt(exp(s²) − 1), s = SD of the log values; time parameters: median and range only.",
        "Below LLOQ: 0 before the first quantifiable value, missing after it. AUC by the linear-up "
        f"log-down trapezoid; AUC0-{end:g}d interpolated at day {end:g}, or the area to Tlast when the "
        f"samples after Tlast up to day {end:g} or to the end of sampling were below LLOQ. "
        "Persistence = last day with a quantifiable value.",
    ]
    if flagged:
        notes.append(f"{SMALL} fewer than {small} subjects in the group.")
    return Table(id="T-NCA", title="Cellular kinetics: non-compartmental parameters by product, route and dose level",
                 population=f"kinetics set, N = {n_pk}",
                 columns=["Parameter (unit)", "Group", "n", "NC", "Geo. mean", "Geo. CV%", "Median", "Min–Max"],
                 rows=rows, footnotes=notes)


def table_biodist(a: ARD, cfg: dict) -> Table:
    """T-BIODIST: tissue-to-blood ratio of the CAR transgene by specimen."""
    win = a.get("kinetics", "SETTINGS", "biodist_window_days")
    sel = a.select(analysis="biodist", group=OVERALL, stat="n_samples")
    rows = []
    reasons = []
    for vl in sel["variable_level"]:
        spec, an = vl.split("/")
        n = int(_num(a, "biodist", "TBRATIO", "n", vl=vl))
        rows.append([spec.capitalize(), ANALYTES.get(an, (an,))[0],
                     str(int(_num(a, "biodist", "TBRATIO", "n_samples", vl=vl))), str(n),
                     str(int(_num(a, "biodist", "TBRATIO", "n_subjects", vl=vl))),
                     sig3(_num(a, "biodist", "TBRATIO", "geomean", vl=vl)) if n else "NC",
                     sig3(_num(a, "biodist", "TBRATIO", "median", vl=vl)) if n else "NC",
                     f"{sig3(_num(a, 'biodist', 'TBRATIO', 'min', vl=vl))}–{sig3(_num(a, 'biodist', 'TBRATIO', 'max', vl=vl))}" if n else "NC"])
        for r in a.select(analysis="biodist", group="reason", variable_level=vl).itertuples():
            reasons.append(f"{spec.capitalize()}: {r.group_level} ({int(float(r.value))}).")
    if not rows:
        rows = [["No tissue or ascites sample", "", "", "", "", "", "", ""]]
    notes = [f"Ratio = tissue (or ascites) value ÷ the blood value of the same subject and analyte "
             f"nearest in time, at most {win} days apart; computed when both are quantifiable."]
    if reasons:
        notes.append("Not computed: " + " ".join(reasons))
    return Table(id="T-BIODIST", title="Biodistribution: tissue-to-blood ratio",
                 population=f"kinetics set, N = {a.int('sets', 'KINETICS', 'n')}",
                 columns=["Specimen", "Analyte", "Samples", "Ratios", "Subjects", "Geo. mean", "Median", "Min–Max"],
                 rows=rows, footnotes=notes)


def table_cytokines(a: ARD, cfg: dict) -> Table:
    """T-CYTO: peak fold change from baseline per cytokine by worst CRS grade."""
    small = int(cfg.get("small_group_n", 3))
    groups = [("CRSGR", gl, CRS_LABEL[gl]) for gl in CRS_GROUPS] + [(OVERALL, OVERALL, "All")]
    big_n = {gl: int(_num(a, "cytokine", "SUBJECTS", "n", g, gl)) for g, gl, _ in groups}
    heads, flagged = [], False
    for g, gl, lbl in groups:
        flag = SMALL if 0 < big_n[gl] < small else ""
        flagged |= bool(flag)
        heads.append(f"{lbl} (N = {big_n[gl]}){flag}")
    rows = []
    for cd in CYTOKINES:
        cells = []
        for g, gl, _ in groups:
            n = _num(a, "cytokine", cd, "n", g, gl, "PEAKFC")
            if math.isnan(n) or n == 0:
                cells.append("–")
                continue
            cell = (f"{sig3(_num(a, 'cytokine', cd, 'median', g, gl, 'PEAKFC'))} "
                    f"({sig3(_num(a, 'cytokine', cd, 'min', g, gl, 'PEAKFC'))}–"
                    f"{sig3(_num(a, 'cytokine', cd, 'max', g, gl, 'PEAKFC'))})")
            if int(n) != big_n[gl]:
                cell += f" [n = {int(n)}]"
            cells.append(cell)
        rows.append([CYTOKINE_LABEL[cd]] + cells)
    notes = ["Median (min–max) over subjects of the peak post-baseline value ÷ baseline (the last value "
             "on or before the first infusion), all post-baseline values up to the data cut. Columns: "
             "worst grade of cytokine release syndrome (AE, ASTCT 2019) per subject; n shown where "
             "fewer subjects than N had a baseline and a post-baseline value."]
    if flagged:
        notes.append(f"{SMALL} fewer than {small} subjects in the group.")
    return Table(id="T-CYTO", title="Cytokines: peak fold change from baseline by worst CRS grade",
                 population=f"safety set, subjects with cytokine results, N = {big_n[OVERALL]}",
                 columns=["Cytokine"] + heads, rows=rows, footnotes=notes,
                 spanners=[("Worst CRS grade", 1, len(groups) - 1)])


# --------------------------------------------------------------------------- figures

def _theme(base_size: float = 10):
    from plotnine import element_blank, element_line, element_rect, element_text, theme, theme_bw
    return theme_bw(base_size=base_size) + theme(
        panel_grid_minor=element_blank(),
        panel_grid_major=element_line(color="#e3e3e3", size=0.4),
        strip_background=element_rect(fill="#eef2f6", color="#8a8a8a"),
        strip_text=element_text(weight="bold"),
        legend_position="bottom",
        legend_title=element_text(size=base_size * 0.9),
        legend_text=element_text(size=base_size * 0.9),
    )


def save_figure(plot, png: Path | str, svg: Path | str, width: float, height: float) -> None:
    """PNG (150 dpi) and SVG, deterministic (analysis.figures)."""
    from analysis.figures import save_plot
    save_plot(plot, png, svg, width, height)


def placeholder_figure(text: str, png, svg) -> None:
    """A small figure that only says why there is none (kept for the file layout; the
    report does not show it)."""
    from plotnine import aes, annotate, ggplot, theme_void
    p = ggplot(pd.DataFrame({"x": [0]}), aes("x")) + annotate("text", x=0, y=0, label=text, size=11) + theme_void()
    save_figure(p, png, svg, 6, 1.2)


def _log_labels(breaks):
    return [f"{b:,.0f}" if b >= 1 else f"{b:g}" for b in breaks]


def figure_pk(a: ARD, adpc: pd.DataFrame, cfg: dict, png, svg) -> None:
    """F-PK: CAR transgene in blood over time, individual (dose-level colours) and median
    (black) curves, log scale, one panel per product, infusions marked."""
    from plotnine import (aes, facet_wrap, geom_hline, geom_line, geom_point, geom_segment, ggplot, labs,
                          scale_color_manual, scale_x_continuous, scale_y_log10)
    levels = list(cfg["dose_levels"])
    d = adpc[(adpc["PCSPEC"] == "BLOOD") & (adpc["PARAMCD"] == "CARDNA") & (adpc["PKFL"] == "Y")
             & adpc["AVAL"].notna()].copy()
    panel = {p: f"{p} ({a.get('nca', 'ROUTE', 'route', variable_level=p).lower() or 'route not recorded'})"
             for p in ("CAR-NK", "CAR-T") if len(a.select(analysis="nca", variable="ROUTE", variable_level=p))}
    order = [panel[p] for p in ("CAR-NK", "CAR-T") if p in panel]
    d = d[d["PRODUCT"].isin(list(panel))]
    if not len(d):
        placeholder_figure("F-PK: no quantifiable CAR transgene sample in blood", png, svg)
        return
    d["panel"] = pd.Categorical(d["PRODUCT"].map(panel), categories=order)
    d["t"] = d["NCATIME"]
    nk_lbl = "CAR-NK (fixed dose)"
    d["colour"] = np.where(d["PRODUCT"] == "CAR-NK", nk_lbl, d["DOSELVL"].fillna("?"))
    # the median per calendar day from the ARD
    med = []
    for prod in panel:
        sel = a.select(analysis="conc_time", variable_level=profile_label(prod, "CARDNA"), stat="median")
        for r in sel.itertuples():
            if r.value != "":
                med.append((panel[prod], float(r.group_level), float(r.value)))
    med = pd.DataFrame(med, columns=["panel", "t", "v"]).sort_values(["panel", "t"])
    med["panel"] = pd.Categorical(med["panel"], categories=order)
    inf = []
    for prod in panel:
        for r in a.select(analysis="infusion", variable_level=prod, stat="n").itertuples():
            inf.append((panel[prod], float(r.group_level), int(float(r.value))))
    inf = pd.DataFrame(inf, columns=["panel", "t", "n"])
    inf["panel"] = pd.Categorical(inf["panel"], categories=order)
    lloq = float(d["LLOQ"].dropna().min()) if d["LLOQ"].notna().any() else None
    ymin = lloq / 2 if lloq else float(d["AVAL"].min()) / 2
    ymax = float(d["AVAL"].max()) * 2.5
    inf["y0"], inf["y1"] = ymin, ymin * 1.6
    palette = {nk_lbl: "#7f7f7f"}
    cols = ["#4e9a06", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b"]
    for i, lvl in enumerate(levels):
        palette[lvl] = cols[i % len(cols)]
    palette["?"] = "#bcbd22"
    present = [k for k in palette if k in set(d["colour"])]
    breaks_y = [10 ** k for k in range(int(math.floor(math.log10(ymin))), int(math.ceil(math.log10(ymax))) + 1)]
    breaks_x = [0, 1, 3, 7, 14, 28, 56, 84, 112, 168, 224, 280, 336]
    p = (ggplot()
         + geom_line(d, aes("t", "AVAL", group="USUBJID", color="colour"), size=0.5, alpha=0.75)
         + geom_point(d, aes("t", "AVAL", color="colour"), size=0.9, alpha=0.75)
         + geom_line(med, aes("t", "v"), size=1.3, color="black")
         + geom_point(med, aes("t", "v"), size=1.8, color="black")
         + geom_segment(inf, aes(x="t", xend="t", y="y0", yend="y1"), color="#1a1a1a", size=1.4)
         + facet_wrap("panel", scales="free_x", ncol=2)
         + scale_y_log10(minor_breaks=[], breaks=breaks_y, labels=_log_labels(breaks_y), limits=(ymin, ymax))
         + scale_x_continuous(minor_breaks=[], trans="sqrt", breaks=breaks_x)
         + scale_color_manual(values=palette, breaks=present, name="Individual curves (CAR-T dose level):")
         + labs(x="Days since the first infusion of the product (day 0; square-root scale)",
                y="CAR transgene in blood\n(copies/µg gDNA, log scale)")
         + _theme(11))
    if lloq:
        p = p + geom_hline(yintercept=lloq, linetype="dotted", color="#555555")
    save_figure(p, png, svg, 8.5, 4.8)


def figure_cytokines(a: ARD, adcyt: pd.DataFrame, cfg: dict, png, svg, max_day: float = CYTO_DAYS) -> None:
    """F-CYTO: fold change from baseline over the first weeks, one panel per cytokine,
    one line per subject coloured by worst CRS grade."""
    from plotnine import (aes, annotate, facet_wrap, geom_hline, geom_line, geom_vline, ggplot, labs,
                          scale_color_manual, scale_x_continuous, scale_y_log10)
    d = adcyt[adcyt["R2BASE"].notna() & (adcyt["ARELTM"] >= -1) & (adcyt["ARELTM"] <= max_day)].copy()
    if not len(d):
        placeholder_figure(f"F-CYTO: no cytokine result in the first {max_day:g} days", png, svg)
        return
    d["panel"] = pd.Categorical(d["PARAMCD"].map(CYTOKINE_LABEL), categories=[CYTOKINE_LABEL[c] for c in CYTOKINES])
    d["CRS"] = pd.Categorical(d["CRSGR"].map(CRS_LABEL), categories=[CRS_LABEL[g] for g in CRS_GROUPS])
    palette = dict(zip([CRS_LABEL[g] for g in CRS_GROUPS], ["#8da0cb", "#fdb863", "#e66101", "#8b0000"]))
    lo = max(float(d["R2BASE"].min()), 0.05)
    hi = float(d["R2BASE"].max())
    breaks = [b for b in (0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000) if lo / 1.5 <= b <= hi * 1.5]
    p = (ggplot(d.sort_values(["CRSGRN", "USUBJID", "ARELTM"]),
                aes("ARELTM", "R2BASE", group="USUBJID", color="CRS"))
         + geom_hline(yintercept=1, color="#555555", linetype="dotted")
         + geom_line(size=0.6, alpha=0.85)
         + facet_wrap("panel", ncol=4)
         + scale_y_log10(minor_breaks=[], breaks=breaks, labels=[f"{b:g}" for b in breaks])
         + scale_x_continuous(minor_breaks=[], breaks=list(range(0, int(max_day) + 1, 7)), limits=(-1, max_day))
         + scale_color_manual(values=palette, drop=False, name="Worst CRS grade:")
         + labs(x="Days since the first infusion (CAR-NK day 0)", y="Fold change from baseline (log scale)")
         + _theme(11.5))
    med = _num(a, "kinetics", "CART_START_DAY", "median")
    if not math.isnan(med):
        p = p + geom_vline(xintercept=med, linetype="dashed", color="#1a1a1a", size=0.5)
    save_figure(p, png, svg, 8.5, 5.8)


# --------------------------------------------------------------------------- text

def _range(a, analysis, var, vl, g=OVERALL, gl=OVERALL, f=sig3) -> str:
    return f"{f(_num(a, analysis, var, 'min', g, gl, vl))}–{f(_num(a, analysis, var, 'max', g, gl, vl))}"


def kinetics_paragraph(a: ARD, cfg: dict) -> str:
    """The generated kinetics text (every number from the ARD)."""
    done, reason = status(a)
    end = float(a.get("kinetics", "SETTINGS", "auc_end_day"))
    out = []
    if not done:
        out.append(f"The cellular kinetics analysis (non-compartmental parameters, concentration–time "
                   f"curves, biodistribution and the Cmax correlation) was not done: {reason}. "
                   f"The cytokines (LB) are reported below.")
    else:
        n_pk = a.int("sets", "KINETICS", "n")
        vl = profile_label("CAR-T", "CARDNA")
        if len(a.select(analysis="nca", variable_level=vl)):
            n = int(_num(a, "nca", "CMAX", "n", vl=vl))
            ong = int(_num(a, "nca", "PERSIST", "n_ongoing", vl=vl))
            by_lvl = []
            for lvl in cfg["dose_levels"]:
                k = _num(a, "nca", "CMAX", "n", "DOSELVL", lvl, vl)
                if not math.isnan(k) and k > 0:
                    by_lvl.append(f"{lvl} {sig3(_num(a, 'nca', 'CMAX', 'geomean', 'DOSELVL', lvl, vl))} (n = {int(k)})")
            out.append(
                f"In the kinetics set (N = {n_pk}), the CAR transgene in blood expanded after the first CAR-T "
                f"infusion to a median Cmax of {sig3(_num(a, 'nca', 'CMAX', 'median', vl=vl))} copies/µg gDNA "
                f"(geometric mean {sig3(_num(a, 'nca', 'CMAX', 'geomean', vl=vl))}, geometric CV "
                f"{fmt_pct1(_num(a, 'nca', 'CMAX', 'geocv', vl=vl))}%; n = {n}) at a median Tmax of day "
                f"{fmt_day(_num(a, 'nca', 'TMAX', 'median', vl=vl))} (range {_range(a, 'nca', 'TMAX', vl, f=fmt_day)}), "
                f"then contracted; the median AUC0-{end:g}d was {sig3(_num(a, 'nca', 'AUC028', 'median', vl=vl))} "
                f"copies/µg gDNA·day. The transgene remained quantifiable up to a median of day "
                f"{fmt_day(_num(a, 'nca', 'PERSIST', 'median', vl=vl))} (range {_range(a, 'nca', 'PERSIST', vl, f=fmt_day)}), "
                f"and {ong} of {n} subjects were still quantifiable at their last sample. "
                + (f"Geometric mean Cmax by CAR-T dose level: {'; '.join(by_lvl)} (@tbl-nca, @fig-pk)." if by_lvl else ""))
        vl = profile_label("CAR-NK", "CARDNA")
        if len(a.select(analysis="nca", variable_level=vl)):
            cells = profile_label("CAR-NK", "CARNK")
            txt = (f"After the hepatic-artery CAR-NK infusions, the CAR transgene in blood reached a median Cmax "
                   f"of {sig3(_num(a, 'nca', 'CMAX', 'median', vl=vl))} copies/µg gDNA at a median of day "
                   f"{fmt_day(_num(a, 'nca', 'TMAX', 'median', vl=vl))}")
            if len(a.select(analysis="nca", variable_level=cells)):
                txt += (f"; CAR+ NK cells peaked at a median of {sig3(_num(a, 'nca', 'CMAX', 'median', vl=cells))} "
                        f"cells/µL and were last quantifiable at a median of day "
                        f"{fmt_day(_num(a, 'nca', 'PERSIST', 'median', vl=cells))} "
                        f"(range {_range(a, 'nca', 'PERSIST', cells, f=fmt_day)})")
            out.append(txt + ".")
        bio = a.select(analysis="biodist", group=OVERALL, stat="n")
        parts = []
        for r in bio.itertuples():
            spec = r.variable_level.split("/")[0].lower()
            n = int(float(r.value))
            if n:
                parts.append(f"{spec} {sig3(_num(a, 'biodist', 'TBRATIO', 'median', vl=r.variable_level))} "
                             f"(range {_range(a, 'biodist', 'TBRATIO', r.variable_level)}; "
                             f"{n} {'sample' if n == 1 else 'samples'})")
        if parts:
            out.append("The median tissue-to-blood ratio of the CAR transgene was " + ", ".join(parts) + " (@tbl-biodist).")
        else:
            out.append("No tissue-to-blood ratio could be computed (@tbl-biodist).")
    # cytokines (LB) do not need PC
    il6 = []
    for gl in CRS_GROUPS:
        n = _num(a, "cytokine", "IL6", "n", "CRSGR", gl, "PEAKFC")
        if not math.isnan(n) and n > 0:
            who = "no CRS" if gl == "0" else f"worst CRS {CRS_LABEL[gl].lower()}"
            il6.append(f"{sig3(_num(a, 'cytokine', 'IL6', 'median', 'CRSGR', gl, 'PEAKFC'))} ({who}, n = {n:.0f})")
    if il6:
        out.append("The median peak IL-6 fold change from baseline was " + ", ".join(il6) + " (@tbl-cyto, @fig-cyto).")
    cor = []
    labels = {f"CMAX {profile_label('CAR-T', 'CARDNA')}": "CAR-T Cmax (transgene, blood)",
              f"CMAX {profile_label('CAR-NK', 'CARDNA')}": "CAR-NK Cmax (transgene, blood)",
              "NKGLHS": "the highest NKG2D-ligand H-score"}
    for vl, lbl in labels.items():
        sel = a.select(analysis="correlation", variable_level=vl)
        if not len(sel):
            continue
        rho = _num(a, "correlation", "BESTPCHG", "rho", vl=vl)
        n = int(_num(a, "correlation", "BESTPCHG", "n", vl=vl))
        if math.isnan(rho):
            why = a.get("correlation", "BESTPCHG", "reason", variable_level=vl)
            cor.append(f"{lbl}: not computed ({why})")
        else:
            pv = fmt_p(_num(a, "correlation", "BESTPCHG", "p", vl=vl))
            pv = pv if pv.startswith("<") else f"= {pv}"
            cor.append(f"{lbl}: ρ = {rho:.2f} (p {pv}, n = {n})".replace("= -", "= −"))
    if cor:
        out.append("Exploratory Spearman correlations with the best percentage change of the target-lesion "
                   "sum from baseline (efficacy set; p-values descriptive, not adjusted for multiplicity) — "
                   + "; ".join(cor) + ".")
    return "\n\n".join(out) + "\n"


def figure_block_pk(a: ARD, cfg: dict) -> str:
    done, reason = status(a)
    if not done:
        return f"F-PK (concentration–time curves) not done: {reason}.\n"
    n = a.int("sets", "KINETICS", "n")
    return ("![F-PK. CAR transgene (qPCR) in blood over time by product: individual curves (coloured by "
            "CAR-T dose level; grey: CAR-NK) and the median per day (black; shown where at least "
            f"{int(cfg.get('small_group_n', 3))} subjects were sampled and the median was quantifiable). "
            "Quantifiable values only; dotted line: LLOQ; black ticks at the bottom: infusion days "
            f"(kinetics set, N = {n}).](_generated/figures/F-PK.png){{#fig-pk}}\n")


def figure_block_cyto(a: ARD, cfg: dict) -> str:
    n = int(_num(a, "cytokine", "SUBJECTS", "n"))
    if math.isnan(n) or n == 0:
        return "F-CYTO not shown: no cytokine results (LB, LBCAT CYTOKINE) in the safety set.\n"
    med = _num(a, "kinetics", "CART_START_DAY", "median")
    cart = (f" Dashed line: median day of the first CAR-T infusion (day {fmt_day(med)}, range "
            f"{_range(a, 'kinetics', 'CART_START_DAY', '', f=fmt_day)}).") if not math.isnan(med) else ""
    return (f"![F-CYTO. Cytokines: fold change from baseline in the first {CYTO_DAYS:g} days after the first infusion, "
            f"one line per subject, coloured by worst CRS grade.{cart} Dotted line: baseline "
            f"(safety set, subjects with cytokine results, N = {n}).](_generated/figures/F-CYTO.png){{#fig-cyto}}\n")
