"""Efficacy stage (SAP §6-7): ADRS, ADTR and ADTTE by the SAP's settings, and the ARD
analyses `bor`, `orr`, `dcr`, `conc`, `km`, `km_curve`, `km_risk`.

The derivations themselves live in analysis.response (timepoints, best response),
analysis.tte (time to event) and analysis.survival (Kaplan-Meier); this module only
chooses the SAP's settings (origin = ADSL RFSTDT, baseline = on or before the first
infusion, cut at new anticancer therapy, missed-assessment window) and turns the
results into ARD rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import response as R
from analysis import survival as S
from analysis import tte as T
from analysis.ard import OVERALL, dose_groups, frame, rows
from analysis.stats import compute_clopper_pearson

MONTH = 30.4375
BEST_PARAMS = ("CBOR", "BOR", "HBOR")
ORR_CATS = ("CR", "PR")
DCR_CATS = ("CR", "PR", "SD")
TTE_PARAMS = ("PFS", "OS", "DOR")
CONC_VAR = "OVR->OVRCALC"


# ADRS variables and their types (every record type gets every column).
ADRS_TYPES = {"USUBJID": "string", "PARAMCD": "string", "PARAM": "string", "AVALC": "string", "AVAL": "float64",
              "ADT": "datetime64[ns]", "ADTF": "string", "VISIT": "string", "VISITNUM": "float64",
              "SRCDOM": "string", "SRCSEQ": "float64", "ANL01FL": "string", "ANL02FL": "string",
              "ANL03FL": "string", "TRGRESP": "string", "NTRGRESP": "string", "NEWLES": "string",
              "SUMDIAM": "float64"}


def conform(df: pd.DataFrame, types: dict) -> pd.DataFrame:
    """`df` with exactly the columns of `types`, in that order and of those types."""
    out = pd.DataFrame(index=df.index)
    for c, t in types.items():
        if c in df.columns:
            if t.startswith("datetime"):
                out[c] = pd.to_datetime(df[c]).astype(t)
            elif t == "float64":
                out[c] = pd.to_numeric(df[c], errors="coerce").astype(t)
            else:
                out[c] = df[c].astype(t)
        else:
            out[c] = pd.Series(pd.NaT if t.startswith("datetime") else (pd.NA if t == "string" else np.nan),
                               index=df.index, dtype=t)
    return out


SETTINGS_DEFAULTS = {"confirm_min_days": 28, "sd_min_days": 42, "missed_assessments_window_days": None,
                     "max_ne_between": 1, "new_therapy_cut": True, "dor_responders": "confirmed",
                     "tte_set": "EFFFL", "survival_days": [91, 183]}


def settings(cfg: dict) -> dict:
    """The stage's settings: config `response` (RECIST windows, shared) and `efficacy`."""
    out = dict(SETTINGS_DEFAULTS)
    out.update(cfg.get("response", {}) or {})
    out.update(cfg.get("efficacy", {}) or {})
    return out


def rules_from(cfg: dict) -> R.ResponseRules:
    r = settings(cfg)
    return R.ResponseRules(int(r.get("confirm_min_days", 28)), int(r.get("sd_min_days", 42)),
                           int(r.get("max_ne_between", 1)))


# --------------------------------------------------------------------------- ADaM

