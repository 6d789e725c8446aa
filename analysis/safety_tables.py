"""Escalation and safety tables, figures and the generated paragraph (SAP §4, §5, §10),
built from the ARD only (listings, which list ADaM records, are in safety_listings.py)."""
from __future__ import annotations

import math

import pandas as pd

from analysis.ard import ARD, NO_CART, OVERALL
from analysis.narrative import plural
from analysis.tables import Table, n_pct, sci

DAGGER = "\u2020"
EMDASH = "\u2014"


def to_markdown_aligned(t: Table, left: int | set[int]) -> str:
    """tables.to_markdown with text columns left-aligned."""
    from analysis.tables import to_markdown
    return to_markdown(t, left)


def write_table_aligned(t: Table, out_dir, left: int | set[int]) -> None:
    """write_table (md, csv, html, rtf), then the report's md with left-aligned text columns."""
    from analysis.atomic import write_text
    from analysis.tables import write_table
    paths = write_table(t, out_dir)
    write_text(paths[0], to_markdown_aligned(t, left))


def _f(v: str) -> float:
    return float(v) if v not in ("", None) else math.nan


def _i(v: str) -> int:
    return int(float(v)) if v not in ("", None) else 0


def _pct(x: float) -> str:
    return "" if math.isnan(x) else f"{100 * x:.1f}"


def _num(x: float, digits: int = 0) -> str:
    if math.isnan(x):
        return ""
    return f"{x:.{digits}f}" if digits else (f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}")


def _stat(ard: ARD, analysis, variable, stat, group=OVERALL, group_level=OVERALL, variable_level="") -> str:
    try:
        return ard.get(analysis, variable, stat, group, group_level, variable_level)
    except KeyError:
        return ""


def safety_columns(ard: ARD, levels: dict[str, float], small_n: int) -> list[tuple[str, str, str, int]]:
    """(group, group_level, header, N) of the safety-set columns: dose levels, no CAR-T, overall."""
    cols = []
    for g, gl in [("DOSELVL", lvl) for lvl in levels] + [("DOSELVL", NO_CART), (OVERALL, OVERALL)]:
        n = ard.int("teae_ovr", "N", "n", g, gl)
        name = "No CAR-T" if gl == NO_CART else ("Overall" if g == OVERALL else gl)
        flag = DAGGER if 0 < n < small_n else ""
        cols.append((g, gl, f"{name} (N={n}){flag}", n))
    return cols


def _dose_note(levels: dict[str, float]) -> str:
    return ("Dose levels (CAR-T cells/kg per infusion): "
            + "; ".join(f"{k} {sci(v)}" for k, v in levels.items())
            + ". Column = CAR-T level actually given at the first CAR-T infusion; No CAR-T = treated "
              "with CAR-NK only.")


def _small_note(small_n: int) -> str:
    return f"{DAGGER} Fewer than {small_n} subjects in the group (SAP §3: shown, but flagged)."


# --------------------------------------------------------------------------- escalation

def table_dlt(ard: ARD, cfg: dict) -> Table:
    levels, small_n = cfg["dose_levels"], cfg.get("small_group_n", 3)
    rows = []
    for g, gl in [("DOSELVL", lvl) for lvl in levels] + [(OVERALL, OVERALL)]:
        get = lambda s: _stat(ard, "dlt", "DLT", s, g, gl)  # noqa: E731
        n_tr, n_ev, n_dlt = _i(get("n_treated")), _i(get("n_evaluable")), _i(get("n_dlt"))
        rate = _f(get("rate"))
        ci = (f"{_pct(rate)} ({_pct(_f(get('lcl')))}{chr(8211)}{_pct(_f(get('ucl')))})" if not math.isnan(rate)
              else f"{EMDASH} ({get('reason')})")
        iso = _f(_stat(ard, "isotonic", "DLT", "estimate", g, gl)) if g != OVERALL else math.nan
        name = "All levels" if g == OVERALL else gl
        flag = DAGGER if g != OVERALL and 0 < n_tr < small_n else ""
        dose = sci(levels[gl]) if g != OVERALL else ""
        rows.append([f"{name}{flag}", dose, str(n_tr), str(n_ev), str(n_dlt), ci,
                     _pct(iso) if not math.isnan(iso) else ("" if g == OVERALL else EMDASH)])
    n_cart = _i(_stat(ard, "dlt", "DLT", "n_treated"))
    return Table(
        id="T-DLT", title="Dose-limiting toxicities by CAR-T dose level",
        population=f"CAR-T set, Phase IA, N = {n_cart}",
        columns=["Dose level", "Cells/kg", "Treated", "DLT-evaluable", "With DLT",
                 "DLT rate, % (95% CI, Clopper-Pearson exact)", "Isotonic estimate, %"],
        rows=rows,
        footnotes=[
            "DLT = investigator-called DLT (SUPPAE AEDLT = Y) starting in the DLT window "
            f"(first CAR-NK infusion to {cfg['dlt_window']['days_after_first_car_t']} days after the first "
            "CAR-T infusion). DLT-evaluable = a DLT, or the DLT window completed.",
            "Isotonic estimate (exploratory): pool-adjacent-violators fit of the observed DLT rates over the "
            "levels with evaluable subjects, weighted by the number evaluable; the exact CI is per level.",
            _small_note(cfg.get("small_group_n", 3))])


