"""ADAE and ADLB on hand-written records (SAP §3, §5): imputation of AE dates, the TEAE
window, related/DLT/trigger/CRS flags, the preceding infusion, CRS management; lab
baseline, on-treatment flag, worst grade, Hy's law pairs; the safety ARD counts.
Expected values worked out by hand."""
import pandas as pd
import pytest

from analysis.adae import derive_adae
from analysis.adlb import derive_adlb, hepatic_peaks, worst_post_baseline
from analysis.config import load_config
from analysis.safety_ard import ard_crs, ard_teae_ovr, ard_teae_terms
from hand_subjects import frame

CUT = "2026-10-20"
NK, T = "NKG2D CAR-NK", "NKG2D CAR-T"


@pytest.fixture(scope="module")
def cfg():
    return load_config(overrides={"data_cut": CUT})


def ts(s):
    return pd.Timestamp(s) if s else pd.NaT


@pytest.fixture(scope="module")
def adsl():
    # A: CAR-NK 2026-03-02 (09:30) / 03-03, CAR-T 03-16 / 03-17 (DL2), subsequent therapy 2026-05-01.
    # B: CAR-NK 2026-04-01, CAR-T 04-12 (DL3), last infusion 04-12 -> TEAE window to 2026-07-11.
    # C: CAR-NK only on 2026-04-06.
    rows = [("A", "Y", "Y", "DL2", "2026-03-02", "2026-03-17", "2026-03-02", "2026-04-13"),
            ("B", "Y", "Y", "DL3", "2026-04-01", "2026-04-12", "2026-04-01", "2026-05-10"),
            ("C", "Y", "N", None, "2026-04-06", "2026-04-06", None, None)]
    df = pd.DataFrame(rows, columns=["USUBJID", "SAFFL", "CARTFL", "DOSELVL", "TRTSDT", "TRTEDT", "WINSTDT", "WINENDT"])
    for c in ("TRTSDT", "TRTEDT", "WINSTDT", "WINENDT"):
        df[c] = pd.to_datetime(df[c])
    df["RFSTDT"] = df["TRTSDT"]
    df["DOSELVL"] = df["DOSELVL"].astype("string")
    df["CARTSDT"] = pd.to_datetime(["2026-03-16", "2026-04-12", None])
    df["DLTEVLFL"], df["DLTFL"] = ["Y", "Y", "N"], ["Y", "N", "N"]
    return df


@pytest.fixture(scope="module")
def ex():
    return frame(["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXSTDTC"], [
        ["A", 1.0, NK, 1e9, "2026-03-02T09:30"], ["A", 2.0, NK, 2e9, "2026-03-03T09:30"],
        ["A", 3.0, T, 3e7, "2026-03-16T10:00"], ["A", 4.0, T, 3e7, "2026-03-17T10:00"],
        ["B", 1.0, NK, 1e9, "2026-04-01"], ["B", 2.0, T, 5e7, "2026-04-12"],
        ["C", 1.0, NK, 1e9, "2026-04-06"]])


@pytest.fixture(scope="module")
def cm():
    return frame(["USUBJID", "CMTRT", "CMDECOD", "CMCAT", "CMSTDTC", "CMENDTC"], [
        ["A", "Capecitabine", "CAPECITABINE", "SUBSEQUENT CANCER THERAPY", "2026-05", None],  # -> 2026-05-01
        ["A", "Tocilizumab", "TOCILIZUMAB", "CRS MANAGEMENT", "2026-03-18", "2026-03-18"],
        ["B", "Dexamethasone", "DEXAMETHASONE", "CRS MANAGEMENT", "2026-04-20", "2026-04-22"]])


AE_COLS = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "AETOXGR", "AESER", "AEREL",
           "AEOUT", "AEDLT"]
CRS, ICANS = "Cytokine release syndrome", "Immune effector cell-associated neurotoxicity syndrome"


