"""Tumour response (SAP §6): ADRS and ADTR.

The derivations are pure functions of frames, parameterised so that the same code
gives both the SAP's results and the admiralonco reference's (tests/test_response_
conformance.py feeds the pharmaverse SDTM through them):

* ``derive_ovr``      investigator timepoint responses (RS OVRLRESP), with the flags
                      ANL01FL (one record per date, the worst; on/after the origin),
                      ANL02FL (up to and including the first PD) and ANL03FL (on or
                      before the start of a new anticancer therapy).
* ``derive_ovrcalc``  timepoint responses recomputed from the lesion measurements
                      (TU/TR) by RECIST 1.1; restricted to liver lesions it gives the
                      intrahepatic timepoint responses (``HOVR``).
* ``derive_bor`` / ``derive_cbor``  best overall response, unconfirmed / confirmed.
* ``derive_pd``, ``derive_rsp``, ``derive_crsp``, ``derive_cb``, ``derive_ccb``,
  ``derive_lsta``, ``derive_death``, ``derive_mdis``, ``derive_yn_from``
                      the other per-subject parameters (one record per subject).
* ``derive_adtr``     target-lesion sum of diameters (SDIAM) with BASE, PCHG, NADIR.

Every per-subject parameter has one record for every subject passed in (as the
reference does): subjects without assessments get ``MISSING`` (best responses) or
``N`` (yes/no parameters), without a date.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import dates

# AVAL codes of the responses (admiralonco's coding).
AVAL_CODES = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}
# Rank used to pick the worst response of a day (higher = worse); unmapped values 0.
WORST_RANK = {"NE": 1, "CR": 2, "PR": 3, "SD": 4, "NON-CR/NON-PD": 5, "PD": 6}
RESPONSES = ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING"]
ADEQUATE = {"CR", "PR", "SD", "NON-CR/NON-PD", "PD"}  # an "adequate" assessment (not NE)

PARAMS = {
    "OVR": "Overall Response by Investigator",
    "OVRCALC": "Overall Response recomputed from lesion measurements (RECIST 1.1)",
    "HOVR": "Intrahepatic Overall Response recomputed from liver lesions (RECIST 1.1)",
    "BOR": "Best Overall Response by Investigator (confirmation not required)",
    "CBOR": "Best Confirmed Overall Response by Investigator",
    "HBOR": "Best Confirmed Intrahepatic Overall Response (liver lesions, recomputed)",
    "PD": "Disease Progression by Investigator",
    "RSP": "Response by Investigator (confirmation not required)",
    "CRSP": "Confirmed Response by Investigator",
    "CB": "Clinical Benefit by Investigator (confirmation not required)",
    "CCB": "Confirmed Clinical Benefit by Investigator",
    "BCP": "Best Overall Response of CR/PR by Investigator (confirmation not required)",
    "CBCP": "Best Confirmed Overall Response of CR/PR by Investigator",
    "LSTA": "Last Disease Assessment by Investigator",
    "DEATH": "Death",
    "MDIS": "Measurable Disease at Baseline",
    "SDIAM": "Target Lesions Sum of Diameters",
}

RECORD_VARS = ["ADT", "ADTF", "VISIT", "VISITNUM", "SRCSEQ"]


@dataclass(frozen=True)
class ResponseRules:
    """Settings of the best-response rules (SAP §6; the reference uses the defaults).

    confirm_min_days: a CR/PR is confirmed by a later one at least this many days later.
    sd_min_days: an assessment counts towards SD only on or after origin + this many days.
    max_ne: NE assessments allowed between a response and its confirmation.
    """
    confirm_min_days: int = 28
    sd_min_days: int = 42
    max_ne: int = 1


def _upper(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.upper()


def _origin_for(df: pd.DataFrame, origin: pd.Series) -> pd.Series:
    o = pd.to_datetime(origin)
    return pd.Series(o.reindex(df["USUBJID"]).to_numpy(), index=df.index, dtype="datetime64[ns]")


# --------------------------------------------------------------------------- timepoints

def flag_timepoints(tp: pd.DataFrame, origin: pd.Series, *, include_origin_day: bool = True,
                    new_therapy: pd.Series | None = None) -> pd.DataFrame:
    """Analysis flags of timepoint responses (columns USUBJID, ADT, AVALC, SRCSEQ).

    ANL01FL: one record per subject and date among records with a mapped AVALC and a
      date on or after the origin (``include_origin_day``; else strictly after): the
      worst of the day (PD > NON-CR/NON-PD > SD > PR > CR > NE), ties to the highest
      SRCSEQ.
    ANL02FL: every record (ordered by ADT, SRCSEQ) up to and including the subject's
      first PD, looked for among all records; all records when there is no PD.
    ANL03FL: on or before the first new anticancer therapy (``new_therapy``: date per
      subject), all dated records when there is none.
    """
    d = tp.copy()
    d["AVAL"] = d["AVALC"].map(AVAL_CODES).astype(float)
    org = _origin_for(d, origin)
    after = (d["ADT"] >= org) if include_origin_day else (d["ADT"] > org)
    ok = d["AVAL"].notna() & d["ADT"].notna() & after.fillna(False)
    d["_rank"] = d["AVALC"].map(WORST_RANK).fillna(0)
    d["_seq"] = d["SRCSEQ"].astype(float).fillna(-1)
    cand = d[ok].sort_values(["USUBJID", "ADT", "_rank", "_seq"])
    worst = cand.groupby(["USUBJID", "ADT"]).tail(1).index
    d["ANL01FL"] = np.where(d.index.isin(worst), "Y", None)

    s = d.sort_values(["USUBJID", "ADT", "_seq"], na_position="last")
    is_pd = s["AVALC"].eq("PD").fillna(False).astype(int)
    pd_before = is_pd.groupby(s["USUBJID"]).cumsum() - is_pd  # PDs strictly before
    d["ANL02FL"] = pd.Series(np.where(pd_before.eq(0), "Y", None), index=s.index).reindex(d.index)

    if new_therapy is None:
        d["ANL03FL"] = np.where(d["ADT"].notna(), "Y", None)
    else:
        nact = _origin_for(d, new_therapy)
        d["ANL03FL"] = np.where(d["ADT"].notna() & (nact.isna() | (d["ADT"] <= nact)), "Y", None)
    for c in ("ANL01FL", "ANL02FL", "ANL03FL"):
        d[c] = d[c].astype("string")
    return d.drop(columns=["_rank", "_seq"])


def analysis_set(tp: pd.DataFrame, new_therapy_cut: bool = True) -> pd.DataFrame:
    """The timepoints the best-response rules use: ANL01FL and ANL02FL (and ANL03FL
    when cutting at new anticancer therapy), ordered by subject and date."""
    m = tp["ANL01FL"].eq("Y") & tp["ANL02FL"].eq("Y")
    if new_therapy_cut:
        m &= tp["ANL03FL"].eq("Y")
    return tp[m.fillna(False)].sort_values(["USUBJID", "ADT"]).reset_index(drop=True)


def derive_ovr(rs: pd.DataFrame, origin: pd.Series, *, evaluator: str | None = "INVESTIGATOR",
               testcd: str = "OVRLRESP", include_origin_day: bool = True,
               new_therapy: pd.Series | None = None) -> pd.DataFrame:
    """PARAMCD OVR: the investigator's timepoint responses with their analysis flags.

    ADT from RSDTC, a missing day imputed to the last day of the month (ADTF "D"); a
    missing month is not imputed (no ADT). AVALC = RSSTRESC.
    """
    r = rs[_upper(rs["RSTESTCD"]) == testcd]
    if evaluator is not None and "RSEVAL" in r.columns:
        r = r[_upper(r["RSEVAL"]).fillna(evaluator) == evaluator]
    adt, adtf = dates.impute_day_last(r["RSDTC"])
    out = pd.DataFrame({
        "USUBJID": r["USUBJID"].astype("string").values,
        "PARAMCD": "OVR", "PARAM": PARAMS["OVR"],
        "AVALC": _upper(r["RSSTRESC"]).values,
        "ADT": adt.values, "ADTF": adtf.replace("", pd.NA).values,
        "VISIT": r["VISIT"].values if "VISIT" in r.columns else pd.NA,
        "VISITNUM": pd.to_numeric(r["VISITNUM"], errors="coerce").values if "VISITNUM" in r.columns else np.nan,
        "SRCSEQ": pd.to_numeric(r["RSSEQ"], errors="coerce").values if "RSSEQ" in r.columns else np.nan,
        "SRCDOM": "RS",
    })
    out["ADT"] = pd.to_datetime(out["ADT"])
    out = flag_timepoints(out, origin, include_origin_day=include_origin_day, new_therapy=new_therapy)
    return out.sort_values(["USUBJID", "ADT", "SRCSEQ"], na_position="last").reset_index(drop=True)


# --------------------------------------------------------------------------- confirmation

def confirmed_responses(ovr_set: pd.DataFrame, rules: ResponseRules = ResponseRules()) -> pd.Series:
    """True for each CR or PR of the analysis set that is confirmed.

    CR on date d: confirmed by the first later CR on or after d + confirm_min_days; every
    record from the one after d up to that confirming CR must be CR or NE, with at most
    ``max_ne`` NE. PR on date d: confirmed by the first later CR or PR on or after
    d + confirm_min_days; every record in between (confirming record included) must be
    CR, PR or NE, at most ``max_ne`` NE, and no PR may follow a CR in that window.
    An SD or PD in between breaks the confirmation; there is no upper limit on the
    interval.
    """
    out = pd.Series(False, index=ovr_set.index)
    gap = pd.Timedelta(days=rules.confirm_min_days)
    for _, g in ovr_set.sort_values(["USUBJID", "ADT"]).groupby("USUBJID", sort=False):
        idx, val, adt = g.index.to_list(), g["AVALC"].to_list(), g["ADT"].to_list()
        for i, v in enumerate(val):
            if v not in ("CR", "PR"):
                continue
            confirming = ("CR",) if v == "CR" else ("CR", "PR")
            allowed = {"CR", "NE"} if v == "CR" else {"CR", "PR", "NE"}
            j = next((k for k in range(i + 1, len(val))
                      if val[k] in confirming and adt[k] >= adt[i] + gap), None)
            if j is None:
                continue
            window = val[i + 1:j + 1]
            if not set(window) <= allowed or window.count("NE") > rules.max_ne:
                continue
            if v == "PR" and "CR" in window and "PR" in window:
                if window.index("CR") < max(k for k, w in enumerate(window) if w == "PR"):
                    continue
            out[idx[i]] = True
    return out


# --------------------------------------------------------------------------- per subject

def _one_per_subject(subjects, picked: pd.DataFrame, paramcd: str, default: str,
                     param: str | None = None) -> pd.DataFrame:
    """One record per subject: the picked record (first per subject) or `default`."""
    subj = pd.Index(pd.Series(subjects, dtype="string").drop_duplicates(), name="USUBJID")
    keep = ["USUBJID", "AVALC"] + [c for c in RECORD_VARS if c in picked.columns]
    p = picked[keep].drop_duplicates("USUBJID").set_index("USUBJID").reindex(subj)
    p["AVALC"] = p["AVALC"].astype("string").fillna(default)
    for c in RECORD_VARS:
        if c not in p.columns:
            p[c] = pd.NA
    p["ADT"] = pd.to_datetime(p["ADT"])
    p = p.reset_index()
    p.insert(1, "PARAMCD", paramcd)
    p.insert(2, "PARAM", param or PARAMS.get(paramcd, paramcd))
    yn = p["AVALC"].isin(["Y", "N"])
    p["AVAL"] = np.where(yn, (p["AVALC"] == "Y").astype(float), p["AVALC"].map(AVAL_CODES).astype(float))
    p["ANL01FL"] = "Y"
    return p


def _late(d: pd.DataFrame, origin: pd.Series, days: int) -> pd.Series:
    return (d["ADT"] >= _origin_for(d, origin) + pd.Timedelta(days=days)).fillna(False)


def _best(ovr_set: pd.DataFrame, subjects, origin: pd.Series, rules: ResponseRules,
          confirmed: bool, paramcd: str, param: str | None = None) -> pd.DataFrame:
    d = ovr_set.sort_values(["USUBJID", "ADT"])
    v = d["AVALC"]
    late = _late(d, origin, rules.sd_min_days)
    conf = confirmed_responses(d, rules) if confirmed else pd.Series(True, index=d.index)
    # Categories in priority order; the first with a qualifying record wins, and its
    # earliest qualifying record gives ADT.
    cats = [
        ("CR", v.eq("CR") & conf),
        ("PR", v.eq("PR") & conf),
        ("SD", v.isin(["CR", "PR", "SD"]) & late),
        ("NON-CR/NON-PD", v.eq("NON-CR/NON-PD") & late),
        ("PD", v.eq("PD")),
        ("NE", v.isin(["CR", "PR", "SD", "NON-CR/NON-PD", "NE"])),
    ]
    picked = []
    for prio, (cat, m) in enumerate(cats):
        q = d[m.fillna(False)].copy()
        q["AVALC"], q["_prio"] = cat, prio
        picked.append(q)
    allp = pd.concat(picked).sort_values(["USUBJID", "_prio", "ADT"], kind="stable")
    return _one_per_subject(subjects, allp.groupby("USUBJID").head(1), paramcd, "MISSING", param)


def derive_bor(ovr_set: pd.DataFrame, subjects, origin: pd.Series,
               rules: ResponseRules = ResponseRules(), paramcd: str = "BOR") -> pd.DataFrame:
    """Best overall response, confirmation not required (priority CR, PR, SD on or after
    origin + sd_min_days, NON-CR/NON-PD on or after it, PD, NE; MISSING without
    assessments). ADT = the earliest qualifying assessment of the winning category."""
    return _best(ovr_set, subjects, origin, rules, confirmed=False, paramcd=paramcd)


def derive_cbor(ovr_set: pd.DataFrame, subjects, origin: pd.Series,
                rules: ResponseRules = ResponseRules(), paramcd: str = "CBOR") -> pd.DataFrame:
    """Best confirmed overall response: as ``derive_bor`` but CR and PR must be
    confirmed (``confirmed_responses``); an unconfirmed CR/PR late enough counts as SD."""
    return _best(ovr_set, subjects, origin, rules, confirmed=True, paramcd=paramcd)


def _yn(subjects, records: pd.DataFrame, paramcd: str, first: bool = True) -> pd.DataFrame:
    r = records.sort_values(["USUBJID", "ADT", "SRCSEQ"], na_position="last")
    r = (r.groupby("USUBJID").head(1) if first else r.groupby("USUBJID").tail(1)).copy()
    r["AVALC"] = "Y"
    return _one_per_subject(subjects, r, paramcd, "N")


def derive_pd(ovr_anl: pd.DataFrame, subjects) -> pd.DataFrame:
    """PD = Y with the date of the first PD among the records given."""
    return _yn(subjects, ovr_anl[ovr_anl["AVALC"].eq("PD")], "PD")


def derive_rsp(ovr_set: pd.DataFrame, subjects) -> pd.DataFrame:
    """RSP = Y at the first CR or PR (confirmation not required)."""
    return _yn(subjects, ovr_set[ovr_set["AVALC"].isin(["CR", "PR"])], "RSP")


def derive_crsp(ovr_set: pd.DataFrame, subjects, rules: ResponseRules = ResponseRules()) -> pd.DataFrame:
    """CRSP = Y at the first confirmed CR or PR (the date of the response, not of the
    confirming assessment)."""
    return _yn(subjects, ovr_set[confirmed_responses(ovr_set, rules)], "CRSP")


def derive_cb(ovr_set: pd.DataFrame, subjects, origin: pd.Series, rules: ResponseRules = ResponseRules(),
              confirmed: bool = False) -> pd.DataFrame:
    """CB (CCB when ``confirmed``): a (confirmed) CR/PR at any time, or a CR, PR, SD or
    NON-CR/NON-PD on or after origin + sd_min_days; ADT the earliest such date."""
    v = ovr_set["AVALC"]
    resp = v.isin(["CR", "PR"]) & (confirmed_responses(ovr_set, rules) if confirmed else True)
    late = v.isin(["CR", "PR", "SD", "NON-CR/NON-PD"]) & _late(ovr_set, origin, rules.sd_min_days)
    return _yn(subjects, ovr_set[(resp | late).fillna(False)], "CCB" if confirmed else "CB")


def derive_yn_from(best: pd.DataFrame, paramcd: str, values=("CR", "PR")) -> pd.DataFrame:
    """Y when a best-response parameter is one of ``values`` (e.g. BCP from BOR), with
    its record's date; otherwise N."""
    b = best[best["AVALC"].isin(list(values))].copy()
    b["AVALC"] = "Y"
    return _one_per_subject(best["USUBJID"], b, paramcd, "N")


