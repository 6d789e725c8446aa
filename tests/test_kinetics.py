"""Kinetics stage (SAP §9): ADPC/ADPP on hand-written samples, biodistribution,
cytokines by worst CRS grade, best % change, the ARD rows and the text; the demo
export's kinetics look like CAR-cell kinetics; a run without PC says it was not done.

Subject K1: CAR-NK (HAI) 2026-01-05T10:00 and 2026-01-06, CAR-T (IV, DL2) 2026-01-15T10:00.
Subject K2: CAR-NK only (2026-02-01), one BLQ sample (not in the kinetics set)."""
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis import kinetics as kin
from analysis import kinetics_report as rep
from analysis.ard import ARD, combine, rows, frame
from hand_subjects import frame as hand_frame

CFG = {"dose_levels": {"DL1": 1.5e7, "DL2": 3e7, "DL3": 5e7, "DL4": 7e7}, "small_group_n": 3,
       "car_nk_dose": {"day0_cells": 1e9, "day1_cells": 2e9},
       "kinetics": {"time_basis": "nominal_day", "auc_end_day": 28, "biodist_window_days": 3}}
NAN = np.nan


sdtm = hand_frame  # SDTM-typed frame from hand-written rows (tests/hand_subjects.py)


def ex():
    nk, t = "NKG2D CAR-NK", "NKG2D CAR-T"
    return sdtm(["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXROUTE", "EXSTDTC"], [
        ["K1", 1.0, nk, 1e9, "INTRA-ARTERIAL", "2026-01-05T10:00"],
        ["K1", 2.0, nk, 2e9, "INTRA-ARTERIAL", "2026-01-06T10:00"],
        ["K1", 3.0, t, 3e7, "INTRAVENOUS", "2026-01-15T10:00"],
        ["K1", 4.0, t, 3e7, "INTRAVENOUS", "2026-01-16T10:00"],
        ["K2", 1.0, nk, 1e9, "INTRA-ARTERIAL", "2026-02-01T10:00"],
    ])


def pc():
    cols = ["USUBJID", "PCSEQ", "PCREFID", "PCTESTCD", "PCSPEC", "PCORRES", "PCSTRESN", "PCSTRESU",
            "PCLLOQ", "PCSTAT", "PCRFTDTC", "PCDTC"]
    nk, t, u = "2026-01-05T10:00", "2026-01-15T10:00", "copies/ug gDNA"
    return sdtm(cols, [
        ["K1", 1.0, "CAR-NK", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, nk, "2026-01-05T08:00"],   # pre-dose
        ["K1", 2.0, "CAR-NK", "CARDNA", "BLOOD", "200", 200.0, u, 50.0, None, nk, "2026-01-06T08:00"],
        ["K1", 3.0, "CAR-NK", "CARDNA", "BLOOD", "400", 400.0, u, 50.0, None, nk, "2026-01-08T08:00"],
        ["K1", 4.0, "CAR-NK", "CARDNA", "BLOOD", "100", 100.0, u, 50.0, None, nk, "2026-01-12T08:00"],
        ["K1", 5.0, "CAR-T", "CARDNA", "BLOOD", "<LLOQ", NAN, u, 50.0, None, t, "2026-01-15T08:00"],   # pre-dose
        ["K1", 6.0, "CAR-T", "CARDNA", "BLOOD", "1000", 1000.0, u, 50.0, None, t, "2026-01-22T08:00"],  # day 7
        ["K1", 7.0, "CAR-T", "CARDNA", "BLOOD", "4000", 4000.0, u, 50.0, None, t, "2026-01-29T08:00"],  # day 14
        ["K1", 8.0, "CAR-T", "CARDNA", "BLOOD", None, NAN, None, 50.0, "NOT DONE", t, "2026-02-05T08:00"],  # day 21
        ["K1", 9.0, "CAR-T", "CARDNA", "BLOOD", "1000", 1000.0, u, 50.0, None, t, "2026-02-12T08:00"],  # day 28
        ["K1", 10.0, "CAR-T", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, t, "2026-03-12T08:00"],    # day 56
        ["K1", 11.0, "CAR-T", "CARDNA", "TUMOR TISSUE", "12000", 12000.0, u, 50.0, None, t, "2026-01-31T11:00"],
        ["K1", 12.0, "CAR-T", "CARDNA", "ASCITES", "500", 500.0, u, 50.0, None, t, "2026-03-01T11:00"],
        # no PCREFID/PCRFTDTC: the product whose first infusion precedes the sample, its EX time
        ["K1", 13.0, None, "CART", "BLOOD", "5", 5.0, "cells/uL", 0.5, None, None, "2026-01-22T08:00"],
        ["K2", 1.0, "CAR-NK", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, "2026-02-01T10:00", "2026-02-08T08:00"],
    ])