@pytest.fixture(scope="module")
def adae(adsl, ex, cm, cfg):
    ae = frame(AE_COLS, [
        ["A", 1.0, "x", "Fatigue", "Gen", "2026-03", "2026-09", "1", "N", "POSSIBLY RELATED", None, "N"],
        ["A", 2.0, "x", "Nausea", "GI", "2026-02", "2026-03-10", "1", "N", "UNLIKELY RELATED", None, None],
        ["A", 3.0, "x", "Headache", "Nerv", "2026-03-02T08:00", "2026-03-02", "1", "N", "NOT RELATED", None, None],
        ["A", 4.0, "x", "Chills", "Gen", "2026-03-02T10:00", "2026-03-02", "1", "N", "RELATED", None, None],
        ["A", 5.0, "x", CRS, "Immune", "2026-03-17", "2026-03-20", "2", "N", "RELATED", None, "N"],
        ["A", 6.0, "x", "Neutrophil count decreased", "Inv", "2026-03-20", "2026-03-27", "3", "N", "RELATED",
         None, "Y"],
        ["A", 7.0, "x", "Pyrexia", "Gen", "2026-04-30", "2026-05-02", "2", "N", "NOT RELATED", None, None],
        ["A", 8.0, "x", "Diarrhoea", "GI", "2026-05-01", "2026-05-03", "2", "N", "NOT RELATED", None, None],
        ["A", 9.0, "x", "Back pain", "Musc", "2026", "2026-10", "1", "N", "NOT RELATED", None, None],
        ["B", 1.0, "x", ICANS, "Nerv", "2026-04-20", "2026-04-23", "2", "Y", "RELATED", None, "N"],
        ["B", 2.0, "x", "Anaemia", "Blood", "2026-07-11", "2026-07-20", "3", "N", "NOT RELATED", None, None],
        ["B", 3.0, "x", "Anaemia", "Blood", "2026-07-12", "2026-07-20", "3", "N", "NOT RELATED", None, None],
        ["B", 4.0, "x", "Fatigue", "Gen", "2026-05-20", None, "4", "Y", "NOT RELATED", "FATAL", "Y"],
        ["C", 1.0, "x", "Fatigue", "Gen", "2026-04-07", "2026-04-09", "2", "N", "RELATED", None, "N"],
    ])
    return derive_adae(ae, adsl, ex, cm, cfg).set_index(["USUBJID", "AESEQ"])


def test_ae_start_imputation(adae):
    # "2026-03": first day of the month, but not before the first infusion (2026-03-02)
    assert adae.loc[("A", 1), "ASTDT"] == ts("2026-03-02") and adae.loc[("A", 1), "ASTDTF"] == "D"
    # "2026-02": the whole month is before the first infusion: first day
    assert adae.loc[("A", 2), "ASTDT"] == ts("2026-02-01") and adae.loc[("A", 2), "ASTDTF"] == "D"
    # "2026": month and day imputed, floored at the first infusion
    assert adae.loc[("A", 9), "ASTDT"] == ts("2026-03-02") and adae.loc[("A", 9), "ASTDTF"] == "M"
    assert adae.loc[("A", 5), "ASTDTF"] == "" and adae.loc[("A", 5), "ASTDY"] == 16


def test_ae_end_imputation(adae):
    assert adae.loc[("A", 1), "AENDT"] == ts("2026-09-30") and adae.loc[("A", 1), "AENDTF"] == "D"
    assert adae.loc[("A", 9), "AENDT"] == ts(CUT)        # "2026-10" capped at the data cut
    assert pd.isna(adae.loc[("B", 4), "AENDT"]) and pd.isna(adae.loc[("B", 4), "ADURN"])
    assert adae.loc[("A", 5), "ADURN"] == 4


def test_teae_window(adae):
    te = adae["TRTEMFL"]
    assert te[("A", 1)] == "Y"          # imputed to the first infusion day
    assert te[("A", 2)] == "N"          # before the first infusion
    assert te[("A", 3)] == "N"          # same day, 08:00 before the 09:30 infusion
    assert te[("A", 4)] == "Y"          # same day, after the infusion
    assert te[("A", 7)] == "Y"          # the day before the new anticancer therapy (2026-05-01)
    assert te[("A", 8)] == "N"          # on the day the new therapy starts
    assert te[("B", 2)] == "Y"          # last infusion 2026-04-12 + 90 days = 2026-07-11
    assert te[("B", 3)] == "N"          # one day later
    assert adae.loc[("A", 7), "NACTDT"] == ts("2026-05-01")