def escalation_status_lines(ard: ARD) -> list[str]:
    def lvl(var):
        v = _stat(ard, "escalation", var, "level")
        return v if v else _stat(ard, "escalation", var, "reason")
    stop = _stat(ard, "escalation", "STOP", "holds")
    return [f"MTD: {lvl('MTD')}.",
            f"RP2D: {lvl('RP2D')}.",
            f"Highest level tested: {lvl('HIGHEST_TESTED')}.",
            f"Phase IA stopping condition: {'holds' if stop == 'Y' else 'does not hold'} "
            f"({_stat(ard, 'escalation', 'STOP', 'condition')})."]


SHORT_DECISION = {"escalate": "escalate", "expand": "expand to 6", "stay": "stay (cohort incomplete)",
                  "switch_to_3+3": "trigger: switch to 3+3", "mtd_exceeded": "MTD exceeded",
                  "pending": "wait (DLT window open)"}


def table_esc(ard: ARD, cfg: dict) -> Table:
    rep = ard.select(analysis="esc_replay", group="COHORT")
    cohorts = sorted(set(rep["group_level"]), key=int)
    rows = []
    for c in cohorts:
        get = lambda s: _stat(ard, "esc_replay", "COHORT", s, "COHORT", c)  # noqa: E731
        kind = {"titration": "titration", "3+3": "3+3", "expansion": "3+3 expansion"}.get(get("kind"), get("kind"))
        dev = get("deviation")
        dec = get("decision")
        text = get("decision_text")
        # the short decision, plus the engine's context where it adds something
        shown = text if dec in ("escalate", "mtd_exceeded") and not text.startswith("escalate to") else \
            SHORT_DECISION.get(dec, dec)
        rows.append([f"{c} ({kind})", get("level"), get("subjects"),
                     f"{get('n_evaluable')} / {get('n_dlt')} / {get('n_trigger')}",
                     f"{get('cum_n_dlt')}/{get('cum_n_evaluable')}", shown,
                     get("rule_next_level") or EMDASH, get("actual_next_level") or EMDASH,
                     f"Yes: {get('deviation_text')}" if dev == "Y" else "No"])
    esc = cfg["escalation"]
    table = esc.get("decision_table") or {}
    n_dev = _i(_stat(ard, "esc_replay", "DEVIATIONS", "n"))
    return Table(
        id="T-ESC", title="Dose-escalation rule replay",
        population=f"CAR-T set, Phase IA, cohorts in order of first CAR-T infusion, {len(cohorts)} cohorts",
        columns=["Cohort", "Level", "Subjects", "Evaluable / DLT / trigger", "Level: DLT/evaluable",
                 "Rule decision", "Rule", "Actual", "Deviation"],
        spanners=[("Next cohort", 6, 7)],   # SAP §4: the rules' level next to the level given
        rows=rows,
        footnotes=escalation_status_lines(ard) + [
            f"Deviations from the rules: {n_dev}.",
            f"Rules (config escalation): accelerated titration, one patient per cohort, at "
            f"{', '.join(esc.get('titration_levels', [])) or 'no level'}; a trigger event (CRS of grade "
            f"\u2265{esc.get('trigger_min_grade', 2)}, or another treatment-related AE of grade "
            f"\u2265{esc.get('trigger_min_grade', 2)}, in the DLT window) or a DLT switches to 3+3 at that level, "
            "the titration patient counting as the first of its 3+3 cohort.",
            "3+3 decisions by DLT-evaluable/DLT subjects at the level: "
            + "; ".join(f"{k} {v.replace('_', ' ')}" for k, v in table.items())
            + f"; any other state is an incomplete cohort (stay). MTD = the level below the lowest level "
              f"exceeded, with at least {esc.get('mtd_min_evaluable', 6)} evaluable subjects.",
            "Subjects: subject numbers. Trigger = subjects with a trigger event. Level: DLT/evaluable = all "
            "cohorts at the level so far. Escalating before the end of the previous cohort's DLT windows is "
            "also a deviation."])