def adsl():
    return pd.DataFrame({
        "USUBJID": ["K1", "K2"], "DOSELVL": pd.array(["DL2", pd.NA], dtype="string"),
        "PKFL": ["Y", "N"], "SAFFL": ["Y", "Y"], "CARTFL": ["Y", "N"], "EFFFL": ["Y", "N"],
        "TRTSDT": pd.to_datetime(["2026-01-05", "2026-02-01"]), "CARTSDT": pd.to_datetime(["2026-01-15", None]),
        "RFSTDT": pd.to_datetime(["2026-01-05", "2026-02-01"]), "NKGLHS": [120.0, 40.0], "BSLD": [60.0, NAN],
    })


@pytest.fixture(scope="module")
def adpc():
    return kin.derive_adpc(pc(), ex(), adsl(), CFG)


@pytest.fixture(scope="module")
def adpp(adpc):
    return kin.derive_adpp(adpc, CFG)


def pp(adpp, subj, prod, an):
    x = adpp[(adpp.USUBJID == subj) & (adpp.PRODUCT == prod) & (adpp.ANALYTE == an)]
    return x.set_index("PARAMCD")


# --------------------------------------------------------------------------- ADPC / ADPP

def test_adpc_times_flags_and_nca_use(adpc):
    k1 = adpc[(adpc.USUBJID == "K1") & (adpc.PRODUCT == "CAR-T") & (adpc.PARAMCD == "CARDNA") & (adpc.PCSPEC == "BLOOD")]
    assert list(k1["ATPT"]) == ["PRE-DOSE", "DAY 7", "DAY 14", "DAY 21", "DAY 28", "DAY 56"]
    assert list(k1["NCATIME"]) == [0, 7, 14, 21, 28, 56]
    # actual time: 08:00 samples, 10:00 infusion -> 2 hours early
    assert k1["ARELTM"].iloc[1] == pytest.approx(7 - 2 / 24)
    assert list(k1["BLQFL"]) == ["Y", "N", "N", "N", "N", "Y"]
    assert list(k1["AVALC"]) == ["BLQ", "1000", "4000", "NOT DONE", "1000", "BLQ"]
    # NCA use: pre-dose BLQ -> 0; not done and BLQ after the first quantifiable -> not used
    assert list(k1["ANL01FL"]) == ["Y", "Y", "Y", "N", "Y", "N"]
    assert k1["NCAVAL"].iloc[0] == 0 and math.isnan(k1["NCAVAL"].iloc[5])
    assert set(k1["ROUTE"]) == {"INTRAVENOUS"} and set(k1["DOSELVL"]) == {"DL2"}
    cells = adpc[adpc.PARAMCD == "CART"].iloc[0]
    assert cells["PRODUCT"] == "CAR-T" and cells["ARELDY"] == 7 and cells["RFTDTM"] == pd.Timestamp("2026-01-15 10:00")


