"""ARD rows of the escalation and safety analyses (SAP §4, §5), in the long format of
the results contract. Every number the safety tables, figures and text show is here.

analysis      group / group_level            variable / variable_level      stats
dlt           DOSELVL / DLx, overall         DLT                            n_treated n_evaluable n_dlt rate lcl ucl (reason)
escalation    overall                        MTD, RP2D, HIGHEST_TESTED      level (reason); STOP: holds, condition
esc_replay    COHORT / 1, 2, ...             COHORT                         level mode kind subjects n n_evaluable n_dlt n_trigger
                                                                            n_pending cum_n_evaluable cum_n_dlt decision
                                                                            decision_text rule_next_level actual_next_level
                                                                            deviation deviation_text
esc_subject   USUBJID / id                   ESC                            order level cohort cartsdt evaluable dlt trigger pending
isotonic      DOSELVL / DLx                  DLT                            n_evaluable n_dlt rate estimate lcl ucl (reason)
teae_ovr      DOSELVL / DLx, NONE, overall   N, ANY, G3, SER, REL, REL_G3,  n
                                             DEATH, DLT, CRS, ICANS
teae          same                           AEBODSYS or AEDECOD / term     n_any n_g3 (+ soc: the SOC of a PT, overall only)
teae_rel      same (related TEAEs)           AEBODSYS or AEDECOD / term     n_any n_g3 (+ soc)
crs           same                           CRS, ICANS                     N n n_g1..n_g5 n_after_carnk n_after_cart
                                                                            onset_median onset_min onset_max dur_median
                                                                            dur_min dur_max n_toci n_cort (reason)
lab_shift     same                           PARAMCD / "b->w"               n; PARAMCD / "": n_subjects
edish         USUBJID / id                   ALT, AST, BILI                 peak_xuln; SUBJECT: doselvl, hyslaw
"""
from __future__ import annotations

import pandas as pd

from analysis import escalation as esc
from analysis.ard import NO_CART, OVERALL, dose_groups, frame, rows

GRADES = (1, 2, 3, 4, 5)


def _level_mask(adsl: pd.DataFrame, lvl: str) -> pd.Series:
    return adsl["DOSELVL"].astype("string").eq(lvl).fillna(False) & adsl["CARTFL"].eq("Y")


# --------------------------------------------------------------------------- escalation