# --------------------------------------------------------------------------- TEAE

OVR_ROWS = [("ANY", "Any TEAE"), ("G3", "TEAE of grade \u22653"), ("SER", "Serious TEAE"),
            ("REL", "Treatment-related TEAE"), ("REL_G3", "Treatment-related TEAE of grade \u22653"),
            ("DEATH", "TEAE leading to death"), ("DLT", "Dose-limiting toxicity"),
            ("CRS", "Cytokine release syndrome (any grade)"), ("ICANS", "ICANS (any grade)")]


def _teae_notes(cfg) -> list[str]:
    return [f"n (%) of subjects. TEAE: onset on or after the first infusion, up to {cfg['teae_window_days']} days "
            "after the last infusion and before a new anticancer therapy. Grades: NCI-CTCAE v5.0; CRS and ICANS: "
            "ASTCT 2019. Treatment-related: AEREL related, probably or possibly related.",
            _dose_note(cfg["dose_levels"]), _small_note(cfg.get("small_group_n", 3))]


def table_teae_ovr(ard: ARD, cfg: dict) -> Table:
    cols = safety_columns(ard, cfg["dose_levels"], cfg.get("small_group_n", 3))
    rows = [[label] + [n_pct(ard.int("teae_ovr", var, "n", g, gl), n) for g, gl, _h, n in cols]
            for var, label in OVR_ROWS]
    return Table(id="T-TEAE-OVR", title="Overview of treatment-emergent adverse events",
                 population=f"safety set, N = {cols[-1][3]}", columns=["Subjects with"] + [h for *_x, h, _n in cols],
                 rows=rows, footnotes=_teae_notes(cfg) + [
                     "DLT: investigator-called DLT in the DLT window (CAR-T subjects only). Leading to death: "
                     "outcome fatal or grade 5."])


def _term_rows(ard: ARD, analysis: str, cols) -> list[list[str]]:
    soc = ard.select(analysis=analysis, group=OVERALL, variable="AEBODSYS", stat="n_any")
    pts = ard.select(analysis=analysis, group=OVERALL, variable="AEDECOD", stat="n_any")
    soc_of = {r.variable_level: r.value for r in
              ard.select(analysis=analysis, group=OVERALL, variable="AEDECOD", stat="soc").itertuples()}
    soc_n = {r.variable_level: _i(r.value) for r in soc.itertuples()}
    pt_n = {r.variable_level: _i(r.value) for r in pts.itertuples()}
    out = []

    def cells(var, term):
        c = []
        for g, gl, _h, n in cols:
            a = _i(_stat(ard, analysis, var, "n_any", g, gl, term))
            b = _i(_stat(ard, analysis, var, "n_g3", g, gl, term))
            if g == OVERALL:
                c += [n_pct(a, n), n_pct(b, n)]
            else:
                c += [str(a), str(b)]
        return c

    for s in sorted(soc_n, key=lambda k: (-soc_n[k], k)):
        out.append([f"**{s}**"] + cells("AEBODSYS", s))
        for p in sorted([p for p in pt_n if soc_of.get(p) == s], key=lambda k: (-pt_n[k], k)):
            out.append([f"\u2003{p}"] + cells("AEDECOD", p))
    return out