def test_adpp_hand_worked(adpp):
    t = pp(adpp, "K1", "CAR-T", "CARDNA")["AVAL"]
    # 0-7: (0 + 1000)/2 * 7 = 3500; 7-14: (1000 + 4000)/2 * 7 = 17500;
    # 14-28 falling: 3000/ln 4 * 14 = 2164.04256 * 14 = 30296.596 (the day-21 sample was not done)
    assert t["AUCLST"] == pytest.approx(3500 + 17500 + 30296.596, abs=1e-3)
    assert t["AUC028"] == pytest.approx(t["AUCLST"])  # Tlast = 28
    assert (t["CMAX"], t["TMAX"], t["CLAST"], t["TLAST"], t["PERSIST"]) == (4000, 14, 1000, 28, 28)
    nk = pp(adpp, "K1", "CAR-NK", "CARDNA")
    # 0-1: 100; 1-3: 600; 3-7: 300/ln 4 * 4 = 865.617
    assert nk.loc["AUCLST", "AVAL"] == pytest.approx(100 + 600 + 865.617, abs=1e-3)
    assert math.isnan(nk.loc["AUC028", "AVAL"]) and "sampling ended before day 28" in nk.loc["AUC028", "REASON"]
    assert nk.loc["PERSIST", "NOTE"] == "quantifiable at the last sample (persistence ongoing)"
    assert nk.loc["AUCLST", "AVALU"] == "copies/ug gDNA×day" and nk.loc["TMAX", "AVALU"] == "day"
    cells = pp(adpp, "K1", "CAR-T", "CART")
    assert cells.loc["CMAX", "AVAL"] == 5 and cells.loc["AUCLST", "REASON"] == "fewer than 2 quantifiable samples"
    k2 = pp(adpp, "K2", "CAR-NK", "CARDNA")
    assert k2["AVAL"].isna().all() and set(k2["REASON"]) == {"no quantifiable sample"}
    assert set(adpp["PCSPEC"]) == {"BLOOD"}


def test_actual_time_basis():
    cfg = dict(CFG, kinetics=dict(CFG["kinetics"], time_basis="actual"))
    a = kin.derive_adpp(kin.derive_adpc(pc(), ex(), adsl(), cfg), cfg)
    t = pp(a, "K1", "CAR-T", "CARDNA")
    assert t.loc["TMAX", "AVAL"] == pytest.approx(14 - 2 / 24)
    # Tlast 27.92 < 28, the day-56 sample BLQ: AUC0-28 = the area to Tlast, with the note
    assert t.loc["AUC028", "AVAL"] == pytest.approx(t.loc["AUCLST", "AVAL"])
    assert "below LLOQ" in t.loc["AUC028", "NOTE"]
    assert t.loc["PERSIST", "AVAL"] == 28  # calendar days either way


def test_biodistribution_pairs_within_3_days(adpc):
    tis = adpc[adpc.PCSPEC == "TUMOR TISSUE"].iloc[0]
    # nearest blood: 2026-01-29T08:00 (4000), 2 days 3 hours earlier; the day-21 sample was not done
    assert tis["BLDVAL"] == 4000 and tis["TBRATIO"] == pytest.approx(3.0)
    assert tis["BLDDIFF"] == pytest.approx(-2.125)
    asc = adpc[adpc.PCSPEC == "ASCITES"].iloc[0]
    assert math.isnan(asc["TBRATIO"]) and asc["TBRRSN"] == "no blood sample within 3 days"


PC_COLS = ["USUBJID", "PCSEQ", "PCREFID", "PCTESTCD", "PCSPEC", "PCORRES", "PCSTRESN", "PCSTRESU",
           "PCLLOQ", "PCSTAT", "PCRFTDTC", "PCDTC"]


def one_subject(subj, infusion):
    """EX (one CAR-T infusion) and ADSL of a single subject of the kinetics set."""
    e = sdtm(["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXROUTE", "EXSTDTC"],
             [[subj, 1.0, "NKG2D CAR-T", 3e7, "INTRAVENOUS", infusion]])
    a = pd.DataFrame({"USUBJID": [subj], "DOSELVL": pd.array(["DL2"], dtype="string"), "PKFL": ["Y"],
                      "SAFFL": ["Y"], "TRTSDT": pd.to_datetime([infusion[:10]])})
    return e, a


