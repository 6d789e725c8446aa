"""Best overall response and the SAP's censoring rules on hand-written subjects.

Every subject starts on study day 1 = 2026-01-01 (the origin, d(0)); `d(n)` is n days
later (study day n + 1). Rules: confirmation >= 28 days, SD >= 42 days after the
origin, at most one NE between a response and its confirmation (SAP §6); PFS missed
assessment window 112 days (SAP §7). Each case states the worked answer.
"""
import pandas as pd
import pytest

from analysis import response as R
from analysis import tte as T

D0 = pd.Timestamp("2026-01-01")
RULES = R.ResponseRules(confirm_min_days=28, sd_min_days=42, max_ne=1)


def d(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def rs_frame(cases: dict[str, list[tuple[int, str]]]) -> pd.DataFrame:
    rows = []
    for u, recs in cases.items():
        for k, (day, resp) in enumerate(recs, start=1):
            rows.append({"USUBJID": u, "RSSEQ": float(k), "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR",
                         "RSSTRESC": resp, "RSDTC": d(day).strftime("%Y-%m-%d"), "VISITNUM": float(100 + k),
                         "VISIT": f"TA{k}"})
    cols = ["USUBJID", "RSSEQ", "RSTESTCD", "RSEVAL", "RSSTRESC", "RSDTC", "VISITNUM", "VISIT"]
    return pd.DataFrame(rows, columns=cols).astype({"USUBJID": "string", "RSTESTCD": "string", "RSEVAL": "string",
                                      "RSSTRESC": "string", "RSDTC": "string", "VISIT": "string"})


def best(cases, new_therapy: dict | None = None, include_origin_day: bool = False):
    subj = pd.Series(list(cases), dtype="string")
    origin = pd.Series(D0, index=subj)
    nact = None if new_therapy is None else pd.Series({u: d(n) for u, n in new_therapy.items()}).reindex(subj)
    ovr = R.derive_ovr(rs_frame({u: c for u, c in cases.items() if c}), origin,
                       include_origin_day=include_origin_day, new_therapy=nact)
    oset = R.analysis_set(ovr, new_therapy_cut=nact is not None)
    bor = R.derive_bor(oset, subj, origin, RULES).set_index("USUBJID")
    cbor = R.derive_cbor(oset, subj, origin, RULES).set_index("USUBJID")
    return bor, cbor


CASES = {
    # CR/PR confirmed by a later one exactly 28 days later: confirmed, ADT = the first response.
    "confirm_at_28": [(50, "PR"), (78, "PR")],
    # 27 days later: not confirmed; the PR is on/after day 42 -> SD in the confirmed BOR.
    "confirm_at_27": [(50, "PR"), (77, "PR")],
    # One NE between: still confirmed.
    "one_ne": [(50, "PR"), (64, "NE"), (92, "PR")],
    # Two NEs between: not confirmed (max_ne = 1).
    "two_ne": [(50, "PR"), (64, "NE"), (78, "NE"), (92, "PR")],
    # An SD between response and confirmation breaks it.
    "sd_between": [(50, "PR"), (64, "SD"), (92, "PR")],
    # SD too early (day 30 < 42) and nothing else: NE.
    "sd_too_early": [(30, "SD")],
    # SD exactly at origin + 42: SD.
    "sd_at_42": [(42, "SD")],
    # PD after an early SD: PD (not NE).
    "pd_after_early_sd": [(30, "SD"), (60, "PD")],
    # PR after CR in the confirmation window: the PR at day 43 would be confirmed by the
    # PR at day 85 (>= 71), but a PR follows the CR of day 57 in the window -> not
    # confirmed; the CR of day 57 has no later CR -> not confirmed. BOR CR (day 57);
    # confirmed BOR SD from the first CR/PR/SD on/after day 42 (day 43).
    "pr_after_cr": [(43, "PR"), (57, "CR"), (85, "PR")],
    # PR then CR 28 days later: the PR is confirmed (CR may follow a PR) -> PR; the CR
    # itself is unconfirmed.
    "pr_then_cr": [(43, "PR"), (71, "CR")],
    # CR confirmed by a CR 28 days later: CR.
    "cr_confirmed": [(50, "CR"), (78, "CR")],
    # CR followed by a PR only: CR not confirmed (a PR is not allowed in a CR window).
    "cr_then_pr": [(50, "CR"), (78, "PR")],
    # Unconfirmed PR before day 42 followed by PD: BOR PR, confirmed BOR PD.
    "early_pr_then_pd": [(30, "PR"), (60, "PD")],
    # Worst of the day: PR and PD on the same date -> PD; later records ignored.
    "worst_of_day": [(56, "PR"), (56, "PD"), (90, "PR"), (120, "PR")],
    # Assessment on the origin day is baseline (SAP: on or before the first infusion).
    "origin_day_only": [(0, "PR")],
    # Only NE: NE. No assessment: MISSING.
    "only_ne": [(50, "NE")],
    "none": [],
}


@pytest.fixture(scope="module")
def results():
    return best(CASES)


@pytest.mark.parametrize("subject,bor,bor_day,cbor,cbor_day", [
    ("confirm_at_28", "PR", 50, "PR", 50),
    ("confirm_at_27", "PR", 50, "SD", 50),
    ("one_ne", "PR", 50, "PR", 50),
    ("two_ne", "PR", 50, "SD", 50),
    ("sd_between", "PR", 50, "SD", 50),
    ("sd_too_early", "NE", 30, "NE", 30),
    ("sd_at_42", "SD", 42, "SD", 42),
    ("pd_after_early_sd", "PD", 60, "PD", 60),
    ("pr_after_cr", "CR", 57, "SD", 43),
    ("pr_then_cr", "CR", 71, "PR", 43),
    ("cr_confirmed", "CR", 50, "CR", 50),
    ("cr_then_pr", "CR", 50, "SD", 50),
    ("early_pr_then_pd", "PR", 30, "PD", 60),
    ("worst_of_day", "PD", 56, "PD", 56),
    ("origin_day_only", "MISSING", None, "MISSING", None),
    ("only_ne", "NE", 50, "NE", 50),
    ("none", "MISSING", None, "MISSING", None),
])
def test_best_overall_response(results, subject, bor, bor_day, cbor, cbor_day):
    b, c = results
    assert b.loc[subject, "AVALC"] == bor
    assert c.loc[subject, "AVALC"] == cbor
    for frame, day in ((b, bor_day), (c, cbor_day)):
        got = frame.loc[subject, "ADT"]
        assert (pd.isna(got) and day is None) or got == d(day)


def test_one_record_per_subject_with_missing_for_no_assessment(results):
    b, c = results
    assert len(b) == len(c) == len(CASES)
    assert pd.isna(b.loc["none", "ADT"]) and b.loc["none", "AVAL"] == 7


def test_new_anticancer_therapy_cuts_the_assessments():
    # PR day 50, PR day 80; a new anticancer therapy from day 60: the confirming PR is
    # after it, so the confirmed BOR is SD (with the cut) but PR without it.
    cases = {"s": [(50, "PR"), (80, "PR")]}
    _, with_cut = best(cases, new_therapy={"s": 60})
    _, without = best(cases)
    assert with_cut.loc["s", "AVALC"] == "SD"
    assert without.loc["s", "AVALC"] == "PR"


def test_reference_counts_the_origin_day():
    # The admiralonco convention (ADT >= RANDDT) keeps an assessment on the origin day.
    b, _ = best({"s": [(0, "SD")]}, include_origin_day=True)
    assert b.loc["s", "AVALC"] == "NE"


# --------------------------------------------------------------------------- RECIST from TR

def test_target_response_thresholds():
    # Baseline 100: 70 is exactly -30% -> PR; 71 -> SD. Nadir 50: 60 is +20% and +10 mm
    # -> PD; nadir 20: 24 is +20% but only +4 mm -> SD (the 5 mm rule).
    assert R.target_response(70.0, 100.0, 100.0, False) == "PR"
    assert R.target_response(71.0, 100.0, 100.0, False) == "SD"
    assert R.target_response(60.0, 100.0, 50.0, False) == "PD"
    assert R.target_response(24.0, 20.0, 20.0, False) == "SD"
    assert R.target_response(25.0, 20.0, 20.0, False) == "PD"
    assert R.target_response(8.0, 100.0, 60.0, True) == "CR"   # lymph nodes < 10 mm only


def test_overall_response_table():
    assert R.overall_response("CR", None, False) == "CR"
    assert R.overall_response("CR", "NON-CR/NON-PD", False) == "PR"
    assert R.overall_response("PR", "NE", False) == "PR"
    assert R.overall_response("SD", "NON-CR/NON-PD", True) == "PD"          # new lesion
    assert R.overall_response("SD", "PD", False) == "PD"                    # unequivocal NT progression
    assert R.overall_response("NE", "NON-CR/NON-PD", False) == "NE"
    assert R.overall_response(None, "NON-CR/NON-PD", False) == "NON-CR/NON-PD"


def test_ovrcalc_from_measurements_with_nodes_by_short_axis_and_liver_only():
    # Liver target T01 (LDIAM) and nodal target T02 (SAXIS); liver non-target NT01.
    # Baseline 40 + 20 = 60. Visit 1: 30 + 12 = 42 -> -30% -> PR. Visit 2: 30 + 22 = 52
    # vs nadir 42: +23.8% and +10 mm -> PD (driven by the node). Liver only: baseline 40;
    # 30 -> -25% SD; 30 -> SD.
    tu = pd.DataFrame({"USUBJID": ["s"] * 3, "TULNKID": ["T01", "T02", "NT01"], "TUTESTCD": ["TUMIDENT"] * 3,
                       "TUORRES": ["TARGET", "TARGET", "NON-TARGET"], "TULOC": ["LIVER", "LYMPH NODE", "LIVER"],
                       "TUDTC": ["2025-12-20"] * 3, "VISITNUM": [1.0] * 3}).astype({"USUBJID": "string"})
    rec = []
    for vis, dt, t1, t2, nt in [(1.0, "2025-12-20", 40, 20, "PRESENT"), (101.0, d(56).strftime("%Y-%m-%d"), 30, 12, "PRESENT"),
                                (102.0, d(112).strftime("%Y-%m-%d"), 30, 22, "PRESENT")]:
        rec += [("T01", "LDIAM", t1, str(t1)), ("T02", "SAXIS", t2, str(t2)), ("T02", "LDIAM", t2 + 15, str(t2 + 15)),
                ("NT01", "TUMSTATE", None, nt)]
        rec = [r if len(r) == 6 else (*r, vis, dt) for r in rec]
    tr = pd.DataFrame(rec, columns=["TRLNKID", "TRTESTCD", "TRSTRESN", "TRSTRESC", "VISITNUM", "TRDTC"])
    tr["USUBJID"] = "s"
    tr = tr.astype({"USUBJID": "string", "TRSTRESC": "string", "TRDTC": "string"})
    origin = pd.Series({"s": D0})
    tp, sums = R.derive_ovrcalc(tu, tr, origin)
    assert list(tp["AVALC"]) == ["PR", "PD"]
    assert list(tp["SUMDIAM"]) == [42.0, 52.0]
    assert sums.loc[sums["ABLFL"].eq("Y"), "AVAL"].item() == 60.0
    liver, _ = R.derive_ovrcalc(tu, tr, origin, organ="LIVER", paramcd="HOVR")
    assert list(liver["AVALC"]) == ["SD", "SD"] and list(liver["SUMDIAM"]) == [30.0, 30.0]
    adtr = R.derive_adtr(sums)
    post = adtr[adtr["ABLFL"].ne("Y").fillna(True)]
    assert list(post["PCHG"].round(6)) == [-30.0, round(-8 / 60 * 100, 6)]
    assert list(post["NADIR"]) == [60.0, 42.0]
    assert adtr.loc[adtr["BESTFL"].eq("Y").fillna(False), "PCHG"].item() == -30.0


# --------------------------------------------------------------------------- censoring (SAP §7)

def tte_for(cases: dict, deaths: dict | None = None, nact: dict | None = None, alive: dict | None = None,
            window: int | None = 112) -> pd.DataFrame:
    """ADTTE by the SAP's definitions for hand-written subjects (origin d(0))."""
    subj = pd.Series(list(cases), dtype="string")
    origin = pd.Series(D0, index=subj)
    deaths, nact, alive = deaths or {}, nact or {}, alive or {}
    adsl = pd.DataFrame({"USUBJID": subj, "RFSTDT": D0,
                         "DTHDT": [d(deaths[u]) if u in deaths else pd.NaT for u in subj],
                         "LSTALVDT": [d(alive.get(u, deaths.get(u, 300))) for u in subj]})
    new = pd.Series({u: d(n) for u, n in nact.items()}, dtype="datetime64[ns]").reindex(subj)
    ovr = R.derive_ovr(rs_frame({u: c for u, c in cases.items() if c}), origin, include_origin_day=False,
                       new_therapy=new)
    oset = R.analysis_set(ovr, new_therapy_cut=True)
    anl = ovr[ovr["ANL01FL"].eq("Y").fillna(False) & ovr["ANL03FL"].eq("Y").fillna(False)]
    parts = [R.derive_pd(oset, subj), R.derive_rsp(oset, subj), R.derive_crsp(oset, subj, RULES),
             R.derive_lsta(anl, subj), R.derive_death(adsl.set_index("USUBJID")["DTHDT"])]
    adrs = pd.concat([x.dropna(axis=1, how="all") for x in parts], ignore_index=True)
    return T.derive_adtte_sap(adsl, adrs, ovr, new, window).set_index(["PARAMCD", "USUBJID"])


@pytest.mark.parametrize("subject,case,extra,aval,cnsr", [
    # PD at day 112 after SD at 56: event, AVAL = 112 + 1.
    ("pd", [(56, "SD"), (112, "PD")], {}, 113, 0),
    # No event by the data cut: censored at the last ADEQUATE assessment (NE is not adequate).
    ("last_adequate", [(56, "SD"), (112, "NE")], {}, 57, T.CNSR_LAST_ASSESSMENT),
    # New anticancer therapy at day 120, PD at 170 after it: censored at the last adequate
    # assessment on or before the therapy (day 112).
    ("new_therapy", [(56, "SD"), (112, "SD"), (170, "PD")], {"nact": 120}, 113, T.CNSR_NEW_THERAPY),
    # Death after a new anticancer therapy, no PD: censored at day 56.
    ("death_after_nact", [(56, "SD")], {"nact": 60, "death": 90}, 57, T.CNSR_NEW_THERAPY),
    # PD 144 days after the last adequate assessment (> 112, two or more missed): censored at day 56.
    ("missed_pd", [(56, "SD"), (200, "PD")], {}, 57, T.CNSR_MISSED),
    # Death 124 days after the last adequate assessment: censored at day 56.
    ("missed_death", [(56, "SD")], {"death": 180}, 57, T.CNSR_MISSED),
    # PD exactly 112 days after the last adequate assessment: still an event.
    ("gap_exactly_window", [(56, "SD"), (168, "PD")], {}, 169, 0),
    # No post-baseline assessment, death at day 100 (within the window of day 1): event.
    ("no_assessment_early_death", [], {"death": 100}, 101, 0),
    # No post-baseline assessment, death at day 200 (after the window): censored at day 1.
    ("no_assessment_late_death", [], {"death": 200}, 1, T.CNSR_NO_ASSESSMENT),
    # No post-baseline assessment, alive: censored at day 1 (AVAL 1).
    ("no_assessment_alive", [], {}, 1, T.CNSR_NO_ASSESSMENT),
    # Death before any PD and within the window: death is the event.
    ("death_event", [(56, "SD")], {"death": 100}, 101, 0),
])
def test_pfs_censoring_rules(subject, case, extra, aval, cnsr):
    t = tte_for({subject: case}, deaths={subject: extra["death"]} if "death" in extra else None,
                nact={subject: extra["nact"]} if "nact" in extra else None)
    r = t.loc[("PFS", subject)]
    assert (r["AVAL"], r["CNSR"]) == (aval, cnsr), r.to_dict()
    assert r["STARTDT"] == D0
    assert (r["CNSR"] == 0) == pd.isna(r["CNSDTDSC"])


def test_without_the_missed_assessment_rule_the_late_pd_is_an_event():
    t = tte_for({"s": [(56, "SD"), (200, "PD")]}, window=None)
    assert (t.loc[("PFS", "s"), "AVAL"], t.loc[("PFS", "s"), "CNSR"]) == (201, 0)


def test_os_death_and_last_known_alive():
    t = tte_for({"dead": [(56, "SD")], "alive": [(56, "SD")], "early": []},
                deaths={"dead": 150}, alive={"alive": 250, "early": -5})
    assert (t.loc[("OS", "dead"), "AVAL"], t.loc[("OS", "dead"), "CNSR"]) == (151, 0)
    assert (t.loc[("OS", "alive"), "AVAL"], t.loc[("OS", "alive"), "CNSR"]) == (251, 1)
    # Last known alive before the origin: censored at the origin, AVAL 1.
    assert (t.loc[("OS", "early"), "AVAL"], t.loc[("OS", "early"), "CNSR"]) == (1, 1)


def test_dor_confirmed_responders_only():
    t = tte_for({"resp": [(56, "PR"), (112, "PR"), (168, "PD")], "unconf": [(56, "PR"), (70, "SD")]})
    r = t.loc[("DOR", "resp")]
    # From the first PR (day 56) to PD (day 168): 112 + 1 days, event.
    assert (r["STARTDT"], r["ADT"], r["AVAL"], r["CNSR"]) == (d(56), d(168), 113, 0)
    assert ("DOR", "unconf") not in t.index


def test_data_cut_removes_a_later_pd_so_pfs_is_censored():
    from analysis.datacut import apply_data_cut
    rs = rs_frame({"s": [(56, "SD"), (112, "SD"), (200, "PD")]})
    cut = d(150)
    kept, _ = apply_data_cut({"RS": rs}, cut)
    subj = pd.Series(["s"], dtype="string")
    origin = pd.Series(D0, index=subj)
    ovr = R.derive_ovr(kept["RS"], origin, include_origin_day=False)
    oset = R.analysis_set(ovr)
    anl = ovr[ovr["ANL01FL"].eq("Y").fillna(False)]
    adsl = pd.DataFrame({"USUBJID": subj, "RFSTDT": D0, "DTHDT": pd.NaT, "LSTALVDT": cut})
    adrs = pd.concat([x.dropna(axis=1, how="all") for x in
                      (R.derive_pd(oset, subj), R.derive_crsp(oset, subj), R.derive_lsta(anl, subj))])
    t = T.derive_adtte_sap(adsl, adrs, ovr, None, 112).set_index("PARAMCD")
    assert (t.loc["PFS", "AVAL"], t.loc["PFS", "CNSR"]) == (113, T.CNSR_LAST_ASSESSMENT)


def test_a_new_lesion_outside_the_liver_is_not_intrahepatic_progression():
    # Liver target 40 -> 38 mm (SD) with a new bone lesion: overall PD, liver-only SD.
    tu = pd.DataFrame({"USUBJID": ["s", "s"], "TULNKID": ["T01", "NEW01"], "TUTESTCD": ["TUMIDENT"] * 2,
                       "TUORRES": ["TARGET", "NEW"], "TULOC": ["LIVER", "BONE"],
                       "TUDTC": ["2025-12-20", d(56).strftime("%Y-%m-%d")], "VISITNUM": [1.0, 101.0]})
    tr = pd.DataFrame({"USUBJID": ["s"] * 3, "TRLNKID": ["T01", "T01", "NEW01"],
                       "TRTESTCD": ["LDIAM", "LDIAM", "TUMSTATE"], "TRSTRESN": [40.0, 38.0, None],
                       "TRSTRESC": ["40", "38", "PRESENT"], "VISITNUM": [1.0, 101.0, 101.0],
                       "TRDTC": ["2025-12-20", d(56).strftime("%Y-%m-%d"), d(56).strftime("%Y-%m-%d")]})
    tu, tr = tu.astype({"USUBJID": "string"}), tr.astype({"USUBJID": "string", "TRSTRESC": "string"})
    origin = pd.Series({"s": D0})
    allles, _ = R.derive_ovrcalc(tu, tr, origin)
    liver, _ = R.derive_ovrcalc(tu, tr, origin, organ="LIVER", paramcd="HOVR")
    assert list(allles["AVALC"]) == ["PD"] and list(allles["NEWLES"]) == ["Y"]
    assert list(liver["AVALC"]) == ["SD"] and list(liver["NEWLES"]) == ["N"]