def _term_table(ard: ARD, cfg: dict, analysis: str, tid: str, title: str, any_var: str, g3_var: str,
                any_label: str) -> Table:
    cols = safety_columns(ard, cfg["dose_levels"], cfg.get("small_group_n", 3))
    # SAP §5: by worst grade per subject (any grade; grade >= 3): a dose level (with its N)
    # spans its two columns
    header = ["System organ class / Preferred term"]
    spanners = []
    for i, (g, gl, h, _n) in enumerate(cols):
        header += ["Any", "G\u22653"]            # short: 12 such columns share the page width
        spanners.append((h, 1 + 2 * i, 2 + 2 * i))
    anyrow = [f"**{any_label}**"]
    for g, gl, _h, n in cols:
        a, b = ard.int("teae_ovr", any_var, "n", g, gl), ard.int("teae_ovr", g3_var, "n", g, gl)
        anyrow += [n_pct(a, n), n_pct(b, n)] if g == OVERALL else [str(a), str(b)]
    rows = [anyrow] + _term_rows(ard, analysis, cols)
    return Table(id=tid, title=title, population=f"safety set, N = {cols[-1][3]}", columns=header, rows=rows,
                 spanners=spanners,
                 footnotes=["Subjects counted once per SOC and per PT, by their worst grade: Any = any grade, "
                            "G\u22653 = grade 3 or higher. Dose-level columns: n; Overall: n (%). Sorted by "
                            "descending overall frequency (any grade), then alphabetically. MedDRA coding as "
                            "recorded."] + _teae_notes(cfg))


def table_teae_socpt(ard: ARD, cfg: dict) -> Table:
    return _term_table(ard, cfg, "teae", "T-TEAE-SOCPT", "TEAEs by system organ class, preferred term and grade",
                       "ANY", "G3", "Any TEAE")


def table_teae_rel(ard: ARD, cfg: dict) -> Table:
    return _term_table(ard, cfg, "teae_rel", "T-TEAE-REL",
                       "Treatment-related TEAEs by system organ class, preferred term and grade",
                       "REL", "REL_G3", "Any treatment-related TEAE")


def table_crs(ard: ARD, cfg: dict) -> Table:
    cols = safety_columns(ard, cfg["dose_levels"], cfg.get("small_group_n", 3))
    rows = []
    for var, name in (("CRS", "Cytokine release syndrome"), ("ICANS", "ICANS")):
        def per(stat, fmt):
            return [fmt(g, gl, n) for g, gl, _h, n in cols]

        def cnt(stat):
            return per(stat, lambda g, gl, n: n_pct(_i(_stat(ard, "crs", var, stat, g, gl)), n))

        def med(prefix):
            def f(g, gl, n):
                m = _f(_stat(ard, "crs", var, f"{prefix}_median", g, gl))
                if math.isnan(m):
                    return EMDASH
                lo, hi = _f(_stat(ard, "crs", var, f"{prefix}_min", g, gl)), _f(_stat(ard, "crs", var, f"{prefix}_max", g, gl))
                return f"{_num(m)} ({_num(lo)}\u2013{_num(hi)})"
            return per(prefix, f)

        def among(stat):
            return per(stat, lambda g, gl, n: n_pct(_i(_stat(ard, "crs", var, stat, g, gl)),
                                                    _i(_stat(ard, "crs", var, "n", g, gl))))
        rows.append([f"**{name}, any grade**"] + cnt("n"))
        for k in (1, 2, 3, 4, 5):
            rows.append([f"\u2003worst grade {k}"] + cnt(f"n_g{k}"))
        rows.append(["\u2003first onset after a CAR-NK infusion\u00b9"] + among("n_after_carnk"))
        rows.append(["\u2003first onset after a CAR-T infusion\u00b9"] + among("n_after_cart"))
        rows.append(["\u2003onset, days after that infusion: median (range)"] + med("onset"))
        rows.append(["\u2003duration, days: median (range)"] + med("dur"))
        rows.append(["\u2003tocilizumab\u00b9"] + among("n_toci"))
        rows.append(["\u2003corticosteroids\u00b9"] + among("n_cort"))
    return Table(id="T-CRS", title="Cytokine release syndrome and ICANS (ASTCT 2019 grades)",
                 population=f"safety set, N = {cols[-1][3]}", columns=["Subjects"] + [h for *_x, h, _n in cols],
                 rows=rows,
                 footnotes=["n (%) of subjects in the column by worst grade of treatment-emergent events. "
                            "\u00b9 % of the subjects with the event. Onset: days from the last infusion on or "
                            "before the first episode (infusion day = 0) and the product of that infusion; "
                            "duration of the first episode (end - start + 1). Tocilizumab and corticosteroids: "
                            "CM 'CRS MANAGEMENT' records overlapping any episode."] + _teae_notes(cfg)[1:])