def test_nca_use_of_predose_and_blq_samples():
    # K3: CAR-T 2026-03-01T10:00. Two pre-dose BLQ samples: only the later one is used (0 at
    # time 0); BLQ on day 1, before the first quantifiable value (day 2): 0; BLQ on day 4, after it:
    # not used. Profile t = 0, 1, 2, 7; c = 0, 0, 300, 100.
    rf, u = "2026-03-01T10:00", "copies/ug gDNA"
    p = sdtm(PC_COLS, [
        ["K3", 1.0, "CAR-T", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, rf, "2026-02-28T09:00"],
        ["K3", 2.0, "CAR-T", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, rf, "2026-03-01T08:00"],
        ["K3", 3.0, "CAR-T", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, rf, "2026-03-02T08:00"],
        ["K3", 4.0, "CAR-T", "CARDNA", "BLOOD", "300", 300.0, u, 50.0, None, rf, "2026-03-03T08:00"],
        ["K3", 5.0, "CAR-T", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, rf, "2026-03-05T08:00"],
        ["K3", 6.0, "CAR-T", "CARDNA", "BLOOD", "100", 100.0, u, 50.0, None, rf, "2026-03-08T08:00"],
    ])
    e, a = one_subject("K3", rf)
    adpc = kin.derive_adpc(p, e, a, CFG)
    assert list(adpc["NCATIME"]) == [0, 0, 1, 2, 4, 7]
    assert list(adpc["ANL01FL"]) == ["N", "Y", "Y", "Y", "N", "Y"]
    assert adpc["NCAVAL"].tolist()[1:4] == [0, 0, 300] and adpc["NCAVAL"].iloc[5] == 100
    assert adpc["NCAVAL"].iloc[[0, 4]].isna().all()
    pp_ = pp(kin.derive_adpp(adpc, CFG), "K3", "CAR-T", "CARDNA")["AVAL"]
    # 0-1: 0; 1-2: (0 + 300)/2 = 150; 2-7 falling: (300 - 100)/ln 3 * 5 = 910.239
    assert pp_["AUCLST"] == pytest.approx(150 + 1000 / math.log(3))
    assert (pp_["CMAX"], pp_["TMAX"], pp_["CLAST"], pp_["TLAST"], pp_["PERSIST"]) == (300, 2, 100, 7, 7)


def test_biodistribution_tie_and_window_edge():
    # K4: CAR-T 2026-03-01T10:00. Tumour 03-10T12:00 between two blood samples a day either side:
    # the earlier (100, the later record) -> TBRATIO 10, BLDDIFF -1. Ascites 03-20T12:00: blood 03-17T08:00 is 3
    # calendar days away (in the window) -> 50 / 200, BLDDIFF -(3 + 4/24); 03-24 is 4 days away.
    # Ascites 03-27T12:00: nearest blood 03-28 is BLQ -> no ratio.
    rf, u = "2026-03-01T10:00", "copies/ug gDNA"
    p = sdtm(PC_COLS, [
        ["K4", 1.0, "CAR-T", "CARDNA", "BLOOD", "400", 400.0, u, 50.0, None, rf, "2026-03-11T12:00"],
        ["K4", 2.0, "CAR-T", "CARDNA", "BLOOD", "100", 100.0, u, 50.0, None, rf, "2026-03-09T12:00"],
        ["K4", 3.0, "CAR-T", "CARDNA", "TUMOR TISSUE", "1000", 1000.0, u, 50.0, None, rf, "2026-03-10T12:00"],
        ["K4", 4.0, "CAR-T", "CARDNA", "BLOOD", "200", 200.0, u, 50.0, None, rf, "2026-03-17T08:00"],
        ["K4", 5.0, "CAR-T", "CARDNA", "BLOOD", "900", 900.0, u, 50.0, None, rf, "2026-03-24T08:00"],
        ["K4", 6.0, "CAR-T", "CARDNA", "ASCITES", "50", 50.0, u, 50.0, None, rf, "2026-03-20T12:00"],
        ["K4", 7.0, "CAR-T", "CARDNA", "ASCITES", "80", 80.0, u, 50.0, None, rf, "2026-03-27T12:00"],
        ["K4", 8.0, "CAR-T", "CARDNA", "BLOOD", "BLQ", NAN, u, 50.0, None, rf, "2026-03-28T12:00"],
    ])
    e, a = one_subject("K4", rf)
    t = kin.derive_adpc(p, e, a, CFG).set_index("PCSEQ")
    assert (t.loc[3, "BLDVAL"], t.loc[3, "BLDDIFF"], t.loc[3, "TBRATIO"]) == (100, -1, 10)
    assert t.loc[6, "BLDVAL"] == 200 and t.loc[6, "TBRATIO"] == 0.25
    assert t.loc[6, "BLDDIFF"] == pytest.approx(-(3 + 4 / 24))
    assert t.loc[7, "BLDBLQFL"] == "Y" and math.isnan(t.loc[7, "TBRATIO"])
    assert t.loc[7, "TBRRSN"] == "paired blood sample below LLOQ"


# --------------------------------------------------------------------------- cytokines, tumour