def derive_efficacy_adam(adsl: pd.DataFrame, domains: dict[str, pd.DataFrame], present: set[str],
                         cfg: dict) -> dict[str, pd.DataFrame]:
    """ADRS, ADTR and ADTTE of the trial (SAP §6-7) from ADSL and the validated SDTM."""
    resp = settings(cfg)
    rules = rules_from(cfg)
    a = adsl.set_index("USUBJID")
    origin = pd.to_datetime(a["RFSTDT"])
    subjects = adsl["USUBJID"].astype("string")
    cut = bool(resp.get("new_therapy_cut", True))
    cm = domains.get("CM") if "CM" in present else None
    nact = R.derive_new_therapy(cm, origin) if cut else None

    ovr = R.derive_ovr(domains["RS"], origin, include_origin_day=False, new_therapy=nact)
    oset = R.analysis_set(ovr, new_therapy_cut=cut)
    calc, sums = R.derive_ovrcalc(domains["TU"], domains["TR"], origin)
    calc = R.flag_timepoints(calc, origin, include_origin_day=False, new_therapy=nact)
    hovr, _ = R.derive_ovrcalc(domains["TU"], domains["TR"], origin, organ="LIVER", paramcd="HOVR")
    hovr = R.flag_timepoints(hovr, origin, include_origin_day=False, new_therapy=nact)
    hset = R.analysis_set(hovr, new_therapy_cut=cut)

    anl = ovr[ovr["ANL01FL"].eq("Y").fillna(False) & (ovr["ANL03FL"].eq("Y").fillna(False) | (not cut))]
    bor = R.derive_bor(oset, subjects, origin, rules)
    cbor = R.derive_cbor(oset, subjects, origin, rules)
    hbor = R.derive_cbor(hset, subjects, origin, rules, paramcd="HBOR")
    per_subject = [bor, cbor, hbor,
                   R.derive_pd(oset, subjects), R.derive_rsp(oset, subjects),
                   R.derive_crsp(oset, subjects, rules), R.derive_lsta(anl, subjects),
                   R.derive_death(a["DTHDT"])]
    parts = [conform(p, ADRS_TYPES) for p in [ovr, calc, hovr, *per_subject] if len(p)]
    adrs = pd.concat(parts, ignore_index=True) if parts else conform(pd.DataFrame(), ADRS_TYPES)
    adrs = adrs.merge(adsl[["USUBJID", "DOSELVL", "EFFFL"]].astype({"USUBJID": "string"}), on="USUBJID", how="left")
    adrs["NACTDT"] = pd.to_datetime(nact).reindex(adrs["USUBJID"]).values if nact is not None else pd.NaT
    adrs["NACTCUT"] = ("Y" if cut and cm is not None else
                       "N: CM domain not in the export" if cut else "N: switched off (efficacy.new_therapy_cut)")
    adrs = adrs.sort_values(["USUBJID", "PARAMCD", "ADT", "VISITNUM"], na_position="last").reset_index(drop=True)
    adrs["ASEQ"] = adrs.groupby("USUBJID").cumcount() + 1
    for c in ("USUBJID", "PARAMCD", "PARAM", "AVALC", "ADTF", "VISIT", "ANL01FL", "ANL02FL", "ANL03FL",
              "SRCDOM", "TRGRESP", "NTRGRESP", "NEWLES", "DOSELVL", "EFFFL", "NACTCUT"):
        if c in adrs.columns:
            adrs[c] = adrs[c].astype("string")
    adrs["ADT"] = pd.to_datetime(adrs["ADT"]).astype("datetime64[ns]")

    pd_dt = adrs[adrs["PARAMCD"].eq("PD") & adrs["AVALC"].eq("Y")].set_index("USUBJID")["ADT"]
    end = pd.concat([pd_dt.reindex(origin.index),
                     (pd.to_datetime(nact) if nact is not None else pd.Series(pd.NaT, index=origin.index))],
                    axis=1).min(axis=1)
    adtr = R.derive_adtr(sums, window_end=end) if len(sums) else sums
    if len(adtr):
        adtr = adtr.merge(adsl[["USUBJID", "DOSELVL", "EFFFL", "RFSTDT"]].astype({"USUBJID": "string"}),
                          on="USUBJID", how="left")
        adtr["ADY"] = (adtr["ADT"] - adtr["RFSTDT"]).dt.days + (adtr["ADT"] >= adtr["RFSTDT"]).astype(int)

    responders = "CRSP" if resp.get("dor_responders", "confirmed") == "confirmed" else "RSP"
    adtte = T.derive_adtte_sap(adsl, adrs, ovr, nact, resp.get("missed_assessments_window_days"),
                               responders=responders)
    return {"adrs": adrs, "adtr": adtr, "adtte": adtte}


# --------------------------------------------------------------------------- pairs