def table_lab_shift(ard: ARD, cfg: dict, params: list[tuple[str, str]]) -> Table:
    cols = safety_columns(ard, cfg["dose_levels"], cfg.get("small_group_n", 3))
    grades = ["0", "1", "2", "3", "4", "NA"]
    rows = []
    for cd, term in params:
        first = True
        for g, gl, h, _n in cols:
            n_subj = _i(_stat(ard, "lab_shift", cd, "n_subjects", g, gl))
            if not n_subj:
                continue
            sel = ard.select(analysis="lab_shift", group=g, group_level=gl, variable=cd, stat="n")
            counts = {r.variable_level: _i(r.value) for r in sel.itertuples()}
            base = sorted({k.split("->")[0] for k in counts}, key=lambda x: grades.index(x))
            for b in base:
                cells = [str(counts.get(f"{b}->{w}", 0)) for w in grades[:5]]
                tot = sum(v for k, v in counts.items() if k.startswith(f"{b}->"))
                rows.append([f"**{cd}** {term}" if first else "", h.split(" (")[0], "missing" if b == "NA" else b,
                             str(tot)] + cells)
                first = False
    return Table(id="T-LAB-SHIFT", title="Laboratory toxicity grade: baseline to worst on-treatment grade",
                 population=f"safety set, N = {cols[-1][3]}",
                 columns=["Parameter", "Group", "Baseline grade", "n"] + grades[:5],
                 spanners=[("Worst on-treatment grade", 4, 8)],   # SAP §5: baseline grade x worst grade
                 rows=rows,
                 footnotes=["NCI-CTCAE v5.0 grades derived from the values by the criteria table "
                            "analysis/metadata/ctcae_v5_lab.csv (translated from the admiral metadata). "
                            "Baseline: last value on or before the first infusion. Worst: highest grade of the "
                            "values after the first infusion within the TEAE window. n = subjects with a graded "
                            "on-treatment value; groups without one are not shown.",
                            _dose_note(cfg["dose_levels"])])


# --------------------------------------------------------------------------- text

def safety_paragraph(ard: ARD, cfg: dict) -> str:
    levels = list(cfg["dose_levels"])
    per = []
    for lvl in levels:
        n_ev = _i(_stat(ard, "dlt", "DLT", "n_evaluable", "DOSELVL", lvl))
        n_tr = _i(_stat(ard, "dlt", "DLT", "n_treated", "DOSELVL", lvl))
        if n_tr:
            per.append(f"{_i(_stat(ard, 'dlt', 'DLT', 'n_dlt', 'DOSELVL', lvl))}/{n_ev} at {lvl}")
    n_dlt = _i(_stat(ard, "dlt", "DLT", "n_dlt"))
    n_ev = _i(_stat(ard, "dlt", "DLT", "n_evaluable"))
    mtd = _stat(ard, "escalation", "MTD", "level")
    mtd_text = ("the MTD was not reached" if mtd == "NOT REACHED" else
                f"the MTD is {mtd}" if mtd else
                f"the MTD is not yet determined ({_stat(ard, 'escalation', 'MTD', 'reason')})")
    high = _stat(ard, "escalation", "HIGHEST_TESTED", "level")
    rp2d = _stat(ard, "escalation", "RP2D", "level")
    stop = _stat(ard, "escalation", "STOP", "holds") == "Y"
    n_dev = _i(_stat(ard, "esc_replay", "DEVIATIONS", "n"))
    n_saf = ard.int("teae_ovr", "N", "n")
    pts = ard.select(analysis="teae", group=OVERALL, variable="AEDECOD", stat="n_g3")
    top = sorted(((r.variable_level, _i(r.value)) for r in pts.itertuples() if _i(r.value) > 0),
                 key=lambda t: (-t[1], t[0]))[:3]
    crs = _i(_stat(ard, "crs", "CRS", "n"))
    crs_g3 = sum(_i(_stat(ard, "crs", "CRS", f"n_g{k}")) for k in (3, 4, 5))
    icans = _i(_stat(ard, "crs", "ICANS", "n"))
    pct = lambda n: f"{100 * n / n_saf:.1f}%" if n_saf else ""  # noqa: E731
    n_hy = _i(_stat(ard, "edish", "HYSLAW", "n"))
    text = (
        f"In the dose escalation, {plural(n_dlt, 'subject')} of {n_ev} DLT-evaluable "
        f"{'subject' if n_ev == 1 else 'subjects'} had a dose-limiting toxicity "
        f"({', '.join(per) if per else 'no CAR-T subject'}); {mtd_text}"
        + (f", the highest level tested being {high}" if high else "")
        + (f", and the declared RP2D is {rp2d}" if rp2d else ", and no RP2D has been declared")
        + f". A Phase IA stopping condition {'holds' if stop else 'does not hold yet'}. "
        + (f"The rule replay found {plural(n_dev, 'deviation')} from the escalation rules. " if n_dev else
           "The rule replay found no deviation from the escalation rules. ")
        + f"Of the {n_saf} subjects of the safety set, {ard.int('teae_ovr', 'ANY', 'n')} had a treatment-emergent "
        f"adverse event and {ard.int('teae_ovr', 'G3', 'n')} one of grade 3 or higher"
        + (("; the most frequent grade \u22653 TEAEs were " + ", ".join(f"{t.lower()} ({n})" for t, n in top))
           if top else "")
        + f". Cytokine release syndrome occurred in {crs} ({pct(crs)}) subjects, {crs_g3} of grade 3 or higher, "
        f"and ICANS in {icans} ({pct(icans)}). "
        f"{plural(ard.int('teae_ovr', 'SER', 'n'), 'subject')} had a serious TEAE and "
        f"{ard.int('teae_ovr', 'DEATH', 'n') or 'none'} a TEAE leading to death; "
        + (f"{plural(n_hy, 'subject')} met" if n_hy else "no subject met")
        + " the potential Hy's law criteria."
    )
    return text + "\n"