def derive_lsta(ovr_anl01: pd.DataFrame, subjects) -> pd.DataFrame:
    """LSTA: the last assessment (by ADT, SRCSEQ) among the records given, its value
    copied; subjects without one get a record with empty AVALC and ADT."""
    r = ovr_anl01.sort_values(["USUBJID", "ADT", "SRCSEQ"]).groupby("USUBJID").tail(1)
    out = _one_per_subject(subjects, r, "LSTA", "")
    out["AVALC"] = out["AVALC"].replace("", pd.NA)
    return out


def derive_death(dthdt: pd.Series) -> pd.DataFrame:
    """DEATH = Y with ADT = DTHDT (index USUBJID) when present, else N."""
    d = pd.to_datetime(dthdt)
    rec = pd.DataFrame({"USUBJID": d.index.astype("string"), "ADT": d.values}).dropna(subset=["ADT"])
    rec["AVALC"] = "Y"
    out = _one_per_subject(d.index, rec, "DEATH", "N")
    out["SRCDOM"] = "ADSL"
    return out


def baseline_lesions(tu: pd.DataFrame, evaluator: str | None = "INVESTIGATOR",
                     visit: str | None = None) -> pd.DataFrame:
    """TU lesion identification (TUTESTCD TUMIDENT) of one evaluator: USUBJID, TULNKID,
    ROLE (TARGET / NON-TARGET / NEW), TULOC, NODAL (lymph node), TUDT."""
    t = tu.copy()
    if "TUTESTCD" in t.columns:
        t = t[_upper(t["TUTESTCD"]).fillna("TUMIDENT") == "TUMIDENT"]
    if evaluator is not None and "TUEVAL" in t.columns:
        t = t[_upper(t["TUEVAL"]).fillna(evaluator) == evaluator]
    if visit is not None:
        t = t[_upper(t["VISIT"]) == visit]
    role = _upper(t["TUSTRESC"]) if "TUSTRESC" in t.columns else _upper(t["TUORRES"])
    role = role.fillna(_upper(t["TUORRES"])) if "TUORRES" in t.columns else role
    loc = _upper(t["TULOC"]) if "TULOC" in t.columns else pd.Series(pd.NA, index=t.index, dtype="string")
    tudt = dates.impute_day_last(t["TUDTC"])[0] if "TUDTC" in t.columns else pd.Series(pd.NaT, index=t.index)
    return pd.DataFrame({"USUBJID": t["USUBJID"].astype("string").values,
                         "TULNKID": t["TULNKID"].astype("string").values,
                         "ROLE": role.values, "TULOC": loc.values,
                         "NODAL": loc.eq("LYMPH NODE").fillna(False).values,
                         "TUDT": pd.to_datetime(tudt).values,
                         "VISITNUM": pd.to_numeric(t["VISITNUM"], errors="coerce").values
                         if "VISITNUM" in t.columns else np.nan})