def lb():
    cols = ["USUBJID", "LBTESTCD", "LBCAT", "LBSTRESN", "LBSTRESU", "LBDTC"]
    return sdtm(cols, [
        ["K1", "IL6", "CYTOKINE", 4.0, "pg/mL", "2026-01-03"],
        ["K1", "IL6", "CYTOKINE", 5.0, "pg/mL", "2026-01-05T07:00"],    # baseline (before 10:00)
        ["K1", "IL6", "CYTOKINE", 50.0, "pg/mL", "2026-01-05T12:00"],   # after the infusion
        ["K1", "IL6", "CYTOKINE", 100.0, "pg/mL", "2026-01-16"],        # peak: 100 / 5 = 20
        ["K1", "IL6", "CYTOKINE", 20.0, "pg/mL", "2026-01-20"],
        ["K1", "ALT", "CHEMISTRY", 30.0, "U/L", "2026-01-16"],          # not a cytokine
        ["K2", "IL6", "CYTOKINE", 2.0, "pg/mL", "2026-02-01"],          # date only, same day: baseline
        ["K2", "IL6", "CYTOKINE", 3.0, "pg/mL", "2026-02-03"],          # peak 1.5
    ])


def ae():
    return sdtm(["USUBJID", "AEDECOD", "AETOXGR"], [
        ["K1", "Cytokine release syndrome", "1"], ["K1", "CYTOKINE RELEASE SYNDROME", "2"],
        ["K2", "Fatigue", "3"]])


def test_cytokine_peak_fold_change_and_crs_grade():
    c = kin.derive_adcyt(lb(), ex(), ae(), adsl())
    assert set(c["PARAMCD"]) == {"IL6"}
    k1 = c[c.USUBJID == "K1"]
    assert list(k1["ABLFL"]) == ["N", "Y", "N", "N", "N"] and set(k1["BASE"]) == {5.0}
    assert k1["PEAKFC"].iloc[0] == 20 and list(k1["PEAKFL"]) == ["N", "N", "N", "Y", "N"]
    assert set(k1["CRSGRN"]) == {2} and set(c[c.USUBJID == "K2"]["CRSGR"]) == {"0"}
    assert list(k1["ADY"]) == [-2, 1, 1, 12, 16]  # study day 1 = 2026-01-05, no day 0
    a = ARD(frame(kin.ard_cytokine(c, adsl())))
    assert a.num("cytokine", "IL6", "median", "CRSGR", "2", "PEAKFC") == 20
    assert a.num("cytokine", "IL6", "median", "CRSGR", "0", "PEAKFC") == 1.5
    assert a.num("cytokine", "IL6", "median", variable_level="PEAKFC") == pytest.approx(10.75)
    assert a.int("cytokine", "SUBJECTS", "n", "CRSGR", ">=3") == 0
    assert a.get("cytokine", "IL6", "median", "CRSGR", ">=3", "PEAKFC") == ""
    t = rep.table_cytokines(a, {"small_group_n": 3})           # SAP §9: shown by worst CRS grade
    assert t.spanners == [("Worst CRS grade", 1, len(t.columns) - 2)]
    assert t.columns[1].startswith("No CRS") and t.columns[-1].startswith("All")


def test_best_percent_change_of_target_sum():
    tu = sdtm(["USUBJID", "TULNKID", "TUTESTCD", "TUORRES", "TULOC", "TUDTC"], [
        ["K1", "T01", "TUMIDENT", "TARGET", "LIVER", "2026-01-01"],
        ["K1", "T02", "TUMIDENT", "TARGET", "LYMPH NODE", "2026-01-01"],
        ["K1", "NT01", "TUMIDENT", "NON-TARGET", "LUNG", "2026-01-01"]])
    tr = sdtm(["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN", "TRDTC", "VISITNUM"], [
        ["K1", "T01", "LDIAM", 40.0, "2026-01-01", 1.0], ["K1", "T02", "SAXIS", 20.0, "2026-01-01", 1.0],
        ["K1", "T01", "LDIAM", 30.0, "2026-03-01", 101.0], ["K1", "T02", "SAXIS", 12.0, "2026-03-01", 101.0],
        ["K1", "T02", "LDIAM", 25.0, "2026-03-01", 101.0],       # node: the short axis counts
        ["K1", "T01", "LDIAM", 20.0, "2026-05-01", 102.0],       # T02 not measured: not evaluable
        ["K1", "T01", "LDIAM", 35.0, "2026-06", 103.0], ["K1", "T02", "SAXIS", 15.0, "2026-06-30", 103.0]])
    best = kin.derive_best_pchg(tu, tr, adsl())
    # baseline 60; visit 101: 42 -> -30%; visit 102 skipped (-66.7% if counted); visit 103: 50 -> -16.7%
    assert best.to_dict() == {"K1": pytest.approx(-30.0)}