# --------------------------------------------------------------------------- figures

def _save(plot, png, svg) -> None:
    from analysis.figures import save_plot
    save_plot(plot, png, svg)


def figure_esc_data(ard: ARD) -> pd.DataFrame:
    sub = ard.select(analysis="esc_subject")
    wide = sub.pivot_table(index="group_level", columns="stat", values="value", aggfunc="first").reset_index()
    wide = wide.rename(columns={"group_level": "USUBJID"})
    if not len(wide):
        return wide
    wide["order"] = wide["order"].astype(int)
    wide["id"] = wide["USUBJID"].map(lambda u: str(u).rsplit("-", 1)[-1])

    def outcome(r):
        if r["dlt"] == "Y":
            return "DLT"
        if r["trigger"] == "Y":
            return "Trigger event, no DLT"
        if r["evaluable"] == "Y":
            return "No DLT, no trigger event"
        return "Not DLT-evaluable"
    wide["outcome"] = wide.apply(outcome, axis=1)
    return wide.sort_values("order")


def figure_esc(ard: ARD, cfg: dict, png, svg) -> None:
    from plotnine import (aes, annotate, element_blank, element_text, geom_point, geom_vline, ggplot, labs,
                          scale_color_manual, scale_shape_manual, scale_x_continuous, scale_y_discrete, theme,
                          theme_bw)
    d = figure_esc_data(ard)
    levels = list(cfg["dose_levels"])
    lab = {lvl: f"{lvl}\n{sci(v)}/kg" for lvl, v in cfg["dose_levels"].items()}
    colors = {"DLT": "#c0392b", "Trigger event, no DLT": "#e08a00", "No DLT, no trigger event": "#4d4d4d",
              "Not DLT-evaluable": "#9e9e9e"}
    shapes = {"DLT": "X", "Trigger event, no DLT": "^", "No DLT, no trigger event": "o", "Not DLT-evaluable": "o"}
    if not len(d):
        p = ggplot() + annotate("text", x=0, y=0, label="No CAR-T subject") + theme_bw()
        _save(p, png, svg)
        return
    d["level"] = pd.Categorical(d["level"], categories=levels)
    d["outcome"] = pd.Categorical(d["outcome"], categories=list(colors))
    d["cohort"] = d["cohort"].astype(int)
    bounds = [o - 0.5 for o, c, pc in zip(d["order"][1:], d["cohort"][1:], d["cohort"][:-1]) if c != pc]
    n = len(d)
    p = (ggplot(d, aes("order", "level", color="outcome", shape="outcome"))
         + geom_vline(xintercept=bounds, linetype="dashed", color="#b0b0b0", size=0.4)
         + geom_point(size=4.5, stroke=1.2)
         + scale_color_manual(values=colors, drop=False, name="")
         + scale_shape_manual(values=shapes, drop=False, name="")
         + scale_y_discrete(limits=levels, labels=[lab[lvl] for lvl in levels], drop=False)
         + scale_x_continuous(minor_breaks=[], breaks=list(d["order"]), labels=list(d["id"]), limits=(0.5, n + 0.5),
                              expand=(0, 0))
         + labs(x="Subject, in order of first CAR-T infusion (dashed lines separate cohorts)", y="CAR-T dose level",
                color="", shape="")
         + theme_bw(base_size=11)
         + theme(figure_size=(8.5, 4.2), legend_position="bottom", panel_grid_minor=element_blank(),
                 axis_text_x=element_text(rotation=90, size=9), legend_text=element_text(size=10)))
    for c, grp in d.groupby("cohort"):
        p += annotate("text", x=grp["order"].mean(), y=len(levels) + 0.45, label=f"C{c}", size=8, color="#555555")
    _save(p, png, svg)