def derive_mdis(tu: pd.DataFrame, subjects, evaluator: str | None = "INVESTIGATOR",
                visit: str | None = "SCREENING") -> pd.DataFrame:
    """MDIS = Y when the evaluator identified a TARGET lesion (at ``visit``)."""
    les = baseline_lesions(tu, evaluator, visit)
    y = les[les["ROLE"].eq("TARGET")][["USUBJID"]].drop_duplicates().assign(AVALC="Y", ADT=pd.NaT)
    out = _one_per_subject(subjects, y, "MDIS", "N")
    out["ADT"] = pd.NaT
    return out


# --------------------------------------------------------------------------- RECIST from TR

TOL = 1e-9


def target_response(sum_mm: float, base: float, nadir: float, all_gone: bool) -> str:
    """RECIST 1.1 target-lesion response of one complete assessment.

    CR: every non-nodal target lesion gone and every nodal target < 10 mm (short axis);
    PD: sum >= 20% above the nadir and >= 5 mm above it; PR: sum >= 30% below the
    baseline sum; SD otherwise.
    """
    if all_gone:
        return "CR"
    if sum_mm - nadir >= 0.2 * nadir - TOL and sum_mm - nadir >= 5 - TOL:
        return "PD"
    if base > 0 and sum_mm - base <= -0.3 * base + TOL:
        return "PR"
    return "SD"


