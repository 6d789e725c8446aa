"""ADSL on five hand-written subjects (tests/hand_subjects.py) whose sets and baseline
values were worked out by hand."""
import pandas as pd
import pytest

from analysis.adsl import derive_adsl, match_dose_level
from analysis.config import load_config
from hand_subjects import hand_domains

CUT = "2026-10-31"


@pytest.fixture(scope="module")
def cfg():
    return load_config(overrides={"data_cut": CUT})


@pytest.fixture(scope="module")
def domains():
    return hand_domains()


@pytest.fixture(scope="module")
def adsl(domains, cfg):
    return derive_adsl(domains, cfg, set(domains)).set_index("USUBJID")


def test_sets_worked_by_hand(adsl):
    flags = adsl[["ENRLFL", "SAFFL", "CARTFL", "DLTEVLFL", "EFFFL", "PKFL"]].to_dict("index")
    assert flags["S1"] == dict(ENRLFL="Y", SAFFL="Y", CARTFL="Y", DLTEVLFL="Y", EFFFL="Y", PKFL="Y")
    assert flags["S2"] == dict(ENRLFL="Y", SAFFL="Y", CARTFL="N", DLTEVLFL="N", EFFFL="Y", PKFL="N")
    assert flags["S3"] == dict(ENRLFL="N", SAFFL="N", CARTFL="N", DLTEVLFL="N", EFFFL="N", PKFL="N")
    assert flags["S4"] == dict(ENRLFL="Y", SAFFL="Y", CARTFL="Y", DLTEVLFL="N", EFFFL="N", PKFL="N")
    assert flags["S5"] == dict(ENRLFL="Y", SAFFL="Y", CARTFL="Y", DLTEVLFL="Y", EFFFL="N", PKFL="N")


def test_exclusion_reasons(adsl):
    assert adsl.loc["S3", "SAFRSN"] == "Screen failure"
    assert adsl.loc["S2", "CARTRSN"] == "No CAR-T infusion"
    assert adsl.loc["S4", "DLTRSN"] == "DLT window not complete at the data cut"
    assert adsl.loc["S4", "EFFRSN"] == "No measurable disease at baseline"
    assert adsl.loc["S5", "EFFRSN"] == "No post-baseline response assessment"
    assert adsl.loc["S2", "PKRSN"] == "No quantifiable post-infusion CAR sample"
    assert pd.isna(adsl.loc["S1", "SAFRSN"])


def test_dlt_flag_only_inside_window(adsl):
    assert adsl.loc["S1", "DLTFL"] == "Y"
    assert adsl.loc["S5", "DLTFL"] == "N"           # AEDLT=Y but after the window
    assert adsl.loc["S1", "WINENDT"] == pd.Timestamp("2026-02-12")


def test_treatment_dates_and_dose_level(adsl):
    assert adsl.loc["S1", "TRTSDT"] == pd.Timestamp("2026-01-05")
    assert adsl.loc["S1", "CARTSDT"] == pd.Timestamp("2026-01-15")
    assert adsl.loc["S1", "DOSELVL"] == "DL2"
    assert adsl.loc["S4", "DOSELVL"] == "DL3"        # 5.1e7 within 5% of 5e7
    assert pd.isna(adsl.loc["S2", "DOSELVL"])
    assert pd.isna(adsl.loc["S2", "CARTSDT"])


def test_baseline_subgroup_values(adsl):
    s1 = adsl.loc["S1"]
    assert s1["BSLD"] == 60.0
    assert s1["METSITES"] == 3 and s1["LIVONLY"] == "N"
    assert s1["CEABL"] == 12.0 and s1["CEAGR"] == ">ULN"
    assert s1["CA199BL"] == 20.0 and s1["CA199GR"] == "<=ULN"
    assert s1["GLRBL"] == pytest.approx(3.0) and s1["GLRGR"] == ">=3"
    assert s1["NKGLHS"] == 120.0 and s1["NKGLGR"] == "HIGH"
    assert s1["PRIORREG"] == 3 and s1["PRIORGR"] == ">=3"
    assert s1["HISTOL"] == "colorectal adenocarcinoma" and s1["COHORT"] == "CRC"
    s2 = adsl.loc["S2"]
    assert s2["BSLD"] == 25.0 and s2["LIVONLY"] == "Y" and s2["METSITES"] == 1
    assert s2["GLRBL"] == pytest.approx(2.0) and s2["GLRGR"] == "<3"
    assert pd.isna(s2["NKGLHS"]) and pd.isna(s2["NKGLGR"])
    assert s2["PRIORREG"] == 0 and s2["PRIORGR"] == "<=2"
    s5 = adsl.loc["S5"]
    assert s5["BSLD"] == 45.0
    assert s5["NKGLGR"] == "LOW" and s5["PRIORREG"] == 1
    assert s5["METSITES"] == 2 and s5["SITESGR"] == "1-2"
    assert pd.isna(adsl.loc["S4", "BSLD"])


def test_tumour_burden_cut_is_median_of_efficacy_set(adsl):
    # Efficacy-evaluable: S1 (60) and S2 (25): median 42.5.
    assert adsl["BSLDCUT"].iloc[0] == pytest.approx(42.5)
    assert adsl.loc["S1", "BSLDGR"] == ">cut-off"
    assert adsl.loc["S2", "BSLDGR"] == "<=cut-off"
    assert adsl.loc["S5", "BSLDGR"] == ">cut-off"


def test_death_and_last_alive(adsl):
    assert adsl.loc["S2", "DTHDT"] == pd.Timestamp("2026-03-31")   # "2026-03" -> last day
    assert adsl.loc["S2", "DTHDTF"] == "D"
    assert adsl.loc["S1", "LSTALVDT"] == pd.Timestamp("2026-09-30")  # SS after the cut ignored
    assert adsl.loc["S5", "LSTALVDT"] == pd.Timestamp("2026-06-01")  # the AE starting 2026-06-01
    assert pd.isna(adsl.loc["S1", "DTHDT"])


def test_no_identifiers_and_one_row_per_subject(adsl):
    assert len(adsl) == 5
    assert "BRTHDTC" not in adsl.columns


def test_unmatched_dose_refused():
    assert match_dose_level(3.1e7, {"DL1": 1.5e7, "DL2": 3e7}, 0.05) == "DL2"
    assert match_dose_level(4e7, {"DL1": 1.5e7, "DL2": 3e7}, 0.05) is None