def test_flags(adae):
    assert adae.loc[("A", 1), "RELFL"] == "Y" and adae.loc[("A", 2), "RELFL"] == "N"
    assert adae.loc[("A", 5), "CRSFL"] == "Y" and adae.loc[("B", 1), "ICANSFL"] == "Y"
    assert adae.loc[("A", 6), "DLTFL"] == "Y"            # AEDLT Y, in the window (to 2026-04-13)
    assert adae.loc[("B", 4), "DLTFL"] == "N"            # AEDLT Y but after the window (2026-05-10)
    assert adae.loc[("B", 4), "FATALFL"] == "Y" and adae.loc[("A", 6), "ATOXGRN"] == 3
    # trigger events: CRS grade 2 in the window; a related grade >= 2 AE in the window; not a
    # grade 1 related AE, not an unrelated one, not a CAR-NK-only subject
    trig = adae["TRIGFL"]
    assert trig[("A", 5)] == "Y" and trig[("A", 6)] == "Y" and trig[("B", 1)] == "Y"
    assert trig[("A", 1)] == "N" and trig[("A", 7)] == "N" and trig[("C", 1)] == "N"


def test_preceding_infusion_and_crs_management(adae):
    # CRS on 2026-03-17, no time: the CAR-T infusion of that day precedes it (day 0)
    assert adae.loc[("A", 5), "PRINFPRD"] == "CAR-T" and adae.loc[("A", 5), "PRINFDY"] == 0
    assert adae.loc[("B", 1), "PRINFPRD"] == "CAR-T" and adae.loc[("B", 1), "PRINFDY"] == 8
    assert adae.loc[("A", 4), "PRINFPRD"] == "CAR-NK" and adae.loc[("A", 4), "PRINFDY"] == 0
    assert pd.isna(adae.loc[("A", 2), "PRINFPRD"])       # before any infusion
    assert (adae.loc[("A", 5), "TOCIFL"], adae.loc[("A", 5), "CORTFL"]) == ("Y", "N")
    assert (adae.loc[("B", 1), "TOCIFL"], adae.loc[("B", 1), "CORTFL"]) == ("N", "Y")
    assert pd.isna(adae.loc[("A", 1), "TOCIFL"])         # not a CRS/ICANS record


def test_teae_ard_counts(adsl, adae):
    a = ard_teae_ovr(adsl, adae.reset_index(), ["DL1", "DL2", "DL3", "DL4"])
    get = lambda var, gl="overall": int(a[(a.variable == var) & (a.group_level == gl)].value.iloc[0])  # noqa: E731
    assert get("N") == 3 and get("N", "NONE") == 1 and get("N", "DL2") == 1
    assert get("ANY") == 3            # A, B, C
    assert get("G3") == 2             # A (neutropenia 3), B (anaemia 3 in the window, fatigue 4)
    assert get("SER") == 1            # both serious AEs are B's
    assert get("REL") == 3 and get("REL_G3") == 1 and get("DEATH") == 1
    assert get("DLT") == 1 and get("DLT", "DL2") == 1 and get("CRS") == 1 and get("ICANS") == 1
    t = ard_teae_terms(adsl, adae.reset_index(), ["DL1", "DL2", "DL3", "DL4"])
    f = t[(t.group == "overall") & (t.variable == "AEDECOD") & (t.variable_level == "Fatigue")]
    assert dict(zip(f.stat, f.value)) == {"n_any": "3", "n_g3": "1", "soc": "Gen"}
    anae = t[(t.group == "overall") & (t.variable_level == "Anaemia") & (t.stat == "n_any")]
    assert anae.value.tolist() == ["1"]  # the record after the window is not a TEAE