def test_spearman():
    st, why = kin.spearman([1, 2, 3, 4], [40, 30, 20, 10])
    assert st["rho"] == pytest.approx(-1.0) and st["n"] == 4 and why is None
    st, why = kin.spearman([1, 2, NAN], [1, 2, 3])
    assert st["rho"] is None and st["n"] == 2 and "fewer than 3" in why


# --------------------------------------------------------------------------- ARD and text

def _ard(adpc, adpp, done=True, reason=""):
    c = kin.derive_adcyt(lb(), ex(), ae(), adsl())
    best = pd.Series({"K1": -30.0}, name="BESTPCHG")
    part = kin.ard_kinetics(adpc if done else adpc.iloc[0:0], adpp if done else adpp.iloc[0:0],
                            c, adsl(), ex(), best, done, reason, CFG)
    sets = frame(rows("sets", "overall", "overall", "KINETICS", "", {"n": 1}))
    return ARD(combine([sets, part]))


def test_ard_nca_rows(adpc, adpp):
    a = _ard(adpc, adpp)
    vl = "CAR-T/CARDNA"
    assert a.num("nca", "CMAX", "geomean", variable_level=vl) == pytest.approx(4000)
    assert a.num("nca", "CMAX", "n", "DOSELVL", "DL2", vl) == 1
    assert a.num("nca", "CMAX", "n", "DOSELVL", "DL1", vl) == 0
    assert a.get("nca", "CMAX", "geocv", variable_level=vl) == ""
    assert a.get("nca", "CMAX", "reason", variable_level=vl) == "geocv: fewer than 2 values"
    assert a.get("nca", "TMAX", "geomean", variable_level=vl) == "" and a.num("nca", "TMAX", "median", variable_level=vl) == 14
    assert a.get("nca", "ROUTE", "route", variable_level="CAR-NK") == "INTRA-ARTERIAL"
    # K1 missing (CAR-NK sampling ended on day 7, quantifiable); K2 not in the kinetics set: not counted
    assert a.num("nca", "AUC028", "n_missing", variable_level="CAR-NK/CARDNA") == 1
    assert a.num("nca", "AUC028", "n", variable_level="CAR-NK/CARDNA") == 0
    assert a.num("biodist", "TBRATIO", "median", variable_level="TUMOR TISSUE/CARDNA") == pytest.approx(3.0)
    assert a.int("biodist", "TBRATIO", "n_not_computed", "reason", "no blood sample within 3 days",
                 "ASCITES/CARDNA") == 1
    assert a.int("infusion", "INFUSION", "n", "DAY", "1", "CAR-T") == 1
    assert a.get("correlation", "BESTPCHG", "reason", variable_level="CMAX CAR-T/CARDNA").startswith("fewer than 3")
    assert a.get("kinetics", "PC", "status") == "done"
    text = rep.kinetics_paragraph(a, CFG)
    assert "median Cmax of 4,000 copies/µg gDNA" in text and "median Tmax of day 14" in text


def test_not_done_without_pc(adpc, adpp):
    a = _ard(adpc, adpp, done=False, reason="PC domain not in the export")
    assert a.get("kinetics", "PC", "status") == "not done"
    assert not len(a.select(analysis="nca"))
    text = rep.kinetics_paragraph(a, CFG)
    assert "was not done: PC domain not in the export" in text
    assert "IL-6" in text  # cytokines (LB) do not need PC
    assert "not done" in rep.figure_block_pk(a, CFG) and "F-PK.png" not in rep.figure_block_pk(a, CFG)
    assert "not done" in a.get("correlation", "BESTPCHG", "reason", variable_level="CMAX CAR-T/CARDNA") or \
        a.get("correlation", "BESTPCHG", "reason", variable_level="CMAX CAR-T/CARDNA") == "PC domain not in the export"


