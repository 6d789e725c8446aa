"""Efficacy figures (plotnine): F-KM-PFS, F-KM-OS from the ARD (`km_curve`,
`km_risk`, `km`); the subject-level figures F-WATERFALL, F-SPIDER, F-SWIMMER are
graphical listings of ADaM records (ADTR, ADRS, ADSL, EX infusion dates).

Saved as PNG (150 dpi) and SVG, deterministic (analysis.figures.save_plot)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from plotnine import (aes, annotate, element_blank, element_text, geom_col, geom_hline, geom_line,
                      geom_point, geom_segment, geom_step, geom_text, ggplot, guide_legend,
                      guides, labs, scale_color_manual, scale_fill_manual, scale_shape_manual,
                      scale_x_continuous, scale_y_continuous, theme, theme_bw)

from analysis.ard import ARD, NO_CART, OVERALL
from analysis.efficacy import MONTH

RESP_COLOURS = {"CR": "#1a7837", "PR": "#5aae61", "SD": "#4575b4", "NON-CR/NON-PD": "#91bfdb",
                "PD": "#d73027", "NE": "#999999", "MISSING": "#cccccc"}
GROUP_COLOURS = ["#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#0072b2", "#d55e00"]


def save_figure(p, png, svg, width: float, height: float) -> None:
    """PNG (150 dpi) and SVG, written atomically, without dates (analysis.figures)."""
    from analysis.figures import save_plot
    save_plot(p, png, svg, width, height)


def _base_theme():
    return theme_bw(base_size=9) + theme(legend_position="bottom", panel_grid_minor=element_blank())


def group_colours(levels: list[str]) -> dict[str, str]:
    cols = {lvl: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, lvl in enumerate(levels)}
    cols["No CAR-T"] = "#777777"
    cols["Overall"] = "#000000"
    return cols


def _subject_label(u: str) -> str:
    return str(u).split("-")[-1]


def _dose(x) -> str:
    return "No CAR-T" if x is None or pd.isna(x) else str(x)


# --------------------------------------------------------------------------- KM

def km_plot(ard: ARD, variable: str, title: str, levels: list[str]):
    """Kaplan-Meier curves overall and per dose level, numbers at risk under the time
    axis at the same x positions (one panel, so they cannot drift)."""
    groups = [(OVERALL, OVERALL, "Overall")] + [("DOSELVL", lvl, lvl) for lvl in levels] + \
             [("DOSELVL", NO_CART, "No CAR-T")]
    groups = [g for g in groups if ard.int("km", variable, "n", g[0], g[1]) > 0]
    curves, marks, risk = [], [], []
    for g, gl, name in groups:
        c = ard.select(analysis="km_curve", variable=variable, group=g, group_level=gl)
        w = c[c["stat"] != "reason"].pivot(index="variable_level", columns="stat", values="value")
        w = w.apply(pd.to_numeric, errors="coerce")
        w["t"] = w.index.astype(float) / MONTH
        w = w.sort_values("t")
        pts = pd.DataFrame({k: np.r_[v0, w[k].to_numpy(dtype=float)]
                            for k, v0 in (("t", 0.0), ("surv", 1.0), ("surv_lcl", 1.0), ("surv_ucl", 1.0))})
        pts["group"] = name
        curves.append(pts)
        cm = w[w["n_censor"] > 0][["t", "surv"]].assign(group=name)
        marks.append(cm)
        r = ard.select(analysis="km_risk", variable=variable, group=g, group_level=gl)
        risk.append(pd.DataFrame({"t": r["variable_level"].astype(float).values / MONTH,
                                  "n": r["value"].astype(float).astype(int).values, "group": name}))
    curves = pd.concat(curves, ignore_index=True)
    marks = [m for m in marks if len(m)]
    marks = (pd.concat(marks, ignore_index=True) if marks
             else pd.DataFrame({"t": pd.Series(dtype=float), "surv": pd.Series(dtype=float), "group": []}))
    risk = pd.concat(risk, ignore_index=True)
    names = [n for _, _, n in groups]
    order = pd.Categorical(curves["group"], categories=names)
    curves["group"] = order
    marks["group"] = pd.Categorical(marks["group"], categories=names)
    step = 0.085
    ypos = {n: -0.16 - step * i for i, n in enumerate(names)}
    risk["y"] = risk["group"].map(ypos)
    risk["group"] = pd.Categorical(risk["group"], categories=names)
    grid = sorted(set(risk["t"].round(9)))
    xmax = max(grid[-1] if grid else 1.0, float(curves["t"].max()))
    colours = group_colours(levels)
    band = curves[(curves["group"] == "Overall") & curves["surv_lcl"].notna() & curves["surv_ucl"].notna()].copy()
    ybreaks = [0, 0.25, 0.5, 0.75, 1.0] + [ypos[n] for n in names]
    ylabels = ["0", "25", "50", "75", "100"] + names
    top = curves["group"] == "Overall"
    p = (ggplot()
         + geom_hline(yintercept=[0, 0.25, 0.5, 0.75, 1.0], color="#e5e5e5", size=0.4)
         + geom_step(aes("t", "surv_lcl"), data=band, direction="hv", color="#aaaaaa", linetype="dashed", size=0.4)
         + geom_step(aes("t", "surv_ucl"), data=band, direction="hv", color="#aaaaaa", linetype="dashed", size=0.4)
         + geom_step(aes("t", "surv", color="group"), data=curves[~top], direction="hv", size=0.7)
         + geom_step(aes("t", "surv", color="group"), data=curves[top], direction="hv", size=1.0)
         + geom_point(aes("t", "surv", color="group"), data=marks, shape="+", size=3.5)
         + geom_text(aes("t", "y", label="n", color="group"), data=risk, size=7, show_legend=False)
         + annotate("text", x=0, y=-0.09, label="Number at risk", ha="left", size=7, fontweight="bold")
         + geom_hline(yintercept=-0.045, color="#888888", size=0.3)
         + scale_color_manual(values=[colours[n] for n in names], breaks=names)
         + scale_x_continuous(minor_breaks=[], breaks=grid, labels=[f"{g:g}" for g in np.round(grid, 6)],
                              limits=(-0.02 * xmax, xmax * 1.03), expand=(0, 0))
         + scale_y_continuous(minor_breaks=[], breaks=ybreaks, labels=ylabels, limits=(min(ypos.values()) - 0.06, 1.03),
                              expand=(0, 0))
         + labs(x="Months since study day 1", y="Probability (%)", title=title,
                color="Overall (dashed: its 95% log-log CI) and CAR-T dose level")
         + _base_theme()
         + theme(panel_grid_major_y=element_blank(), figure_size=(7, 4.6 + 0.18 * len(names))))
    return p


# --------------------------------------------------------------------------- waterfall

def waterfall_data(adtr: pd.DataFrame, adrs: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    best = adtr[adtr["BESTFL"].eq("Y").fillna(False)][["USUBJID", "PCHG"]]
    cbor = adrs[adrs["PARAMCD"].eq("CBOR")].set_index("USUBJID")["AVALC"]
    a = adsl[adsl["EFFFL"].eq("Y")].set_index("USUBJID")
    d = best[best["USUBJID"].isin(a.index)].copy()
    d["CBOR"] = d["USUBJID"].map(cbor).fillna("MISSING")
    d["DOSE"] = d["USUBJID"].map(a["DOSELVL"]).map(_dose)
    d = d.sort_values(["PCHG", "USUBJID"], ascending=[False, True]).reset_index(drop=True)
    d["x"] = np.arange(1, len(d) + 1)
    d["label"] = [f"{dl}\n{_subject_label(u)}" for dl, u in zip(d["DOSE"], d["USUBJID"])]
    return d


def waterfall_plot(d: pd.DataFrame, n_eff: int):
    cats = [c for c in RESP_COLOURS if c in set(d["CBOR"])]
    d = d.assign(CBOR=pd.Categorical(d["CBOR"], categories=cats))
    lim_lo = min(-100, float(d["PCHG"].min()) - 5) if len(d) else -100
    lim_hi = max(40, float(d["PCHG"].max()) + 10) if len(d) else 40
    d["ty"] = np.where(d["PCHG"] >= 0, d["PCHG"] + 2.5, d["PCHG"] - 2.5)
    d["va"] = np.where(d["PCHG"] >= 0, "bottom", "top")
    d["txt"] = [f"{v:+.0f}%" for v in d["PCHG"]]
    p = (ggplot(d, aes("x", "PCHG"))
         + geom_col(aes(fill="CBOR"), width=0.75)
         + geom_hline(yintercept=20, linetype="dashed", color="#d73027", size=0.5)
         + geom_hline(yintercept=-30, linetype="dashed", color="#1a7837", size=0.5)
         + geom_hline(yintercept=0, color="black", size=0.3)
         + annotate("text", x=len(d) + 0.6, y=21.5, label="+20% (PD)", ha="right", va="bottom", size=7,
                    color="#d73027")
         + annotate("text", x=0.45, y=-31.5, label="−30% (PR)", ha="left", va="top", size=7,
                    color="#1a7837")
         + geom_text(aes(y="ty", label="txt", va="va"), size=6.5)
         + scale_fill_manual(values=[RESP_COLOURS[c] for c in cats], breaks=cats,
                             name="Confirmed BOR", drop=False)
         + scale_x_continuous(minor_breaks=[], breaks=list(d["x"]), labels=list(d["label"]), expand=(0, 0.6))
         + scale_y_continuous(minor_breaks=[], limits=(lim_lo, lim_hi), breaks=list(range(-100, int(lim_hi) + 1, 20)))
         + labs(x="Dose level and subject", y="Best % change of the target sum from baseline",
                title=f"Best percentage change in the sum of target lesions ({len(d)} of {n_eff} "
                      "efficacy-evaluable subjects)")
         + _base_theme() + theme(axis_text_x=element_text(size=7), panel_grid_major_x=element_blank(),
                                 figure_size=(7.5, 4.6)))
    return p


# --------------------------------------------------------------------------- spider

def spider_plot(adtr: pd.DataFrame, adsl: pd.DataFrame, levels: list[str]):
    a = adsl[adsl["EFFFL"].eq("Y")].set_index("USUBJID")
    d = adtr[adtr["ANL01FL"].eq("Y").fillna(False) & adtr["USUBJID"].isin(a.index)].copy()
    has_post = d[~d["ABLFL"].eq("Y").fillna(False)]["USUBJID"].unique()
    d = d[d["USUBJID"].isin(has_post)]
    d["weeks"] = np.where(d["ABLFL"].eq("Y").fillna(False), 0.0, d["ADY"].astype(float) / 7)
    d["DOSE"] = d["USUBJID"].map(a["DOSELVL"]).map(_dose)
    last = d.sort_values("ADT").groupby("USUBJID").tail(1)
    last = last.assign(lab=last["USUBJID"].map(_subject_label))
    colours = group_colours(levels)
    names = [n for n in list(levels) + ["No CAR-T"] if n in set(d["DOSE"])]
    p = (ggplot(d, aes("weeks", "PCHG", group="USUBJID", color="DOSE"))
         + geom_hline(yintercept=20, linetype="dashed", color="#d73027", size=0.5)
         + geom_hline(yintercept=-30, linetype="dashed", color="#1a7837", size=0.5)
         + geom_hline(yintercept=0, color="black", size=0.3)
         + geom_line(size=0.7) + geom_point(size=1.6)
         + geom_text(aes(label="lab"), data=last, nudge_x=1.2, size=6.5, ha="left", show_legend=False)
         + scale_color_manual(values=[colours[n] for n in names], breaks=names, name="Dose level")
         + scale_x_continuous(minor_breaks=[]) + scale_y_continuous(minor_breaks=[])
         + labs(x="Weeks since study day 1", y="% change of the target sum from baseline",
                title=f"Percentage change in the sum of target lesions over time ({len(has_post)} subjects)")
         + _base_theme() + theme(figure_size=(7, 4.4)))
    return p


# --------------------------------------------------------------------------- swimmer

SWIM_EVENTS = {"CAR-NK infusion": ("^", "#555555"), "CAR-T infusion": ("v", "#000000"),
               "CR": ("o", RESP_COLOURS["CR"]), "PR": ("o", RESP_COLOURS["PR"]), "SD": ("o", RESP_COLOURS["SD"]),
               "NON-CR/NON-PD": ("o", RESP_COLOURS["NON-CR/NON-PD"]), "NE": ("o", RESP_COLOURS["NE"]),
               "PD": ("D", RESP_COLOURS["PD"]), "Death": ("s", "#000000"),
               "Alive at last contact": (">", "#444444")}


def swimmer_data(adsl: pd.DataFrame, adrs: pd.DataFrame, ex: pd.DataFrame | None, cut) -> tuple:
    from analysis import dates
    a = adsl[adsl["SAFFL"].eq("Y")].set_index("USUBJID")
    start = pd.to_datetime(a["RFSTDT"])
    end = pd.to_datetime(a["DTHDT"]).fillna(pd.to_datetime(a["LSTALVDT"]))
    bars = pd.DataFrame({"USUBJID": a.index, "end": ((end - start).dt.days + 1).values / MONTH,
                         "DOSE": a["DOSELVL"].map(_dose).values})
    bars = bars.sort_values(["end", "USUBJID"]).reset_index(drop=True)
    bars["y"] = np.arange(1, len(bars) + 1)
    bars["label"] = [f"{_subject_label(u)} ({d})" for u, d in zip(bars["USUBJID"], bars["DOSE"])]
    ypos = bars.set_index("USUBJID")["y"]

    def rel(u, dt):
        delta = np.asarray(pd.to_datetime(dt), dtype="datetime64[ns]") - start.reindex(u).to_numpy(dtype="datetime64[ns]")
        return (delta.astype("timedelta64[D]").astype(float) + 1) / MONTH

    ev = []
    if ex is not None and len(ex):
        e = ex[ex["USUBJID"].isin(a.index)].copy()
        e["d"] = dates.to_date(e["EXSTDTC"])
        trt = e["EXTRT"].astype("string").str.upper()
        e["event"] = np.where(trt.str.contains("CAR-T"), "CAR-T infusion", "CAR-NK infusion")
        ev.append(pd.DataFrame({"USUBJID": e["USUBJID"].values, "t": rel(e["USUBJID"], e["d"]), "event": e["event"].values}))
    o = adrs[adrs["PARAMCD"].eq("OVR") & adrs["ANL01FL"].eq("Y").fillna(False) & adrs["USUBJID"].isin(a.index)]
    ev.append(pd.DataFrame({"USUBJID": o["USUBJID"].values, "t": rel(o["USUBJID"], o["ADT"]), "event": o["AVALC"].values}))
    dth = a[a["DTHDT"].notna()]
    ev.append(pd.DataFrame({"USUBJID": dth.index, "t": rel(pd.Series(dth.index), dth["DTHDT"].values), "event": "Death"}))
    alive = bars[~bars["USUBJID"].isin(dth.index)]
    ev.append(pd.DataFrame({"USUBJID": alive["USUBJID"].values, "t": alive["end"].values + 0.12,
                            "event": "Alive at last contact"}))
    ev = pd.concat(ev, ignore_index=True)
    ev = ev[ev["event"].isin(list(SWIM_EVENTS))]
    ev["y"] = ev["USUBJID"].map(ypos)
    return bars, ev


def swimmer_plot(bars: pd.DataFrame, ev: pd.DataFrame, levels: list[str]):
    colours = group_colours(levels)
    names = [n for n in list(levels) + ["No CAR-T"] if n in set(bars["DOSE"])]
    kinds = [k for k in SWIM_EVENTS if k in set(ev["event"])]
    ev = ev.assign(event=pd.Categorical(ev["event"], categories=kinds))
    xmax = float(max(bars["end"].max(), ev["t"].max())) if len(bars) else 1.0
    p = (ggplot()
         + geom_segment(aes(x=0, xend="end", y="y", yend="y", color="DOSE"), data=bars, size=5, alpha=0.35)
         + geom_point(aes("t", "y", shape="event", fill="event"), data=ev, size=2.6, color="#222222", stroke=0.25)
         + scale_color_manual(values=[colours[n] for n in names], breaks=names, name="Dose level")
         + scale_shape_manual(values=[SWIM_EVENTS[k][0] for k in kinds], breaks=kinds, name="")
         + scale_fill_manual(values=[SWIM_EVENTS[k][1] for k in kinds], breaks=kinds, name="")
         + scale_y_continuous(minor_breaks=[], breaks=list(bars["y"]), labels=list(bars["label"]), expand=(0, 0.6))
         + scale_x_continuous(minor_breaks=[], limits=(0, xmax * 1.05), breaks=list(range(0, int(xmax) + 2)))
         + guides(color=guide_legend(nrow=1, order=1), shape=guide_legend(nrow=2, order=2),
                  fill=guide_legend(nrow=2, order=2))
         + labs(x="Months since study day 1", y="Subject (dose level)", shape="Event", fill="Event",
                title="Time on study with infusions, tumour assessments, progression and death")
         + _base_theme() + theme(legend_box="vertical", figure_size=(7.5, 1.6 + 0.28 * max(len(bars), 4))))
    return p