def test_crs_ard(adsl, adae):
    c = ard_crs(adsl, adae.reset_index(), ["DL1", "DL2", "DL3", "DL4"])
    crs = dict(zip(*c[(c.variable == "CRS") & (c.group == "overall")][["stat", "value"]].T.values))
    assert (crs["n"], crs["n_g2"], crs["n_after_cart"], crs["onset_median"], crs["dur_median"], crs["n_toci"]) == \
        ("1", "1", "1", "0", "4", "1")
    icans_dl1 = c[(c.variable == "ICANS") & (c.group_level == "DL1")]
    assert dict(zip(icans_dl1.stat, icans_dl1.value))["reason"] == "no subject with ICANS"


# ---- ADLB ---------------------------------------------------------------------------------------

LB_COLS = ["USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC"]


@pytest.fixture(scope="module")
def adlb(adsl, ex, cm, cfg):
    lb = frame(LB_COLS, [
        ["A", 1.0, "ALT", "ALT", 30.0, "U/L", 7.0, 40.0, "2026-02-25"],
        ["A", 2.0, "ALT", "ALT", 35.0, "U/L", 7.0, 40.0, "2026-03-02T08:00"],    # baseline (before 09:30)
        ["A", 3.0, "ALT", "ALT", 90.0, "U/L", 7.0, 40.0, "2026-03-02T12:00"],    # after the infusion
        ["A", 4.0, "ALT", "ALT", 130.0, "U/L", 7.0, 40.0, "2026-03-20"],         # 3.25 x ULN, grade 2
        ["A", 5.0, "BILI", "Bilirubin", 10.0, "umol/L", 0.0, 21.0, "2026-03-01"],
        ["A", 6.0, "BILI", "Bilirubin", 50.0, "umol/L", 0.0, 21.0, "2026-04-15"],  # 2.38 x ULN, 26 days later
        ["A", 7.0, "ALT", "ALT", 900.0, "U/L", 7.0, 40.0, "2026-05-02"],          # after the new therapy
        ["B", 1.0, "PLT", "Platelets", 150.0, "10^9/L", 125.0, 350.0, "2026-03-30"],
        ["B", 2.0, "PLT", "Platelets", None, "10^9/L", 125.0, 350.0, "2026-04-01"],  # missing: not baseline
        ["B", 3.0, "PLT", "Platelets", 45.0, "10^9/L", 125.0, 350.0, "2026-04-20"],  # grade 3
        ["B", 4.0, "AST", "AST", 150.0, "U/L", 13.0, 35.0, "2026-04-20"],           # 4.3 x ULN
        ["B", 5.0, "BILI", "Bilirubin", 50.0, "umol/L", 0.0, 21.0, "2026-05-25"],   # 35 days later: no pair
        ["B", 6.0, "CEA", "CEA", 8.0, "ng/mL", 0.0, 5.0, "2026-04-20"],             # kept, not graded
    ])
    return derive_adlb(lb, adsl, ex, cm, cfg)


def test_adlb_baseline_and_grades(adlb):
    a = adlb.set_index(["USUBJID", "LBSEQ"])
    assert a.loc[("A", 2), "ABLFL"] == "Y" and pd.isna(a.loc[("A", 1), "ABLFL"])
    assert (a.loc[("A", 4), "BASE"], a.loc[("A", 4), "BNRIND"], a.loc[("A", 4), "ATOXGRN"]) == (35.0, "NORMAL", 2)
    assert a.loc[("B", 1), "ABLFL"] == "Y" and a.loc[("B", 3), "ATOXGRN"] == 3 and a.loc[("B", 3), "BTOXGRN"] == 0
    assert a.loc[("A", 3), "ONTRTFL"] == "Y" and a.loc[("A", 2), "ONTRTFL"] == "N"
    assert a.loc[("A", 7), "ONTRTFL"] == "N"                # after the new anticancer therapy
    assert pd.isna(a.loc[("B", 6), "ATOXGRN"]) and a.loc[("B", 6), "AVAL"] == 8.0
    assert a.loc[("A", 4), "R2ANRHI"] == pytest.approx(3.25)