def overall_response(target: str | None, nontarget: str | None, new: bool) -> str:
    """RECIST 1.1 overall timepoint response (tables 1 and 2 of the guideline).

    target: CR/PR/SD/PD/NE or None (no target lesion at baseline); nontarget:
    CR/NON-CR/NON-PD/PD/NE or None (no non-target lesion at baseline)."""
    if new or target == "PD" or nontarget == "PD":
        return "PD"
    if target is None:
        if nontarget is None:
            return "NE"
        return {"CR": "CR", "NON-CR/NON-PD": "NON-CR/NON-PD"}.get(nontarget, "NE")
    if target == "NE":
        return "NE"
    if target == "CR":
        return "CR" if nontarget in (None, "CR") else "PR"
    return target  # PR or SD, non-target not PD (CR, non-CR/non-PD, NE or none)


def _lesion_measurements(tr: pd.DataFrame, les: pd.DataFrame, evaluator: str | None) -> pd.DataFrame:
    r = tr.copy()
    if evaluator is not None and "TREVAL" in r.columns:
        r = r[_upper(r["TREVAL"]).fillna(evaluator) == evaluator]
    r = r.assign(_tc=_upper(r["TRTESTCD"]), _res=_upper(r["TRSTRESC"]) if "TRSTRESC" in r.columns else pd.NA,
                 ADT=dates.impute_day_last(r["TRDTC"])[0].values,
                 VISITNUM=pd.to_numeric(r["VISITNUM"], errors="coerce") if "VISITNUM" in r.columns else np.nan,
                 VISIT=r["VISIT"] if "VISIT" in r.columns else pd.NA,
                 TRSTRESN=pd.to_numeric(r["TRSTRESN"], errors="coerce"))
    r = r.merge(les[["USUBJID", "TULNKID", "ROLE", "NODAL", "TULOC"]],
                left_on=["USUBJID", "TRLNKID"], right_on=["USUBJID", "TULNKID"], how="left")
    return r[r["ADT"].notna()]


