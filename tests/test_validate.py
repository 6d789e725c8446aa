"""Validation against the input contract: planted problems are each found with file, row,
variable and value; tolerated warnings; the report files."""
import json

import pandas as pd
import pytest

from analysis.contract import DOMAINS, LB_TESTCODES, OPTIONAL_DOMAINS, REQUIRED_DOMAINS
from analysis.io import read_export
from analysis.validate import RULES, format_problems, normalise, validate, write_validation_report
from export_fixtures import base_frames, write_export


def check(folder):
    domains, problems, files = read_export(folder)
    return problems + validate(domains, files)


def find(problems, rule):
    return [(p.file, p.row, p.variable, p.value) for p in problems if p.rule == rule]


def test_contract_is_data():
    assert REQUIRED_DOMAINS == ("DM", "EX", "AE", "LB", "TU", "TR", "RS", "DS")
    assert OPTIONAL_DOMAINS == ("MI", "PC", "CM", "SS", "VS", "QS", "EG", "CV")
    assert DOMAINS["AE"].primary_date == "AESTDTC" and DOMAINS["DM"].primary_date is None
    assert ("AESTDTC", "AEENDTC") in DOMAINS["AE"].periods
    assert {"WBC", "CA199", "IL6", "PROT"} <= set(LB_TESTCODES)
    assert "BRTHDTC" not in DOMAINS["DM"].allowed and "SITEID" in DOMAINS["DM"].allowed


def test_valid_export_has_no_problems(tmp_path):
    for fmt in ("csv", "xpt", "parquet"):
        assert check(write_export(tmp_path / fmt, fmt=fmt)) == []


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    f = base_frames()
    f["ae"].loc[0, "AETOXGR"] = "6"                                     # ae row 1
    f["dm"] = pd.concat([f["dm"], f["dm"].iloc[[1]]], ignore_index=True)  # dm row 4 repeats NK01-002
    f["ae"].loc[3, "USUBJID"] = "NK01-099"                              # ae row 4
    f["lb"].loc[1, "LBDTC"] = "2026-02-30"                              # lb row 2
    f["tr"].loc[2, "TRSTRESN"] = "-5"                                   # tr row 3
    f["lb"].loc[0, "LBSTRESU"] = "g/L"                                  # lb row 1: WBC must be 10^9/L
    f["ae"].loc[1, "AEENDTC"] = "2026-03-10"                            # ae row 2: before 2026-03-16T20:00
    f["rs"] = f["rs"].drop(columns="RSEVAL")                            # required variable
    f["lb"].loc[3, "LBSTRESN"] = "high"                                 # lb row 4
    f["ex"].loc[3, "EXSEQ"] = "3"                                       # ex row 4 repeats EXSEQ 3
    f["ex"].loc[0, "EXTRT"] = "CAR-X"                                   # ex row 1
    f["rs"].loc[0, "RSDTC"] = "14/04/2026"                              # rs row 1
    f["tr"].loc[1, "TRSTRESC"] = "MAYBE"                                # tr row 2 (TUMSTATE)
    f["dm"].loc[2, "AGE"] = "131"                                       # dm row 3
    # warnings: tolerated
    f["dm"].loc[0, "SEX"] = "m"                                         # dm row 1
    f["ex"].loc[2, "EXROUTE"] = "intravenous "                          # ex row 3
    f["lb"].loc[1, "LBSTRESU"] = "u/l"                                  # lb row 2 (ALT)
    f["lb"].loc[4, "LBTESTCD"] = "FOO"                                  # lb row 5
    f["ae"].loc[2, "AEBODSYS"] = ""                                     # ae row 3
    f["ds"].loc[0, "DSSTDTC"] = "--02-25"                               # ds row 1
    return check(write_export(tmp_path_factory.mktemp("planted") / "e", f))