def test_adlb_same_date_differs_by_subject(adsl, ex, cm, cfg):
    # One date-time, three subjects, three answers. First infusions: A 2026-03-02T09:30,
    # B 2026-04-01 (no time), C 2026-04-06 (no time).
    # 2026-04-01T08:00: A after its infusion (on treatment); B the same day without an
    # infusion time (on or before: its baseline, the latest such); C before (not its baseline:
    # 04-06T08:00 is later and on C's infusion day). 2026-03-02T08:00: before A's 09:30
    # (A's baseline) and before B's infusion. B's "2026-04" is not a full date: neither.
    lb = frame(LB_COLS, [
        ["A", 1.0, "HGB", "Hemoglobin", 125.0, "g/L", 120.0, 160.0, "2026-03-02T08:00"],
        ["A", 2.0, "HGB", "Hemoglobin", 130.0, "g/L", 120.0, 160.0, "2026-04-01T08:00"],
        ["A", 3.0, "HGB", "Hemoglobin", 128.0, "g/L", 120.0, 160.0, "2026-04-06T08:00"],
        ["B", 1.0, "HGB", "Hemoglobin", 145.0, "g/L", 120.0, 160.0, "2026-03-02T08:00"],
        ["B", 2.0, "HGB", "Hemoglobin", 140.0, "g/L", 120.0, 160.0, "2026-04-01T08:00"],
        ["B", 3.0, "HGB", "Hemoglobin", 142.0, "g/L", 120.0, 160.0, "2026-04"],
        ["C", 1.0, "HGB", "Hemoglobin", 150.0, "g/L", 120.0, 160.0, "2026-04-01T08:00"],
        ["C", 2.0, "HGB", "Hemoglobin", 110.0, "g/L", 120.0, 160.0, "2026-04-06T08:00"],
    ])
    a = derive_adlb(lb, adsl, ex, cm, cfg).set_index(["USUBJID", "LBSEQ"])
    assert a["ABLFL"].fillna("").to_dict() == {("A", 1): "Y", ("A", 2): "", ("A", 3): "", ("B", 1): "",
                                               ("B", 2): "Y", ("B", 3): "", ("C", 1): "", ("C", 2): "Y"}
    assert a["ONTRTFL"].to_dict() == {("A", 1): "N", ("A", 2): "Y", ("A", 3): "Y", ("B", 1): "N",
                                      ("B", 2): "N", ("B", 3): "N", ("C", 1): "N", ("C", 2): "N"}
    assert a["BASE"].to_dict() == {("A", 1): 125, ("A", 2): 125, ("A", 3): 125, ("B", 1): 140,
                                   ("B", 2): 140, ("B", 3): 140, ("C", 1): 110, ("C", 2): 110}
    assert a.loc[("C", 2), "BNRIND"] == "LOW" and a.loc[("C", 2), "ATOXGRN"] == 1   # < LLN, >= 100 g/L


def test_worst_grade_and_hyslaw(adlb):
    w = worst_post_baseline(adlb).set_index(["USUBJID", "PARAMCD"])
    assert w.loc[("A", "ALT"), "WORST"] == 2 and w.loc[("A", "ALT"), "BTOXGRN"] == 0
    assert w.loc[("B", "PLT"), "WORST"] == 3
    peaks, pairs = hepatic_peaks(adlb, 30)
    p = peaks.set_index("USUBJID")
    assert p.loc["A", "ALT"] == pytest.approx(3.25) and p.loc["A", "BILI"] == pytest.approx(50 / 21)
    assert pairs["USUBJID"].tolist() == ["A"]             # B: bilirubin 35 days after the AST rise
    assert (pairs.iloc[0]["PARAMCD"], pairs.iloc[0]["ADT_BILI"]) == ("ALT", ts("2026-04-15"))
    _, pairs40 = hepatic_peaks(adlb, 35)
    assert sorted(pairs40["USUBJID"]) == ["A", "B"]