def _assessment_key(r: pd.DataFrame) -> pd.Series:
    """Post-baseline assessments are grouped by visit when VISITNUM is given, else by date."""
    by_date = pd.Series(r["ADT"].to_numpy(dtype="datetime64[D]").astype("int64") + 1e7, index=r.index)
    return r["VISITNUM"].astype(float).where(r["VISITNUM"].notna(), by_date)


def derive_ovrcalc(tu: pd.DataFrame, tr: pd.DataFrame, origin: pd.Series, *,
                   evaluator: str | None = "INVESTIGATOR", organ: str | None = None,
                   paramcd: str = "OVRCALC") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Timepoint responses recomputed from TU/TR by RECIST 1.1, and the target sums.

    Baseline lesions are those identified on or before the origin (TARGET,
    NON-TARGET); ``organ`` (e.g. "LIVER") restricts every lesion, new ones included,
    to that TULOC. Baseline measurement of a target lesion: its last one on or before
    the origin; target size = short axis (SAXIS) for lymph nodes, longest diameter
    (LDIAM) otherwise. Each post-baseline assessment (visit) gets: the target sum
    (complete only when every target lesion is measured), the nadir (smallest complete
    sum before it, baseline included), the target response (``target_response``; an
    incomplete assessment is PD when the measured lesions alone meet the PD rule,
    else NE), the non-target response (UNEQUIVOCAL PROGRESSION -> PD, all ABSENT ->
    CR, any not assessed -> NE, else NON-CR/NON-PD), new lesions (TU NEW identified at
    the visit or a NEW lesion recorded as present in TR) and the overall response
    (``overall_response``).

    Returns (timepoints, sums): timepoints with USUBJID, PARAMCD, AVALC, ADT, VISIT,
    VISITNUM, TRGRESP, NTRGRESP, NEWLES, SUMDIAM; sums with one record per subject and
    assessment (baseline included) for ADTR.
    """
    all_les = baseline_lesions(tu, evaluator)
    les = all_les if organ is None else all_les[all_les["TULOC"].eq(organ.upper()).fillna(False)]
    meas = _lesion_measurements(tr, les, evaluator)
    # Where every TR lesion is (from TU, all organs): a NEW lesion counts for the organ
    # restriction only when it is located in that organ; a NEW-coded lesion missing from
    # TU counts only without a restriction.
    where = all_les.drop_duplicates(["USUBJID", "TULNKID"]).set_index(["USUBJID", "TULNKID"])
    key = pd.MultiIndex.from_arrays([meas["USUBJID"].astype("string"), meas["TRLNKID"].astype("string")])
    meas["_anyrole"] = where["ROLE"].reindex(key).to_numpy()
    meas["_anyloc"] = where["TULOC"].reindex(key).to_numpy()
    org = _origin_for(meas, origin)
    meas["_base"] = (meas["ADT"] <= org).fillna(False)
    meas = meas[org.notna()].copy()
    meas["_key"] = _assessment_key(meas)

    base_les = les[les["ROLE"].isin(["TARGET", "NON-TARGET"])]
    base_les = base_les[(base_les["TUDT"].isna()) |
                        (base_les["TUDT"] <= _origin_for(base_les, origin)).fillna(False)]
    tgt = base_les[base_les["ROLE"].eq("TARGET")].drop_duplicates(["USUBJID", "TULNKID"])
    ntg = base_les[base_les["ROLE"].eq("NON-TARGET")].drop_duplicates(["USUBJID", "TULNKID"])

    size = meas[meas["ROLE"].eq("TARGET")].copy()
    size = size[np.where(size["NODAL"].fillna(False), size["_tc"].eq("SAXIS"), size["_tc"].eq("LDIAM"))]
    size = size[size["TRSTRESN"].notna()]
    nt = meas[meas["ROLE"].eq("NON-TARGET") & meas["_tc"].eq("TUMSTATE")]
    coded_new = meas["TRLNKID"].astype("string").str.upper().str.startswith("NEW").fillna(False)
    is_new = meas["_anyrole"].eq("NEW").fillna(False) | (coded_new & meas["_anyrole"].isna())
    if organ is not None:
        is_new &= pd.Series(meas["_anyloc"], index=meas.index).eq(organ.upper()).fillna(False)
    newtr = meas[is_new & ~meas["_res"].eq("ABSENT").fillna(False) & ~meas["_base"]]
    newtu = les[les["ROLE"].eq("NEW")]

    post = meas[~meas["_base"]]
    visits = (post.groupby(["USUBJID", "_key"])
              .agg(ADT=("ADT", "max"), ADT_MIN=("ADT", "min"), VISIT=("VISIT", "first"),
                   VISITNUM=("VISITNUM", "first"))
              .reset_index().rename(columns={"_key": "KEY"}).sort_values(["USUBJID", "ADT"]))

    # Everything the per-subject walk needs, split once into dictionaries.
    tgt_by = {u: list(zip(g["TULNKID"], g["NODAL"])) for u, g in tgt.groupby("USUBJID")}
    ntg_by = {u: list(g["TULNKID"]) for u, g in ntg.groupby("USUBJID")}
    bs = size[size["_base"]].sort_values("ADT").groupby(["USUBJID", "TRLNKID"]).tail(1)
    base_size = {u: dict(zip(g["TRLNKID"], g["TRSTRESN"])) for u, g in bs.groupby("USUBJID")}
    base_date = bs.groupby("USUBJID")["ADT"].max().to_dict()
    ps = size[~size["_base"]].sort_values("ADT")
    post_size = {k: dict(zip(g["TRLNKID"], g["TRSTRESN"])) for k, g in ps.groupby(["USUBJID", "_key"])}
    pn = nt[~nt["_base"]].sort_values("ADT")
    nt_state = {k: dict(zip(g["TRLNKID"], g["_res"])) for k, g in pn.groupby(["USUBJID", "_key"])}
    new_keys = set(zip(newtr["USUBJID"], newtr["_key"]))
    newtu_by = {u: list(zip(g["VISITNUM"], g["TUDT"])) for u, g in newtu.groupby("USUBJID")}
    visits_by = {u: list(g.itertuples()) for u, g in visits.groupby("USUBJID")}

    tp_rows, sum_rows = [], []
    subjects = sorted(set(tgt["USUBJID"]) | set(ntg["USUBJID"]))
    for u in subjects:
        targets = tgt_by.get(u, [])
        t_ids = [i for i, _ in targets]
        nodal = dict(targets)
        n_ids = ntg_by.get(u, [])
        bsz = base_size.get(u, {})
        base = float(sum(bsz[i] for i in t_ids)) if t_ids and all(i in bsz for i in t_ids) else np.nan
        if t_ids:
            sum_rows.append(dict(USUBJID=u, ADT=base_date.get(u, pd.NaT), VISIT="BASELINE",
                                 VISITNUM=np.nan, AVAL=base, ABLFL="Y", LSEXP=len(t_ids),
                                 LSASS=sum(i in bsz for i in t_ids)))
        nadir = base
        for v in visits_by.get(u, []):
            tsz = post_size.get((u, v.KEY), {})
            trg, s, complete = None, np.nan, False
            if t_ids:
                got = [i for i in t_ids if i in tsz]
                part = float(sum(tsz[i] for i in got)) if got else np.nan
                complete = len(got) == len(t_ids) and not np.isnan(base)
                if complete:
                    s = part
                    gone = all((tsz[i] < 10) if nodal[i] else (tsz[i] == 0) for i in t_ids)
                    trg = target_response(s, base, nadir, gone)
                elif got and not np.isnan(nadir) and part - nadir >= 0.2 * nadir - TOL and part - nadir >= 5 - TOL:
                    trg = "PD"
                else:
                    trg = "NE"
                sum_rows.append(dict(USUBJID=u, ADT=v.ADT, VISIT=v.VISIT, VISITNUM=v.VISITNUM,
                                     AVAL=s if complete else (part if got else np.nan), ABLFL=None,
                                     LSEXP=len(t_ids), LSASS=len(got), _complete=complete, _nadir=nadir))
            ntr = None
            if n_ids:
                st = nt_state.get((u, v.KEY), {})
                states = [st.get(i, pd.NA) for i in n_ids]
                if any(x == "UNEQUIVOCAL PROGRESSION" for x in states if not pd.isna(x)):
                    ntr = "PD"
                elif any(pd.isna(x) for x in states):
                    ntr = "NE"
                elif all(x == "ABSENT" for x in states):
                    ntr = "CR"
                else:
                    ntr = "NON-CR/NON-PD"
            new = (u, v.KEY) in new_keys or any(
                (not pd.isna(vn) and vn == v.VISITNUM) or (not pd.isna(td) and v.ADT_MIN <= td <= v.ADT)
                for vn, td in newtu_by.get(u, []))
            if complete:
                nadir = min(nadir, s)
            tp_rows.append(dict(USUBJID=u, AVALC=overall_response(trg, ntr, new), ADT=v.ADT,
                                VISIT=v.VISIT, VISITNUM=v.VISITNUM, TRGRESP=trg, NTRGRESP=ntr,
                                NEWLES="Y" if new else "N", SUMDIAM=s))
    tp = pd.DataFrame(tp_rows, columns=["USUBJID", "AVALC", "ADT", "VISIT", "VISITNUM", "TRGRESP",
                                        "NTRGRESP", "NEWLES", "SUMDIAM"])
    tp.insert(1, "PARAMCD", paramcd)
    tp.insert(2, "PARAM", PARAMS.get(paramcd, paramcd))
    tp["ADT"] = pd.to_datetime(tp["ADT"])
    tp["SRCSEQ"] = np.nan
    tp["SRCDOM"] = "TR"
    for c in ("USUBJID", "AVALC", "TRGRESP", "NTRGRESP", "NEWLES"):
        tp[c] = tp[c].astype("string")
    sums = pd.DataFrame(sum_rows, columns=["USUBJID", "ADT", "VISIT", "VISITNUM", "AVAL", "ABLFL",
                                           "LSEXP", "LSASS", "_complete", "_nadir"])
    sums["ADT"] = pd.to_datetime(sums["ADT"])
    return tp, sums


def derive_adtr(sums: pd.DataFrame, window_end: pd.Series | None = None) -> pd.DataFrame:
    """ADTR, PARAMCD SDIAM: baseline and post-baseline target sums.

    AVAL = sum of diameters (mm); ANL01FL = Y for a complete assessment (every target
    lesion measured); BASE, CHG, PCHG from the baseline sum; NADIR = the smallest
    complete sum before the record (baseline included; empty at baseline), CHGNAD,
    PCHGNAD. ANL02FL = Y for the complete post-baseline assessments on or before
    ``window_end`` (date per subject: the first PD or the start of a new anticancer
    therapy, whichever is first; no limit when missing); BESTFL marks the one with the
    smallest PCHG among them (the best % change of the waterfall plot).
    """
    s = sums.copy().sort_values(["USUBJID", "ADT"], na_position="first").reset_index(drop=True)
    s["ABLFL"] = s["ABLFL"].astype("string")
    is_base = s["ABLFL"].eq("Y").fillna(False)
    complete = s["_complete"].astype("boolean").fillna(is_base).astype(bool)
    s["ANL01FL"] = np.where(complete & s["AVAL"].notna(), "Y", None)
    base = s[is_base].set_index("USUBJID")["AVAL"]
    s["BASE"] = s["USUBJID"].map(base).astype(float)
    s["CHG"] = s["AVAL"] - s["BASE"]
    s["PCHG"] = 100 * s["CHG"] / s["BASE"].where(s["BASE"] > 0)
    s["NADIR"] = s["_nadir"].astype(float).where(~is_base)
    s["CHGNAD"] = s["AVAL"] - s["NADIR"]
    s["PCHGNAD"] = 100 * s["CHGNAD"] / s["NADIR"].where(s["NADIR"] > 0)
    in_win = pd.Series(True, index=s.index)
    if window_end is not None:
        end = _origin_for(s, window_end)
        in_win = end.isna() | (s["ADT"] <= end)
    post = ~is_base & s["ANL01FL"].eq("Y").fillna(False) & in_win & s["PCHG"].notna()
    s["ANL02FL"] = np.where(post, "Y", None)
    cand = s[post].sort_values(["USUBJID", "PCHG", "ADT"])
    s["BESTFL"] = np.where(s.index.isin(cand.groupby("USUBJID").head(1).index), "Y", None)
    s.insert(1, "PARAMCD", "SDIAM")
    s.insert(2, "PARAM", PARAMS["SDIAM"])
    s = s.drop(columns=["_complete", "_nadir"])
    for c in ("ABLFL", "ANL01FL", "ANL02FL", "BESTFL", "USUBJID", "VISIT"):
        s[c] = s[c].astype("string")
    return s


# --------------------------------------------------------------------------- new therapy

def derive_new_therapy(cm: pd.DataFrame | None, origin: pd.Series,
                       category: str = "SUBSEQUENT CANCER THERAPY") -> pd.Series:
    """NACTDT: start of the first new anticancer therapy (CM, CMCAT ``category``) on or
    after the origin; a partial start date is taken at its earliest possible day, but
    not before the origin (the conservative choice for a cut-off)."""
    if cm is None or not len(cm) or "CMCAT" not in cm.columns:
        return pd.Series(pd.NaT, index=origin.index, dtype="datetime64[ns]", name="NACTDT")
    c = cm[_upper(cm["CMCAT"]) == category]
    floor = pd.Series(pd.to_datetime(origin).reindex(c["USUBJID"]).to_numpy(), index=c.index)
    st, _ = dates.impute_dtc(c["CMSTDTC"], how="first", floor=floor)
    d = pd.DataFrame({"USUBJID": c["USUBJID"].values, "d": st.values, "o": floor.values})
    d = d[d["d"].notna() & (d["o"].isna() | (d["d"] >= d["o"]))]
    return d.groupby("USUBJID")["d"].min().reindex(origin.index).rename("NACTDT")