def ard_dlt(subjects: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """`dlt`: treated, DLT-evaluable, with DLT, DLT rate with exact 95% CI per level."""
    recs = []
    groups = [("DOSELVL", lvl, subjects["DOSELVL"].eq(lvl)) for lvl in levels]
    groups.append((OVERALL, OVERALL, pd.Series(True, index=subjects.index)))
    for g, gl, m in groups:
        sub = subjects[m]
        n_ev = int(sub["DLTEVLFL"].eq("Y").sum())
        n_dlt = int((sub["DLTEVLFL"].eq("Y") & sub["DLTFL"].eq("Y")).sum())
        p = esc.dlt_rate(n_dlt, n_ev)
        stats = {"n_treated": len(sub), "n_evaluable": n_ev, "n_dlt": n_dlt,
                 "rate": p.estimate, "lcl": p.lcl, "ucl": p.ucl}
        if p.estimate is None:
            stats["reason"] = "no DLT-evaluable subject" if len(sub) else "no subject treated at this level"
        recs += rows("dlt", g, gl, "DLT", "", stats)
    return frame(recs)


def ard_escalation(status: dict, rp2d: str | None) -> pd.DataFrame:
    """`escalation`: MTD (or NOT REACHED), declared RP2D, highest level tested, stopping."""
    recs = []
    mtd = {"level": status["mtd"]}
    if status["mtd"] is None:
        mtd["reason"] = status["mtd_reason"]
    recs += rows("escalation", OVERALL, OVERALL, "MTD", "", mtd)
    recs += rows("escalation", OVERALL, OVERALL, "RP2D", "",
                 {"level": rp2d} if rp2d else {"level": None, "reason": "not declared by the investigators "
                                                                       "(setting escalation.rp2d)"})
    recs += rows("escalation", OVERALL, OVERALL, "HIGHEST_TESTED", "",
                 {"level": status["highest"]} if status["highest"] else
                 {"level": None, "reason": "no subject received CAR-T"})
    recs += rows("escalation", OVERALL, OVERALL, "STOP", "",
                 {"holds": "Y" if status["stop"] else "N", "condition": status["stop_reason"]})
    recs += rows("escalation", OVERALL, OVERALL, "EXCEEDED", "", {"levels": ", ".join(status["exceeded"])})
    return frame(recs)


def short_id(usubjid: str) -> str:
    """The subject number after the last '-' (NCT07021534-01-0004 -> 0004)."""
    return str(usubjid).rsplit("-", 1)[-1]


def ard_esc_replay(table: pd.DataFrame) -> pd.DataFrame:
    recs = []
    for r in table.itertuples(index=False):
        stats = {"level": r.level, "mode": r.mode, "kind": r.kind, "subjects": ", ".join(short_id(s) for s in r.subjects),
                 "n": r.n, "n_evaluable": r.n_evaluable, "n_dlt": r.n_dlt, "n_trigger": r.n_trigger,
                 "n_pending": r.n_pending, "cum_n_evaluable": r.cum_n_evaluable, "cum_n_dlt": r.cum_n_dlt,
                 "decision": r.decision, "decision_text": r.decision_text, "rule_next_level": r.rule_next_level,
                 "actual_next_level": r.actual_next_level, "deviation": "Y" if r.deviation else "N",
                 "deviation_text": r.deviation_text}
        recs += rows("esc_replay", "COHORT", str(r.cohort), "COHORT", "", stats)
    recs += rows("esc_replay", OVERALL, OVERALL, "DEVIATIONS", "", {"n": int(table["deviation"].sum()),
                                                                    "n_cohorts": len(table)})
    return frame(recs)


def ard_esc_subject(subjects: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    cohort_of = {s: r.cohort for r in table.itertuples(index=False) for s in r.subjects}
    recs = []
    for i, r in enumerate(subjects.itertuples(index=False), 1):
        recs += rows("esc_subject", "USUBJID", r.USUBJID, "ESC", "", {
            "order": i, "level": r.DOSELVL, "cohort": cohort_of.get(r.USUBJID), "cartsdt": str(r.CARTSDT.date()),
            "evaluable": r.DLTEVLFL, "dlt": r.DLTFL, "trigger": r.TRIGFL, "pending": r.PENDFL})
    return frame(recs)


def ard_isotonic(subjects: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """`isotonic`: DLT probability per level by pool-adjacent-violators over the levels
    with evaluable subjects (weights = evaluable subjects), with exact per-level CIs."""
    cnt = esc.level_counts(subjects, levels)
    used = cnt[cnt["n_evaluable"] > 0]
    fit = dict(zip(used["level"], esc.pava((used["n_dlt"] / used["n_evaluable"]).tolist(),
                                           used["n_evaluable"].tolist())))
    recs = []
    for r in cnt.itertuples(index=False):
        p = esc.dlt_rate(int(r.n_dlt), int(r.n_evaluable))
        stats = {"n_evaluable": r.n_evaluable, "n_dlt": r.n_dlt, "rate": p.estimate,
                 "estimate": fit.get(r.level), "lcl": p.lcl, "ucl": p.ucl}
        if r.level not in fit:
            stats["reason"] = "no DLT-evaluable subject at this level"
        recs += rows("isotonic", "DOSELVL", r.level, "DLT", "", stats)
    return frame(recs)


# --------------------------------------------------------------------------- TEAE

def _subjects(ad: pd.DataFrame, mask) -> set:
    return set(ad.loc[mask, "USUBJID"])


def ard_teae_ovr(adsl: pd.DataFrame, adae: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """`teae_ovr`: subjects with any TEAE, grade >=3, serious, related, related grade >=3,
    leading to death, DLT, CRS, ICANS; N = safety subjects of the column."""
    te = adae[adae["TRTEMFL"].eq("Y")]
    g3 = te["ATOXGRN"].fillna(0) >= 3
    cats = {
        "ANY": _subjects(te, slice(None)),
        "G3": _subjects(te, g3),
        "SER": _subjects(te, te["AESER"].eq("Y").fillna(False)),
        "REL": _subjects(te, te["RELFL"].eq("Y")),
        "REL_G3": _subjects(te, te["RELFL"].eq("Y") & g3),
        "DEATH": _subjects(te, te["FATALFL"].eq("Y")),
        "DLT": _subjects(adae, adae["DLTFL"].eq("Y")),
        "CRS": _subjects(te, te["CRSFL"].eq("Y")),
        "ICANS": _subjects(te, te["ICANSFL"].eq("Y")),
    }
    recs = []
    for g, gl, m in dose_groups(adsl, adsl["SAFFL"].eq("Y"), levels):
        ids = set(adsl.loc[m, "USUBJID"])
        recs += rows("teae_ovr", g, gl, "N", "", {"n": len(ids)})
        for var, subj in cats.items():
            recs += rows("teae_ovr", g, gl, var, "", {"n": len(ids & subj)})
    return frame(recs)


def ard_teae_terms(adsl: pd.DataFrame, adae: pd.DataFrame, levels: list[str], analysis: str = "teae",
                   related_only: bool = False) -> pd.DataFrame:
    """`teae` / `teae_rel`: subjects by SOC and by PT, any grade and grade >=3."""
    te = adae[adae["TRTEMFL"].eq("Y")].copy()
    if related_only:
        te = te[te["RELFL"].eq("Y")]
    te["AEBODSYS"] = te["AEBODSYS"].fillna("Not coded")
    if "AETERM" in te.columns:
        te["AEDECOD"] = te["AEDECOD"].fillna(te["AETERM"])
    te["AEDECOD"] = te["AEDECOD"].fillna("Not coded")
    te["_g3"] = te["ATOXGRN"].fillna(0) >= 3
    soc_of = te.groupby("AEDECOD")["AEBODSYS"].first()
    recs = []
    for g, gl, m in dose_groups(adsl, adsl["SAFFL"].eq("Y"), levels):
        ids = set(adsl.loc[m, "USUBJID"])
        sub = te[te["USUBJID"].isin(ids)]
        for var in ("AEBODSYS", "AEDECOD"):
            for term in sorted(te[var].unique()):
                t = sub[sub[var] == term]
                stats = {"n_any": t["USUBJID"].nunique(), "n_g3": t.loc[t["_g3"], "USUBJID"].nunique()}
                if var == "AEDECOD" and g == OVERALL:
                    stats["soc"] = soc_of[term]
                recs += rows(analysis, g, gl, var, term, stats)
    return frame(recs)


def ard_crs(adsl: pd.DataFrame, adae: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """`crs`: CRS and ICANS by worst ASTCT grade; first episode's onset (days after the
    last preceding infusion) and preceding product; duration of the first episode;
    tocilizumab and corticosteroid use (any episode)."""
    recs = []
    for var, flag in (("CRS", "CRSFL"), ("ICANS", "ICANSFL")):
        ev = adae[adae[flag].eq("Y") & adae["TRTEMFL"].eq("Y")].sort_values(["USUBJID", "ASTDT"])
        first = ev.groupby("USUBJID").head(1).set_index("USUBJID")
        worst = ev.groupby("USUBJID")["ATOXGRN"].max()
        toci = set(ev.loc[ev["TOCIFL"].eq("Y"), "USUBJID"])
        cort = set(ev.loc[ev["CORTFL"].eq("Y"), "USUBJID"])
        for g, gl, m in dose_groups(adsl, adsl["SAFFL"].eq("Y"), levels):
            ids = sorted(set(adsl.loc[m, "USUBJID"]) & set(ev["USUBJID"]))
            f = first.loc[ids] if ids else first.iloc[0:0]
            w = worst.reindex(ids)
            onset, dur = f["PRINFDY"].dropna().astype(float), f["ADURN"].dropna().astype(float)
            stats = {"N": int(m.sum()), "n": len(ids)}
            stats.update({f"n_g{k}": int((w == k).sum()) for k in GRADES})
            stats.update({"n_after_carnk": int(f["PRINFPRD"].eq("CAR-NK").sum()),
                          "n_after_cart": int(f["PRINFPRD"].eq("CAR-T").sum()),
                          "onset_median": onset.median() if len(onset) else None,
                          "onset_min": onset.min() if len(onset) else None,
                          "onset_max": onset.max() if len(onset) else None,
                          "dur_median": dur.median() if len(dur) else None,
                          "dur_min": dur.min() if len(dur) else None,
                          "dur_max": dur.max() if len(dur) else None,
                          "n_toci": len(set(ids) & toci), "n_cort": len(set(ids) & cort)})
            if not len(ids):
                stats["reason"] = f"no subject with {var}"
            elif not len(dur):
                stats["reason"] = f"{var} ongoing at the data cut: no duration"
            recs += rows("crs", g, gl, var, "", stats)
    return frame(recs)


# --------------------------------------------------------------------------- labs

def _grade_label(x) -> str:
    return "NA" if pd.isna(x) else str(int(x))


def ard_lab_shift(adsl: pd.DataFrame, worst: pd.DataFrame, levels: list[str], params: list[str]) -> pd.DataFrame:
    """`lab_shift`: subjects by baseline grade -> worst on-treatment grade per parameter."""
    recs = []
    w = worst.copy()
    w["shift"] = w["BTOXGRN"].map(_grade_label) + "->" + w["WORST"].map(_grade_label)
    for g, gl, m in dose_groups(adsl, adsl["SAFFL"].eq("Y"), levels):
        ids = set(adsl.loc[m, "USUBJID"])
        sub = w[w["USUBJID"].isin(ids)]
        for cd in params:
            p = sub[sub["PARAMCD"] == cd]
            recs += rows("lab_shift", g, gl, cd, "", {"n_subjects": len(p)})
            for shift, n in sorted(p["shift"].value_counts().items()):
                recs += rows("lab_shift", g, gl, cd, shift, {"n": int(n)})
    return frame(recs)


def ard_edish(peaks: pd.DataFrame, pairs: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """`edish`: per subject the peak on-treatment ALT, AST, bilirubin (x ULN), dose level
    and whether a potential Hy's law pair exists."""
    lvl = adsl.set_index("USUBJID")["DOSELVL"]
    hy = set(pairs["USUBJID"])
    recs = []
    for r in peaks.itertuples(index=False):
        for var in ("ALT", "AST", "BILI"):
            v = getattr(r, var)
            stats = {"peak_xuln": v} if pd.notna(v) else {"peak_xuln": None, "reason": "no on-treatment value with a ULN"}
            recs += rows("edish", "USUBJID", r.USUBJID, var, "", stats)
        d = lvl.get(r.USUBJID)
        recs += rows("edish", "USUBJID", r.USUBJID, "SUBJECT", "",
                     {"doselvl": NO_CART if pd.isna(d) else d, "hyslaw": "Y" if r.USUBJID in hy else "N"})
    recs += rows("edish", OVERALL, OVERALL, "HYSLAW", "", {"n": len(hy), "n_subjects": len(peaks)})
    return frame(recs)