@pytest.mark.parametrize("rule, expected", [
    ("grade_out_of_range", [("ae.csv", 1, "AETOXGR", "6")]),
    ("usubjid_duplicate", [("dm.csv", 4, "USUBJID", "NK01-002")]),
    ("usubjid_unknown", [("ae.csv", 4, "USUBJID", "NK01-099")]),
    ("dtc_impossible_date", [("lb.csv", 2, "LBDTC", "2026-02-30")]),
    ("dtc_not_iso8601", [("rs.csv", 1, "RSDTC", "14/04/2026")]),
    ("value_negative", [("tr.csv", 3, "TRSTRESN", "-5")]),
    ("value_out_of_range", [("dm.csv", 3, "AGE", "131")]),
    ("unit_invalid", [("lb.csv", 1, "LBSTRESU", "g/L")]),
    ("end_before_start", [("ae.csv", 2, "AEENDTC", "2026-03-10")]),
    ("variable_missing", [("rs.csv", None, "RSEVAL", "")]),
    ("not_numeric", [("lb.csv", 4, "LBSTRESN", "high")]),
    ("seq_duplicate", [("ex.csv", 4, "EXSEQ", "3")]),
    ("ct_invalid", [("ex.csv", 1, "EXTRT", "CAR-X"), ("tr.csv", 2, "TRSTRESC", "MAYBE")]),
])
def test_each_planted_error_is_found(planted, rule, expected):
    assert sorted(find(planted, rule), key=str) == sorted(expected, key=str)
    assert all(p.severity == "error" for p in planted if p.rule == rule)


@pytest.mark.parametrize("rule, expected", [
    ("ct_normalised", [("dm.csv", 1, "SEX", "m"), ("ex.csv", 3, "EXROUTE", "intravenous ")]),
    ("unit_normalised", [("lb.csv", 2, "LBSTRESU", "u/l")]),
    ("lb_testcd_unknown", [("lb.csv", 5, "LBTESTCD", "FOO")]),
    ("ae_soc_missing", [("ae.csv", 3, "AEBODSYS", "")]),
    ("dtc_missing_year", [("ds.csv", 1, "DSSTDTC", "--02-25")]),
])
def test_warnings_are_reported(planted, rule, expected):
    assert sorted(find(planted, rule)) == sorted(expected)
    assert all(p.severity == "warning" for p in planted if p.rule == rule)


def test_nothing_else_is_reported(planted):
    assert {p.rule for p in planted} == {
        "grade_out_of_range", "usubjid_duplicate", "usubjid_unknown", "dtc_impossible_date", "dtc_not_iso8601",
        "value_negative", "value_out_of_range", "unit_invalid", "end_before_start", "variable_missing",
        "not_numeric", "seq_duplicate", "ct_invalid", "ct_normalised", "unit_normalised", "lb_testcd_unknown",
        "ae_soc_missing", "dtc_missing_year"}
    assert all(p.rule in RULES and RULES[p.rule][0] == p.severity for p in planted)


def test_lower_case_terms_are_tolerated_and_normalised(tmp_path):
    f = base_frames()
    f["dm"].loc[0, "SEX"] = "m"
    f["dm"].loc[1, "ARMCD"] = " dl2"
    f["ae"].loc[0, "AESER"] = "n"
    f["lb"].loc[1, "LBSTRESU"] = "u/l"
    f["lb"].loc[2, "LBSTRESU"] = "µmol/L"  # an accepted spelling: silently the declared one
    f["tr"].loc[1, "TRSTRESC"] = "present"  # conditional terms are normalised too
    domains, problems, files = read_export(write_export(tmp_path / "e", f))
    problems = validate(domains, files)
    assert problems and all(p.severity == "warning" for p in problems)
    assert {p.value for p in problems} == {"m", " dl2", "n", "u/l", "present"}
    typed = normalise(domains)
    assert typed["DM"]["SEX"].tolist()[0] == "M" and typed["DM"].at[1, "ARMCD"] == "DL2"
    assert typed["AE"].at[0, "AESER"] == "N"
    assert typed["LB"]["LBSTRESU"].tolist()[1:3] == ["U/L", "umol/L"]
    assert typed["TR"].at[1, "TRSTRESC"] == "PRESENT"
    assert typed["LB"]["LBSTRESN"].dtype == "float64" and typed["AE"]["AESEQ"].dtype == "float64"
    assert str(typed["AE"]["AETERM"].dtype).startswith("string")