def test_tables_and_text_read_the_ard(adsl, adae, adlb, cfg):
    from analysis import escalation as esc
    from analysis import safety_ard as sard
    from analysis import safety_tables as st
    from analysis.ard import ARD, combine
    levels = list(cfg["dose_levels"])
    ae = adae.reset_index()
    subj = esc.escalation_subjects(adsl, ae, pd.Timestamp(CUT))
    table, status = esc.replay(subj, esc.Rules.from_config(cfg))
    peaks, pairs = hepatic_peaks(adlb, 30)
    ard = ARD(combine([
        sard.ard_dlt(subj, levels), sard.ard_escalation(status, None), sard.ard_esc_replay(table),
        sard.ard_esc_subject(subj, table), sard.ard_isotonic(subj, levels), sard.ard_teae_ovr(adsl, ae, levels),
        sard.ard_teae_terms(adsl, ae, levels), sard.ard_teae_terms(adsl, ae, levels, "teae_rel", True),
        sard.ard_crs(adsl, ae, levels), sard.ard_lab_shift(adsl, worst_post_baseline(adlb), levels, ["ALT", "PLT"]),
        sard.ard_edish(peaks, pairs, adsl)]))
    # DL2 is cohort 1 (A, a DLT), DL3 cohort 2 (B): DL2 1/1 was not a titration level -> incomplete
    dlt = st.table_dlt(ard, cfg)
    assert dlt.rows[1][:5] == ["DL2\u2020", "3\u00d710\u2077", "1", "1", "1"]
    assert dlt.rows[1][5] == "100.0 (2.5\u2013100.0)"
    assert ard.get("escalation", "MTD", "level") == "NOT REACHED"
    ovr = st.table_teae_ovr(ard, cfg)
    assert ovr.columns[-1] == "Overall (N=3)" and ovr.rows[1][-1] == "2 (66.7)"   # grade >= 3
    soc = st.table_teae_socpt(ard, cfg)
    assert soc.rows[0][0] == "**Any TEAE**" and soc.rows[0][-2:] == ["3 (100.0)", "2 (66.7)"]
    assert soc.rows[1][0] == "**Gen**"                     # most frequent SOC first (3 subjects)
    # SAP §5 (any grade; grade >= 3): each column header (with its N) spans its two columns
    heads = [h for *_x, h, _n in st.safety_columns(ard, levels, cfg.get("small_group_n", 3))]
    assert soc.spanners == [(h, 1 + 2 * i, 2 + 2 * i) for i, h in enumerate(heads)]
    assert soc.spanners[-1][0] == "Overall (N=3)" and soc.columns[1:3] == ["Any", "G\u22653"]
    assert len(soc.columns) == 1 + 2 * len(heads) and all(len(r) == len(soc.columns) for r in soc.rows)
    shift = st.table_lab_shift(ard, cfg, [("ALT", "ALT increased"), ("PLT", "Platelet count decreased")])
    assert ["**PLT** Platelet count decreased", "DL3", "0", "1", "0", "0", "0", "1", "0"] in shift.rows  # B: 0 -> 3
    assert shift.spanners == [("Worst on-treatment grade", 4, 8)] and shift.columns[4:] == list("01234")
    assert st.table_esc(ard, cfg).spanners == [("Next cohort", 6, 7)]
    text = st.safety_paragraph(ard, cfg)
    assert "1 subject of 2 DLT-evaluable subjects had a dose-limiting toxicity (1/1 at DL2, 0/1 at DL3)" in text
    assert "the MTD was not reached" in text and "1 subject met the potential Hy's law criteria" in text
    esc_d = st.figure_esc_data(ard)
    assert esc_d[["id", "level", "outcome"]].values.tolist() == [["A", "DL2", "DLT"],
                                                                 ["B", "DL3", "Trigger event, no DLT"]]
    ed = st.figure_edish_data(ard).set_index("USUBJID")
    assert ed.loc["A", "x"] == pytest.approx(3.25) and ed.loc["B", "x"] == pytest.approx(150 / 35)
    assert ed.loc["A", "hyslaw"] == "Y" and ed.loc["B", "hyslaw"] == "N"