def test_report_number_formats():
    assert [rep.sig3(x) for x in (11358.35, 1.4082, 0.77, 123456.0, 0.0)] == ["11,400", "1.41", "0.770", "123,000", "0"]
    assert rep.sig3(None) == "NC" and rep.fmt_day(14.0) == "14" and rep.fmt_day(13.9167) == "13.9"


# --------------------------------------------------------------------------- demo export

@pytest.fixture(scope="module")
def demo_kinetics(tmp_path_factory):
    """ADSL, ADPC, ADPP of the generated demo export (generated, ingested, derived here)."""
    from analysis.adsl import derive_adsl
    from analysis.demo import generate_export
    from analysis.ingest import ingest
    from analysis.pipeline import load_sdtm
    from pipeline_runs import ROOT

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    tmp = tmp_path_factory.mktemp("demo-kin")
    generate_export(tmp / "export", seed=cfg["data"]["demo_seed"], size="phase1a", data_cut=cfg["data_cut"])
    ingest(tmp / "export", cfg["data_cut"], tmp / "out")
    d, present = load_sdtm(tmp / "out/sdtm/ingest.json")
    a = derive_adsl(d, cfg, present)
    adpc = kin.derive_adpc(d["PC"], d["EX"], a, cfg)
    return a, adpc, kin.derive_adpp(adpc, cfg)


def test_demo_kinetics_look_like_car_cell_kinetics(demo_kinetics):
    a, adpc, adpp = demo_kinetics
    t = adpp[(adpp.PRODUCT == "CAR-T") & (adpp.ANALYTE == "CARDNA") & (adpp.PKFL == "Y")]
    w = t.pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    assert len(w) >= 10 and w["CMAX"].notna().all()
    # expansion peaking within about 1-2 weeks
    assert 5 <= w["TMAX"].median() <= 21
    assert (w["TMAX"] <= 28).all()
    # a real expansion: the peak far above the LLOQ (50 copies/ug) and the pre-dose sample BLQ
    assert w["CMAX"].median() >= 100 * 50
    pre = adpc[(adpc.PRODUCT == "CAR-T") & (adpc.PARAMCD == "CARDNA") & (adpc.ATPT == "PRE-DOSE")]
    assert (pre["BLQFL"] == "Y").all()
    # contraction: the last quantifiable value well below the peak
    assert (w["CLAST"] / w["CMAX"]).median() < 0.1
    # persistence tail: quantifiable for weeks after the peak
    assert w["PERSIST"].median() >= 56 and (w["PERSIST"] > w["TMAX"]).all()
    assert w["AUC028"].notna().mean() >= 0.8
    # the kinetics set is the set of subjects with a quantifiable post-infusion sample
    assert set(adpp.loc[adpp.PKFL == "Y", "USUBJID"]) == set(a.loc[a.PKFL == "Y", "USUBJID"])


# --------------------------------------------------------------------------- pipeline without PC

def test_pipeline_without_pc_says_not_done(tmp_path):
    """The workflow on an export without pc.csv (data.source: export), HTML only: the
    run succeeds and the kinetics section says the analysis was not done."""
    from analysis.demo import generate_export
    from pipeline_runs import CUT, copy_repo, run_pipeline

    work = copy_repo(tmp_path / "repo")
    export = tmp_path / "export"
    generate_export(export, size="phase1a", data_cut=CUT)
    (export / "pc.csv").unlink()
    cfg_path = work / "config/config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["data"] = {"source": "export", "export_dir": str(export)}
    cfg["reports"]["formats"] = ["html"]
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    run_pipeline(work, f"results/{CUT}/manifest.json")
    res = work / "results" / CUT
    text = (res / "text/kinetics.md").read_text(encoding="utf-8")
    assert "was not done: PC domain not in the export" in text
    assert "not done" in (res / "tables/T-NCA.md").read_text(encoding="utf-8")
    assert len(pd.read_parquet(res / "adam/adpp.parquet")) == 0
    html = " ".join((res / "reports/interim-report.html").read_text(encoding="utf-8").split())
    assert "Cellular kinetics and cytokines" in html
    assert "was not done: PC domain not in the export" in html
    assert "F-PK.png" not in html and "T-CYTO" in html
    ard = pd.read_parquet(res / "ard/ard.parquet")
    assert not len(ard[ard.analysis == "nca"])
    assert ard[(ard.analysis == "kinetics") & (ard.stat == "status")]["value"].tolist() == ["not done"]