def test_unit_spellings_only_of_the_tests_own_unit(tmp_path):
    f = base_frames()
    f["lb"].loc[0, "LBSTRESU"] = "10*9/L"   # WBC: another spelling of 10^9/L, silently normalised
    f["lb"].loc[2, "LBSTRESU"] = "\u03bcmol/L"  # CREAT, Greek mu: silently umol/L
    f["lb"].loc[1, "LBSTRESU"] = "\u00b5mol/L"  # ALT: a spelling of umol/L, not of U/L: an error
    f["lb"].loc[4, "LBSTRESU"] = "umol/l"   # WBC: umol/L in the wrong case is still not 10^9/L
    domains, problems, files = read_export(write_export(tmp_path / "e", f))
    problems = validate(domains, files)
    assert [(p.severity, p.rule, p.row, p.value) for p in problems] == [
        ("error", "unit_invalid", 2, "\u00b5mol/L"), ("error", "unit_invalid", 5, "umol/l")]
    assert "must be U/L, not '\u00b5mol/L' (LBSTRESN 31)" in problems[0].message
    units = normalise(domains)["LB"]["LBSTRESU"].tolist()
    assert units[:5] == ["10^9/L", "\u00b5mol/L", "umol/L", "pg/mL", "umol/l"]


def test_missing_domain_and_non_missing_values(tmp_path):
    f = base_frames()
    del f["tu"]
    f["ex"].loc[1, "EXSTDTC"] = ""
    f["lb"].loc[0, "LBTESTCD"] = ""
    problems = check(write_export(tmp_path / "e", f))
    assert find(problems, "domain_missing") == [("tu.*", None, "", "")]
    assert sorted(find(problems, "value_missing")) == [("ex.csv", 2, "EXSTDTC", ""), ("lb.csv", 1, "LBTESTCD", "")]


def test_cross_domain_checks(tmp_path):
    f = base_frames()
    f["tr"].loc[3, "TRLNKID"] = "T09"  # no such lesion in TU: an error, RECIST needs its role from TU
    f["ae"].loc[0, "AEDECOD"] = ""
    problems = check(write_export(tmp_path / "e", f))
    assert [(p.severity, p.rule, p.file, p.row, p.variable, p.value) for p in problems] == [
        ("error", "tr_lnkid_unknown", "tr.csv", 4, "TRLNKID", "T09"),
        ("warning", "ae_decod_missing", "ae.csv", 1, "AEDECOD", "")]


def test_rows_point_into_xpt_and_parquet_too(tmp_path):
    f = base_frames()
    f["ae"].loc[2, "AETOXGR"] = "7"
    for fmt in ("xpt", "parquet"):
        problems = check(write_export(tmp_path / fmt, f, fmt=fmt))
        assert find(problems, "grade_out_of_range") == [(f"ae.{fmt}", 3, "AETOXGR", "7")]


def test_report_files(planted, tmp_path):
    paths = write_validation_report(planted, tmp_path / "validation")
    md = paths["md"].read_text(encoding="utf-8")
    assert md.startswith("# Input validation report")
    assert "FAILED" in md and "header row not counted" in md and "## Summary by rule" in md
    assert "| `grade_out_of_range` | error | 1 |" in md
    table = pd.read_csv(paths["csv"], dtype=str, keep_default_na=False)
    assert list(table.columns) == ["severity", "file", "row", "variable", "value", "rule", "message"]
    assert len(table) == len(planted)
    assert table.iloc[0]["severity"] == "error"  # errors first
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert doc["result"] == "failed" and doc["errors"] + doc["warnings"] == len(planted)
    assert not list((tmp_path / "validation").glob(".*tmp"))
    text = format_problems(planted)
    assert "ae.csv row 1 AETOXGR = '6'  [grade_out_of_range]" in text
    assert text.splitlines()[0].startswith("Input validation: 14 errors, 6 warnings")