def figure_edish_data(ard: ARD) -> pd.DataFrame:
    sub = ard.select(analysis="edish", group="USUBJID")
    if not len(sub):
        return pd.DataFrame(columns=["USUBJID", "x", "y", "doselvl", "hyslaw", "id"])
    num = sub[sub["stat"] == "peak_xuln"].pivot_table(index="group_level", columns="variable", values="value",
                                                     aggfunc="first")
    num = num.apply(lambda s: pd.to_numeric(s.replace("", None)))
    txt = sub[sub["variable"] == "SUBJECT"].pivot_table(index="group_level", columns="stat", values="value",
                                                        aggfunc="first")
    d = num.join(txt).reset_index().rename(columns={"group_level": "USUBJID"})
    d["x"] = d[["ALT", "AST"]].max(axis=1)
    d["y"] = d["BILI"]
    d["id"] = d["USUBJID"].map(lambda u: str(u).rsplit("-", 1)[-1])
    return d.dropna(subset=["x", "y"])


def figure_edish(ard: ARD, cfg: dict, png, svg) -> None:
    from plotnine import (aes, annotate, element_blank, geom_hline, geom_point, geom_text, geom_vline, ggplot,
                          labs, scale_color_manual, scale_x_log10, scale_y_log10, theme, theme_bw)
    d = figure_edish_data(ard)
    levels = list(cfg["dose_levels"]) + [NO_CART]
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
    colors = {lvl: palette[i % len(palette)] for i, lvl in enumerate(levels)}
    names = {lvl: ("No CAR-T" if lvl == NO_CART else lvl) for lvl in levels}
    xmax = max(30.0, float(d["x"].max()) * 1.5) if len(d) else 30.0
    ymax = max(10.0, float(d["y"].max()) * 1.5) if len(d) else 10.0
    lo = min(0.1, float(d[["x", "y"]].min().min()) / 1.5) if len(d) else 0.1
    d["doselvl"] = pd.Categorical(d["doselvl"], categories=levels) if len(d) else d.get("doselvl")
    lab = d[(d["x"] > 3) | (d["y"] > 2)] if len(d) else d
    p = (ggplot(d, aes("x", "y"))
         + geom_vline(xintercept=3, linetype="dashed", color="#555555")
         + geom_hline(yintercept=2, linetype="dashed", color="#555555")
         + geom_point(aes(color="doselvl"), size=3.5, alpha=0.9)
         + scale_color_manual(values=colors, labels=[names[x] for x in levels], drop=True, name="Dose level")
         + scale_x_log10(minor_breaks=[], limits=(lo, xmax), breaks=[0.1, 0.3, 1, 3, 10, 30, 100])
         + scale_y_log10(minor_breaks=[], limits=(lo, ymax), breaks=[0.1, 0.3, 1, 2, 3, 10, 30])
         + annotate("text", x=xmax / 1.1, y=ymax / 1.1, label="Potential Hy's law", ha="right", va="top", size=9)
         + annotate("text", x=xmax / 1.1, y=lo * 1.15, label="Temple's corollary", ha="right", va="bottom", size=9)
         + annotate("text", x=lo * 1.15, y=ymax / 1.1, label="Hyperbilirubinaemia", ha="left", va="top", size=9)
         + labs(x="Peak ALT or AST (\u00d7 ULN)", y="Peak total bilirubin (\u00d7 ULN)")
         + theme_bw(base_size=11)
         + theme(figure_size=(6.5, 5.2), panel_grid_minor=element_blank()))
    if len(lab):
        p += geom_text(lab, aes("x", "y", label="id"), nudge_y=0.08, size=8, va="bottom")
    _save(p, png, svg)