def pair_timepoints(adrs: pd.DataFrame) -> pd.DataFrame:
    """Investigator (OVR) and recomputed (OVRCALC) timepoint responses side by side:
    post-baseline records (ANL01FL) of the same subject and visit (VISITNUM), or the
    same date when a visit number is missing."""
    o = adrs[adrs["PARAMCD"].eq("OVR") & adrs["ANL01FL"].eq("Y").fillna(False)]
    c = adrs[adrs["PARAMCD"].eq("OVRCALC") & adrs["ANL01FL"].eq("Y").fillna(False)]
    keep_c = ["USUBJID", "VISITNUM", "ADT", "AVALC", "TRGRESP", "NTRGRESP", "NEWLES", "SUMDIAM"]
    keep_c = [k for k in keep_c if k in c.columns]
    o = o[["USUBJID", "VISITNUM", "VISIT", "ADT", "AVALC", "DOSELVL", "EFFFL"]]
    by_visit = o[o["VISITNUM"].notna()].merge(c[keep_c], on=["USUBJID", "VISITNUM"], suffixes=("", "_C"))
    by_date = o[o["VISITNUM"].isna()].merge(c[keep_c].drop(columns="VISITNUM"), left_on=["USUBJID", "ADT"],
                                            right_on=["USUBJID", "ADT"], suffixes=("", "_C"))
    if len(by_date):
        by_date["ADT_C"] = by_date["ADT"]
    p = pd.concat([x for x in (by_visit, by_date) if len(x)], ignore_index=True) if len(by_visit) or len(by_date) \
        else by_visit.assign(AVALC_C=pd.Series(dtype="string"))
    p = p.rename(columns={"AVALC": "INV", "AVALC_C": "CALC"})
    p["AGREE"] = p["INV"].eq(p["CALC"])
    return p.sort_values(["USUBJID", "ADT"]).reset_index(drop=True)


# --------------------------------------------------------------------------- ARD

def _reason_rows(analysis, g, gl, variable, reasons: list[str]) -> list[dict]:
    return rows(analysis, g, gl, variable, "", {"reason": "; ".join(reasons)}) if reasons else []


def _proportion(analysis, g, gl, variable, n_resp, n) -> list[dict]:
    p = compute_clopper_pearson(n_resp, n)
    recs = rows(analysis, g, gl, variable, "", {"n_resp": n_resp, "n": n, "estimate": p.estimate,
                                                 "lcl": p.lcl, "ucl": p.ucl})
    if p.estimate is None:
        recs += _reason_rows(analysis, g, gl, variable, ["estimate, lcl, ucl: no efficacy-evaluable subject in the group"])
    return recs


