"""ARD `sets`/`disp` and the tables read from it, on the hand-written subjects:
ENROLLED S1 S2 S4 S5; SAFETY the same; CART S1 (DL2) S4 (DL3) S5 (DL2);
DLTEVAL S1 S5; EFFEVAL S1 S2; KINETICS S1; S2 died (DS DEATH); S3 screen failure."""
import math

import pandas as pd
import pytest

from analysis import ard as A
from analysis import tables as T
from analysis.adsl import derive_adsl
from analysis.config import load_config
from analysis.narrative import summary_paragraph
from hand_subjects import hand_domains

LEVELS = ["DL1", "DL2", "DL3", "DL4"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(overrides={"data_cut": "2026-10-31"})


@pytest.fixture(scope="module")
def ard(cfg):
    d = hand_domains()
    adsl = derive_adsl(d, cfg, set(d))
    meta = {"records": {"AE": {"read": 4, "excluded_by_data_cut": 1}, "LB": {"read": 12, "excluded_by_data_cut": 2},
                        "DM": {"read": 5, "excluded_by_data_cut": 0}},
            "domains_absent": ["QS"], "deaths_after_cut_blanked": 0}
    return A.combine([A.ard_sets(adsl, LEVELS), A.ard_disposition(adsl, d["DS"], LEVELS), A.ard_datacut(meta)])


def test_ard_has_exactly_the_contract_columns(ard):
    assert list(ard.columns) == ["analysis", "group", "group_level", "variable",
                                 "variable_level", "stat", "value"]


def test_set_counts(ard):
    a = A.ARD(ard)
    got = {s: a.int("sets", s, "n") for s in ["ENROLLED", "SAFETY", "CART", "DLTEVAL", "EFFEVAL", "KINETICS"]}
    assert got == dict(ENROLLED=4, SAFETY=4, CART=3, DLTEVAL=2, EFFEVAL=2, KINETICS=1)
    assert a.int("sets", "CART", "n", "DOSELVL", "DL2") == 2
    assert a.int("sets", "CART", "n", "DOSELVL", "DL3") == 1
    assert a.int("sets", "CART", "n", "DOSELVL", "DL1") == 0
    assert a.int("sets", "SAFETY", "n", "DOSELVL", A.NO_CART) == 1
    assert a.int("sets", "CART", "n_excluded", variable_level="No CAR-T infusion") == 1
    assert a.int("sets", "CART", "n_excluded", variable_level="Screen failure") == 1
    assert a.int("sets", "SCREENED", "n") == 5


def test_disposition(ard):
    a = A.ARD(ard)
    assert a.int("disp", "SCREENING", "n", variable_level="SCREEN FAILURE") == 1
    assert a.int("disp", "DSDECOD", "n", variable_level="DEATH") == 1
    assert a.int("disp", "DSDECOD", "n", variable_level="ONGOING") == 3
    assert a.int("disp", "DSDECOD", "n", "DOSELVL", A.NO_CART, variable_level="DEATH") == 1


def test_values_keep_full_precision():
    assert A.fmt_value(1 / 3) == repr(1 / 3)
    assert float(A.fmt_value(0.004210745364)) == 0.004210745364
    assert A.fmt_value(float("nan")) == "" and A.fmt_value(None) == ""
    assert A.fmt_value(7.0) == "7"


def test_duplicate_statistics_refused(ard):
    with pytest.raises(ValueError, match="duplicate"):
        A.combine([ard, ard.head(1)])


def test_tables_read_the_ard(ard, cfg, tmp_path):
    a = A.ARD(ard)
    t = T.table_sets(a, cfg["dose_levels"])
    rows = {r[0]: r[1:] for r in t.rows}
    # Columns: DL1..DL4, No CAR-T, Overall.
    assert rows["**CAR-T**"] == ["0", "2", "1", "0", "0", "3"]
    assert rows["**Safety**"] == ["0", "2", "1", "0", "1", "4"]
    assert rows["\u2003not included: No CAR-T infusion"][-1] == "1"
    d = T.table_disposition(a, cfg["dose_levels"])
    drows = {r[0]: r[1:] for r in d.rows}
    assert drows["\u2003Death"][-1] == "1 (25.0)"
    assert drows["\u2003Ongoing at the data cut"][1] == "2 (100.0)"
    paths = T.write_table(t, tmp_path)
    md = paths[0].read_text()
    assert "| **CAR-T** | 0 | 2 | 1 | 0 | 0 | 3 |" in md
    assert "{#tbl-sets}" in md
    # A changed ARD changes the table: the table has no numbers of its own.
    ard2 = ard.copy()
    m = (ard2["analysis"] == "sets") & (ard2["variable"] == "CART") & (ard2["group"] == "overall") & (ard2["stat"] == "n")
    ard2.loc[m, "value"] = "99"
    t2 = T.table_sets(A.ARD(ard2), cfg["dose_levels"])
    assert {r[0]: r[1:] for r in t2.rows}["**CAR-T**"][-1] == "99"


def test_summary_paragraph_numbers(ard, cfg):
    text = summary_paragraph(A.ARD(ard), cfg)
    assert "31 October 2026" in text
    assert "Of 5 subjects screened, 1 was a screen failure and 4 were enrolled" in text
    assert "3 received CAR-T cells (CAR-T set: 2 at DL2, 1 at DL3)" in text
    assert "1 subject received CAR-NK cells only" in text


def test_data_cut_exclusions_are_counted_in_the_summary(ard, cfg):
    a = A.ARD(ard)
    assert a.int("datacut", "LB", "n_excluded") == 2
    assert a.get("datacut", "QS", "absent") == "Y"
    text = summary_paragraph(a, cfg)
    assert "3 records dated after the data cut were excluded before any derivation (AE 1, LB 2)." in text


def test_executive_summary_reads_every_number_from_the_ard(ard, cfg):
    from analysis.narrative import executive_summary

    extra = []
    extra += A.rows("dlt", "overall", "overall", "DLT", "", {"n_dlt": 1, "n_evaluable": 2})
    extra += A.rows("dlt", "DOSELVL", "DL2", "DLT", "", {"n_dlt": 1, "n_evaluable": 2})
    extra += A.rows("escalation", "overall", "overall", "MTD", "", {"level": "NOT REACHED"})
    extra += A.rows("escalation", "overall", "overall", "RP2D", "", {"level": "DL2"})
    extra += A.rows("escalation", "overall", "overall", "HIGHEST_TESTED", "", {"level": "DL3"})
    extra += A.rows("teae_ovr", "overall", "overall", "N", "", {"n": 4})
    for v, k in {"G3": 2, "SER": 1, "CRS": 3, "ICANS": 0, "DEATH": 0}.items():
        extra += A.rows("teae_ovr", "overall", "overall", v, "", {"n": k})
    extra += A.rows("crs", "overall", "overall", "CRS", "", {"n_g3": 1, "n_g4": 0, "n_g5": 0})
    extra += A.rows("orr", "overall", "overall", "CBOR", "", {"n_resp": 1, "n": 2, "estimate": 0.5,
                                                              "lcl": 0.0125791, "ucl": 0.9874209})
    extra += A.rows("dcr", "overall", "overall", "CBOR", "", {"n_resp": 2, "n": 2, "estimate": 1.0,
                                                              "lcl": 0.1581139, "ucl": 1.0})
    extra += A.rows("km", "overall", "overall", "PFS", "", {"median": 121.75, "median_lcl": 60.875, "median_ucl": None})
    extra += A.rows("km", "overall", "overall", "OS", "", {"median": None})
    text = executive_summary(A.ARD(A.combine([ard, A.frame(extra)])), cfg)
    assert "1 DLT(s) among 2 DLT-evaluable subjects (DL2 1/2); MTD not reached; highest level tested DL3; RP2D DL2." in text
    assert "grade ≥3 TEAE in 2 (50.0%) subjects" in text and "grade ≥3 in 1" in text
    assert "confirmed ORR 1/2 (50.0%; 95% CI 1.3–98.7%, Clopper–Pearson)" in text
    assert "DCR 2/2 (100.0%; 95% CI 15.8–100.0%" in text
    assert "median PFS 4.0 months (95% CI 2.0–NE; Brookmeyer–Crowley, log-log); median OS not reached" in text
    # Without the stage results, the summary says so instead of inventing numbers.
    assert "**Safety:** not available in this run." in executive_summary(A.ARD(ard), cfg)
