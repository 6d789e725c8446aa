"""Forest plots of the subgroup analyses (SAP §8): F-FOREST-ORR (confirmed ORR with
Clopper-Pearson CI per level, reference line at the overall ORR) and F-FOREST-PFS (PFS
hazard ratio of each level against the reference level, log scale, reference line at
1). One row per level, grouped under its factor; n beside every row; the exploratory
caveat in the caption. Numbers from the ARD only (analysis.subgroup_outputs.read_factors).

Drawn in one plotnine panel: the row labels and the number columns are text placed
left and right of the data region, so that rows and labels cannot drift apart."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from plotnine import (aes, annotate, element_blank, element_line, element_text, geom_point, geom_rect,
                      geom_segment, geom_text, geom_vline, ggplot, labs, scale_x_continuous,
                      scale_y_continuous, theme, theme_minimal)

from analysis.ard import ARD
from analysis.figures import save_plot
from analysis.subgroup_outputs import (EN, SMALL, FactorView, LevelView, num, hr_text, overall_view, p_text,
                                       pct, read_factors, short_reason)

ROW_H = 0.2          # inches per row
FONT = 7.5           # points
CAPTION = ("Exploratory, unadjusted subgroup analyses (SAP §8): p-values are descriptive and not adjusted for "
           "multiplicity.\n{small} fewer than {n} subjects in the level.")
COLOUR = "#1f4e79"


def _compact(reason: str) -> str:
    r = short_reason(reason)
    if r.startswith("monotone likelihood"):
        return "monotone likelihood"
    if "did not converge" in r or "fit failed" in r:
        return "Cox fit did not converge"
    return r


def _n_text(lv: LevelView) -> str:
    return f"{lv.n}{SMALL if lv.small else ''}"


def forest_rows(factors: list[FactorView], kind: str, overall: LevelView | None = None) -> pd.DataFrame:
    """One record per plotted row, top to bottom: label, header flag, estimate, CI
    (ORR in %, HR as is) and the texts of the number columns."""
    recs = []

    def add(label, header=False, est=math.nan, lcl=math.nan, ucl=math.nan, c1="", c2="", note=False):
        recs.append(dict(label=label, header=header, est=est, lcl=lcl, ucl=ucl, c1=c1, c2=c2, note=note))

    if overall is not None and kind == "orr":
        o = overall.orr
        add(overall.label, header=True, est=100 * num(o.get("estimate", "")), lcl=100 * num(o.get("lcl", "")),
            ucl=100 * num(o.get("ucl", "")), c1=str(overall.n), c2=_orr_text(o))
    for f in factors:
        if not f.analysable:
            add(f"{f.label} ({f.variable})", header=True)
            add(f"not analysable: {short_reason(f.reason)}", note=True)
            continue
        if kind == "orr":
            if math.isnan(f.fisher_p):
                c2 = "test not computed" if f.fisher_reason else ""
            else:
                c2 = ("Fisher" if f.fisher_method.startswith("Fisher") else "Freeman\u2013Halton") + \
                     f" p = {p_text(f.fisher_p)}"
            add(f"{f.label} ({f.variable})", header=True, c2=c2)
            for lv in f.levels:
                o = lv.orr
                add(f"   {lv.label}", est=100 * num(o.get("estimate", "")), lcl=100 * num(o.get("lcl", "")),
                    ucl=100 * num(o.get("ucl", "")), c1=_n_text(lv), c2=_orr_text(o))
        else:
            add(f"{f.label} ({f.variable})", header=True)
            for lv in f.levels:
                ev = lv.km.get("events", "")
                c1 = f"{int(num(ev))}/{lv.n}{SMALL if lv.small else ''}" if ev not in ("", None) else _n_text(lv)
                if lv.is_reference:
                    add(f"   {lv.label}", c1=c1, c2="reference")
                elif lv.cox and hr_text(lv):
                    add(f"   {lv.label}", est=num(lv.cox["hr"]), lcl=num(lv.cox["hr_lcl"]),
                        ucl=num(lv.cox["hr_ucl"]), c1=c1, c2=hr_text(lv))
                elif lv.cox:
                    add(f"   {lv.label}", c1=c1, c2=f"NE: {_compact(lv.cox_reason)}".replace("no PFS event", "no event"))
                else:
                    add(f"   {lv.label}", c1=c1, c2="not compared" if lv.missing else "")
    d = pd.DataFrame(recs)
    d["y"] = -np.arange(len(d), dtype=float)
    return d


def _orr_text(o: dict) -> str:
    n = int(num(o.get("n", "0") or "0"))
    if n == 0:
        return "no subject"
    return f"{pct(num(o['estimate']))} ({pct(num(o['lcl']))}{EN}{pct(num(o['ucl']))})"


def _base(d: pd.DataFrame, x_left: float, x_right: float, x_c1: float, x_c2: float, heads: tuple[str, str, str],
          top: float):
    """Row shading, labels, number columns and the column headings."""
    hd = d[d["header"]]
    p = (ggplot()
         + geom_rect(aes(xmin=x_left, xmax=x_right, ymin="y - 0.5", ymax="y + 0.5"), data=hd,
                     fill="#eef2f7", color=None)
         + geom_text(aes(x=x_left, y="y", label="label"), data=hd, ha="left", size=FONT, fontweight="bold")
         + geom_text(aes(x=x_left, y="y", label="label"), data=d[~d["header"] & ~d["note"]], ha="left", size=FONT)
         + geom_text(aes(x=x_left, y="y", label="label"), data=d[d["note"]], ha="left", size=FONT,
                     fontstyle="italic", color="#666666")
         + geom_text(aes(x=x_c1, y="y", label="c1"), data=d, ha="right", size=FONT)
         + geom_text(aes(x=x_c2, y="y", label="c2"), data=d, ha="left", size=FONT)
         + annotate("text", x=x_left, y=top, label=heads[0], ha="left", size=FONT, fontweight="bold")
         + annotate("text", x=x_c1, y=top, label=heads[1], ha="right", size=FONT, fontweight="bold")
         + annotate("text", x=x_c2, y=top, label=heads[2], ha="left", size=FONT, fontweight="bold"))
    return p


def _theme(height: float, width: float):
    return (theme_minimal(base_size=8)
            + theme(axis_text_y=element_blank(), axis_title_y=element_blank(), panel_grid_major_y=element_blank(),
                    panel_grid_minor=element_blank(), panel_grid_major_x=element_blank(),
                    axis_line_x=element_line(color="#333333", size=0.4), axis_ticks_major_x=element_line(color="#333333"),
                    axis_text_x=element_text(size=8), axis_title_x=element_text(size=8.5),
                    plot_caption=element_text(size=7.5, ha="left"), plot_title=element_text(size=9.5, ha="left"),
                    figure_size=(width, height)))


def forest_orr(ard: ARD, cfg: dict, factors: list[FactorView] | None = None, overall: LevelView | None = None):
    """F-FOREST-ORR as (plot, width, height); `factors`/`overall` when already read from `ard`."""
    factors = read_factors(ard) if factors is None else factors
    overall = overall_view(ard) if overall is None else overall
    d = forest_rows(factors, "orr", overall)
    top = 1.2
    x_left, x_c1, x_c2, x_right = -128.0, 112.0, 118.0, 205.0
    pts = d[d["est"].notna()]
    cis = d[d["lcl"].notna() & d["ucl"].notna()]
    ref = 100 * num(overall.orr.get("estimate", ""))
    small = int(cfg.get("small_group_n", 3))
    width, height = 7.2, 1.4 + ROW_H * (len(d) + 2)
    p = (_base(d, x_left, x_right, x_c1, x_c2, ("Subgroup", "n", "ORR, % (95% CI)"), top)
         + geom_segment(aes(x="lcl", xend="ucl", y="y", yend="y"), data=cis, color=COLOUR, size=0.6)
         + geom_point(aes("est", "y"), data=pts, shape="s", size=2.2, color=COLOUR, fill=COLOUR))
    if not math.isnan(ref):
        p += geom_vline(xintercept=ref, linetype="dashed", color="#b2182b", size=0.5)
        p += annotate("text", x=ref + 1.5, y=top, label=f"overall {ref:.1f}%", ha="left", size=FONT - 0.5,
                      color="#b2182b")
    p += geom_vline(xintercept=0, color="#999999", size=0.3)
    p = (p + scale_x_continuous(minor_breaks=[], breaks=[0, 25, 50, 75, 100], limits=(x_left, x_right), expand=(0, 0))
          + scale_y_continuous(minor_breaks=[], limits=(float(d["y"].min()) - 0.7, top + 0.6), expand=(0, 0))
          + labs(x="Confirmed objective response rate, % (95% CI, Clopper\u2013Pearson)",
                 title=f"Confirmed ORR by subgroup (efficacy-evaluable set, N = {overall.n})",
                 caption=CAPTION.format(small=SMALL, n=small) + " Dashed line: overall ORR.")
          + _theme(height, width))
    return p, width, height


def _log_range(d: pd.DataFrame) -> tuple[float, float]:
    vals = pd.concat([d["lcl"], d["ucl"], d["est"]]).dropna()
    vals = vals[(vals > 0) & np.isfinite(vals)]
    lo = float(vals.min()) if len(vals) else 0.5
    hi = float(vals.max()) if len(vals) else 2.0
    lo = max(min(lo, 0.5), 0.01)
    hi = min(max(hi, 2.0), 100.0)
    return math.floor(math.log10(lo) * 2) / 2, math.ceil(math.log10(hi) * 2) / 2


def forest_pfs(ard: ARD, cfg: dict, factors: list[FactorView] | None = None, overall: LevelView | None = None):
    """F-FOREST-PFS as (plot, width, height); `factors`/`overall` when already read from `ard`."""
    factors = read_factors(ard) if factors is None else factors
    overall = overall_view(ard) if overall is None else overall
    d = forest_rows(factors, "pfs")
    top = 1.2
    lo, hi = _log_range(d)
    w = hi - lo
    x_left, x_c1, x_c2, x_right = lo - 1.12 * w, hi + 0.40 * w, hi + 0.46 * w, hi + 1.42 * w
    for c in ("est", "lcl", "ucl"):
        d["l" + c] = np.log10(d[c].where(d[c] > 0))
    cis = d[d["llcl"].notna() & d["lucl"].notna()].copy()
    cis["x0"], cis["x1"] = cis["llcl"].clip(lo, hi), cis["lucl"].clip(lo, hi)
    pts = d[d["lest"].notna() & d["lest"].between(lo, hi)]
    left_clip = cis[cis["llcl"] < lo]
    right_clip = cis[cis["lucl"] > hi]
    cand = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    breaks = [b for b in cand if lo - 1e-9 <= math.log10(b) <= hi + 1e-9]
    if len(breaks) > 7:
        breaks = [b for b in breaks if str(b).lstrip("0.").startswith("1") or b == 1]
    small = int(cfg.get("small_group_n", 3))
    width, height = 7.2, 1.4 + ROW_H * (len(d) + 2)
    p = (_base(d, x_left, x_right, x_c1, x_c2, ("Subgroup", "Events/n", "HR (95% CI)"), top)
         + geom_vline(xintercept=0.0, color="#b2182b", size=0.5, linetype="dashed")
         + geom_segment(aes(x="x0", xend="x1", y="y", yend="y"), data=cis, color=COLOUR, size=0.6)
         + geom_point(aes("lest", "y"), data=pts, shape="s", size=2.2, color=COLOUR, fill=COLOUR))
    if len(left_clip):
        p += geom_point(aes(x=lo, y="y"), data=left_clip, shape="<", size=2.4, color=COLOUR)
    if len(right_clip):
        p += geom_point(aes(x=hi, y="y"), data=right_clip, shape=">", size=2.4, color=COLOUR)
    p += annotate("text", x=lo, y=top, label="\u2190 lower hazard", ha="left", size=FONT - 0.5, color="#555555")
    p += annotate("text", x=hi, y=top, label="higher hazard \u2192", ha="right", size=FONT - 0.5, color="#555555")
    p = (p + scale_x_continuous(breaks=[math.log10(b) for b in breaks], labels=[f"{b:g}" for b in breaks],
                             minor_breaks=[], limits=(x_left, x_right), expand=(0, 0))
          + scale_y_continuous(minor_breaks=[], limits=(float(d["y"].min()) - 0.7, top + 0.6), expand=(0, 0))
          + labs(x="PFS hazard ratio against the reference level of the factor (log scale, Wald 95% CI)",
                 title=f"PFS hazard ratio by subgroup (Cox, Efron ties; efficacy-evaluable set, N = {overall.n})",
                 caption=CAPTION.format(small=SMALL, n=small)
                 + " NE: not estimable (reasons in T-SUBGRP). Arrows: CI beyond the axis.")
          + _theme(height, width))
    return p, width, height


def write_forest_plots(ard: ARD, cfg: dict, out_dir) -> None:
    from pathlib import Path
    out = Path(out_dir)
    factors, overall = read_factors(ard), overall_view(ard)     # read once (0.2 s each time on the demo)
    for fid, build in (("F-FOREST-ORR", forest_orr), ("F-FOREST-PFS", forest_pfs)):
        p, w, h = build(ard, cfg, factors, overall)
        save_plot(p, out / f"{fid}.png", out / f"{fid}.svg", w, h)