def ard_response(adsl: pd.DataFrame, adrs: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """`bor` (n per category; n_total with an empty level = the denominator), `orr` (CR+PR) and
    `dcr` (CR+PR+SD) with Clopper-Pearson CIs, for CBOR, BOR and HBOR; efficacy set,
    overall and per dose level."""
    eff = adsl["EFFFL"].eq("Y").fillna(False)
    recs = []
    for param in BEST_PARAMS:
        val = adrs[adrs["PARAMCD"].eq(param)].set_index("USUBJID")["AVALC"]
        for g, gl, m in dose_groups(adsl, eff, levels):
            v = val.reindex(adsl.loc[m, "USUBJID"]).fillna("MISSING")
            n = len(v)
            recs += rows("bor", g, gl, param, "", {"n_total": n})
            for cat in R.RESPONSES:
                recs += rows("bor", g, gl, param, cat, {"n": int(v.eq(cat).sum())})
            recs += _proportion("orr", g, gl, param, int(v.isin(ORR_CATS).sum()), n)
            recs += _proportion("dcr", g, gl, param, int(v.isin(DCR_CATS).sum()), n)
    # How the new-anticancer-therapy rule was applied (for the tables' notes).
    cut = str(adrs["NACTCUT"].dropna().iloc[0]) if "NACTCUT" in adrs.columns and adrs["NACTCUT"].notna().any() else "Y"
    recs += rows("rules", OVERALL, OVERALL, "NEW_THERAPY_CUT", "", {"applied": cut[:1]})
    if cut != "Y":
        recs += rows("rules", OVERALL, OVERALL, "NEW_THERAPY_CUT", "", {"reason": f"applied: {cut[3:]}"})
    return frame(recs)


def ard_concordance(adrs: pd.DataFrame) -> pd.DataFrame:
    """`conc`: investigator vs recomputed timepoint responses: n per pair of values
    (variable_level "INV->CALC"), n_pairs, n_agree, agreement with Clopper-Pearson CI,
    Cohen's kappa (unweighted)."""
    p = pair_timepoints(adrs)
    recs = []
    n = len(p)
    for (i, c), k in sorted(p.groupby(["INV", "CALC"]).size().items()):
        recs += rows("conc", OVERALL, OVERALL, CONC_VAR, f"{i}->{c}", {"n": int(k)})
    agree = int(p["AGREE"].sum())
    cp = compute_clopper_pearson(agree, n)
    stats = {"n_pairs": n, "n_agree": agree, "agreement": cp.estimate, "agreement_lcl": cp.lcl,
             "agreement_ucl": cp.ucl, "kappa": cohen_kappa(p["INV"], p["CALC"])}
    recs += rows("conc", OVERALL, OVERALL, CONC_VAR, "", stats)
    reasons = []
    if n == 0:
        reasons.append("agreement, kappa: no pair of assessments")
    elif stats["kappa"] is None:
        reasons.append("kappa: chance agreement is 1 (a single category)")
    recs += _reason_rows("conc", OVERALL, OVERALL, CONC_VAR, reasons)
    return frame(recs)


def cohen_kappa(a: pd.Series, b: pd.Series) -> float | None:
    """Unweighted Cohen's kappa; None when undefined (no pair, or chance agreement 1)."""
    n = len(a)
    if n == 0:
        return None
    po = float((a.values == b.values).mean())
    cats = sorted(set(a) | set(b))  # a fixed order: the float sum must not depend on hashing
    pe = sum(float((a == k).mean()) * float((b == k).mean()) for k in cats)
    return None if pe >= 1 else (po - pe) / (1 - pe)


def _reasons(prefix: str, est) -> list[str]:
    """'stat[, stat]: why' texts of the missing parts of an Estimate (stats named
    prefix, prefix_lcl, prefix_ucl); stats missing for the same reason share a text."""
    why = {}
    if est.value is None and est.reason:
        why[prefix] = est.reason
    for k, v in (est.ci_reason or {}).items():
        if v:
            why[f"{prefix}_{k}"] = v
    out: dict[str, list[str]] = {}
    for stat, text in why.items():
        out.setdefault(text, []).append(stat)
    return [f"{', '.join(stats)}: {text}" for text, stats in out.items()]


def parse_reasons(text: str) -> dict[str, str]:
    """The `reason` value of the ARD back into {stat: why}."""
    out = {}
    for part in filter(None, (text or "").split("; ")):
        names, _, why = part.partition(": ")
        for n in names.split(", "):
            out[n] = why
    return out


KM_ESTIMATES = ("median", "surv", "median_fu")


def km_stats(aval: pd.Series, cnsr: pd.Series, days=(91, 183)) -> tuple[dict, list[str], pd.DataFrame]:
    """The `km` statistics of one group: n, events, censored, median (days) with its
    Brookmeyer-Crowley CI, survival at each day of ``days`` with log-log CIs, median
    follow-up by reverse KM; the reasons of missing estimates ('stat: why'); the KM
    table."""
    t = aval.astype(float).to_numpy()
    e = (cnsr.astype(int) == 0).astype(int).to_numpy()
    stats: dict = {"n": len(t), "events": int(e.sum()), "censored": int(len(t) - e.sum())}
    names = ["median"] + [f"surv_{d}" for d in days] + ["median_fu"]
    if len(t) == 0:
        keys = [f"{k}{s}" for k in names for s in ("", "_lcl", "_ucl")]
        stats.update({k: None for k in keys})
        return stats, [", ".join(keys) + ": no subject in the group"], S.km_table([], [])
    tab = S.km_table(t, e)
    ests = {"median": S.km_median(tab)}
    ests.update({f"surv_{d}": S.km_at(tab, d) for d in days})
    ests["median_fu"] = S.reverse_km_median(t, e)
    reasons: list[str] = []
    for k in names:
        est = ests[k]
        stats.update({k: est.value, f"{k}_lcl": est.lcl, f"{k}_ucl": est.ucl})
        reasons += _reasons(k, est)
    return stats, reasons, tab


def ard_km(adsl: pd.DataFrame, adtte: pd.DataFrame, levels: list[str], set_flag: str = "EFFFL",
           days=(91, 183)) -> pd.DataFrame:
    """`km` (summary statistics), `km_curve` (the step function: per distinct time,
    variable_level = day: n_risk, n_event, n_censor, surv, surv_lcl, surv_ucl) and
    `km_risk` (numbers at risk at the plot's grid days) for PFS, OS and DOR, in the
    analysis set ``set_flag``, overall and per dose level."""
    inset = adsl[set_flag].eq("Y").fillna(False)
    recs = []
    for param in TTE_PARAMS:
        d = adtte[adtte["PARAMCD"].eq(param)].set_index("USUBJID")
        d_all = d[d.index.isin(adsl.loc[inset, "USUBJID"])]
        grid = S.risk_grid(float(d_all["AVAL"].max()) if len(d_all) else 0.0, MONTH)
        for g, gl, m in dose_groups(adsl, inset, levels):
            sub = d[d.index.isin(adsl.loc[m, "USUBJID"])]
            stats, reasons, tab = km_stats(sub["AVAL"], sub["CNSR"], days)
            recs += rows("km", g, gl, param, "", stats)
            recs += _reason_rows("km", g, gl, param, reasons)
            for r in tab.itertuples():
                recs += rows("km_curve", g, gl, param, _day(r.time),
                             {"n_risk": int(r.n_risk), "n_event": int(r.n_event), "n_censor": int(r.n_censor),
                              "surv": r.surv, "surv_lcl": r.lcl, "surv_ucl": r.ucl})
                if np.isnan(r.lcl):
                    recs += rows("km_curve", g, gl, param, _day(r.time),
                                 {"reason": "surv_lcl, surv_ucl: log(-log) CI undefined where survival is 0"})
            for day, k in zip(grid, S.at_risk(sub["AVAL"].to_numpy(), grid)):
                recs += rows("km_risk", g, gl, param, _day(day), {"n_risk": k})
    return frame(recs)


def ard_logrank(adsl: pd.DataFrame, adtte: pd.DataFrame, levels: list[str], set_flag: str = "EFFFL") -> pd.DataFrame:
    """`logrank`: log-rank test between the CAR-T dose levels with subjects (descriptive,
    SAP §7): chisq, df, p; a reason when fewer than two levels have subjects or there is
    no event."""
    from lifelines.statistics import multivariate_logrank_test
    inset = adsl[set_flag].eq("Y").fillna(False) & adsl["DOSELVL"].isin(levels).fillna(False)
    lvl = adsl.loc[inset].set_index("USUBJID")["DOSELVL"]
    recs = []
    for param in TTE_PARAMS:
        d = adtte[adtte["PARAMCD"].eq(param) & adtte["USUBJID"].isin(lvl.index)]
        groups = d["USUBJID"].map(lvl)
        stats = {"chisq": None, "df": None, "p": None}
        reason = None
        if groups.nunique() < 2:
            reason = "chisq, df, p: fewer than two dose levels with subjects"
        elif (d["CNSR"] == 0).sum() == 0:
            reason = "chisq, df, p: no event"
        else:
            r = multivariate_logrank_test(d["AVAL"], groups, (d["CNSR"] == 0).astype(int))
            stats = {"chisq": float(r.test_statistic), "df": int(r.degrees_of_freedom), "p": float(r.p_value)}
        recs += rows("logrank", "DOSELVL", "all", param, "", stats)
        if reason:
            recs += rows("logrank", "DOSELVL", "all", param, "", {"reason": reason})
    return frame(recs)


def _day(x: float) -> str:
    from analysis.ard import fmt_value
    return fmt_value(float(x))


def months(days: float | None) -> float | None:
    return None if days is None or (isinstance(days, float) and np.isnan(days)) else days / MONTH
