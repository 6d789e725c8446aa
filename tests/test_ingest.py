"""Ingestion end to end on the hand-written export: data cut, identifier stripping, the
written files, and a failed run."""
import hashlib
import json

import pandas as pd
import pytest

from analysis.contract import DOMAINS
from analysis.datacut import apply_data_cut
from analysis.ingest import ValidationFailed, ingest
from analysis.io import read_export
from analysis.validate import normalise
from export_fixtures import DATA_CUT, base_frames, write_export


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("ingest")
    export = write_export(base / "export", fmt={"dm": "xpt", "lb": "parquet"})
    before = snapshot(export)
    meta = ingest(export, DATA_CUT, base / "out")
    return {"export": export, "before": before, "meta": meta, "out": base / "out", "base": base}


def sdtm(run, code):
    return pd.read_parquet(run["out"] / "sdtm" / f"{code.lower()}.parquet")


def test_data_cut_counts(run):
    meta = run["meta"]
    # after 2026-10-31: EX CAR-T 2026-11-05, AE fatigue 2026-11-02, LB CRP 2026-11-10, DS death 2026-11-20
    assert meta["data_cut_excluded"] == {"DM": 0, "EX": 1, "AE": 1, "LB": 1, "TU": 0, "TR": 0, "RS": 0, "DS": 1}
    assert meta["records"]["EX"] == {"read": 8, "excluded_by_data_cut": 1, "written": 7}
    assert meta["deaths_after_cut_blanked"] == 1
    assert len(sdtm(run, "AE")) == 3 and "2026-11-02" not in set(sdtm(run, "AE")["AESTDTC"])
    dm = sdtm(run, "DM").set_index("USUBJID")
    assert dm["DTHDTC"].isna().all() and dm["DTHFL"].isna().all()  # death after the cut is not an event


def test_partial_dates_at_the_cut():
    domains = {"AE": pd.DataFrame({"USUBJID": ["A", "A", "A", "A", "A"],
                                   "AESTDTC": ["2026-10", "2026-11", "2026", "--11-02", None]}).astype("string"),
               "DM": pd.DataFrame({"USUBJID": ["A", "B"], "DTHDTC": ["2026-10", "2026-11-01"],
                                   "DTHFL": ["Y", "Y"]}).astype("string")}
    out, summary = apply_data_cut(domains, "2026-10-15")
    # earliest possible date decides: 2026-10 and 2026 may be on or before the cut; 2026-11 cannot;
    # no year or no date: kept (validation warned)
    assert out["AE"]["AESTDTC"].fillna("").tolist() == ["2026-10", "2026", "--11-02", ""]
    assert out["DM"]["DTHDTC"].fillna("").tolist() == ["2026-10", ""]
    assert out["DM"]["DTHFL"].fillna("").tolist() == ["Y", ""]
    assert summary.to_dict("records") == [
        {"domain": "AE", "records_in": 5, "records_excluded": 1, "values_blanked": 0},
        {"domain": "DM", "records_in": 2, "records_excluded": 0, "values_blanked": 1}]


def test_identifiers_never_reach_the_output(run):
    dm = sdtm(run, "DM")
    assert "BRTHDTC" not in dm.columns and "INITIALS" not in dm.columns
    assert set(dm.columns) <= set(DOMAINS["DM"].allowed)
    assert run["meta"]["columns_dropped"]["DM"] == ["DOMAIN", "BRTHDTC", "INITIALS"]
    for p in (run["out"] / "sdtm").glob("*.parquet"):
        cols = set(pd.read_parquet(p).columns)
        assert not cols & {"BRTHDTC", "INITIALS", "_row"}, p.name


def test_every_contract_domain_is_written(run):
    names = sorted(p.name for p in (run["out"] / "sdtm").iterdir())
    assert names == sorted([f"{c.lower()}.parquet" for c in DOMAINS] + ["ingest.json", "domains.json"])
    present = json.loads((run["out"] / "sdtm" / "domains.json").read_text())
    assert present == {"domains_present": run["meta"]["domains_present"],
                       "domains_absent": run["meta"]["domains_absent"]}
    assert "MI" in present["domains_absent"]
    mi = sdtm(run, "MI")
    assert len(mi) == 0 and list(mi.columns[:3]) == ["STUDYID", "USUBJID", "MITESTCD"]
    assert mi["MISTRESN"].dtype == "float64"
    assert run["meta"]["domains_absent"] == ["MI", "PC", "CM", "SS", "VS", "QS", "EG", "CV"]


def test_written_types_and_folded_supp(run):
    dm = sdtm(run, "DM")
    assert dm["AGE"].dtype == "float64" and dm["AGE"].tolist() == [54.0, 61.0, 47.0]
    assert str(dm["SUBJID"].dtype).startswith("string") and dm["SUBJID"].tolist() == ["001", "002", "003"]
    assert dm["PHASE"].fillna("").tolist() == ["IA", "IA", ""]
    assert "HISTOL" in dm.columns  # a contract column absent from the export is added empty
    ae = sdtm(run, "AE")
    assert ae["AEDLT"].fillna("").tolist() == ["", "N", "N"]
    lb = sdtm(run, "LB")
    assert lb["LBSTRESN"].dtype == "float64" and lb["LBSEQ"].tolist()[:2] == [1.0, 2.0]
    assert run["meta"]["supp_qualifiers_folded"] == {"DM": ["COHORT", "NKSRC", "PHASE"], "AE": ["AEDLT", "AEGRSCL"]}


def test_manifest_and_export_untouched(run):
    meta = run["meta"]
    on_disk = json.loads((run["out"] / "sdtm" / "ingest.json").read_text(encoding="utf-8"))
    assert on_disk == meta
    assert meta["data_cut"] == DATA_CUT
    assert {f["file"]: f["sha256"] for f in meta["files"]} == run["before"]
    assert {f["file"]: f["domain"] for f in meta["files"]}["suppae.csv"] == "SUPPAE"
    assert snapshot(run["export"]) == run["before"]
    assert meta["validation"]["errors"] == 0
    report = json.loads((run["out"] / "validation" / "validation-report.json").read_text(encoding="utf-8"))
    assert report["result"] == "passed"
    assert not [p for p in run["out"].rglob("*") if p.name.endswith(".tmp")]


def test_output_is_deterministic(run):
    again = run["base"] / "again"
    ingest(run["export"], DATA_CUT, again)
    assert snapshot(again / "sdtm") == snapshot(run["out"] / "sdtm")
    assert snapshot(again / "validation") == snapshot(run["out"] / "validation")


def test_warnings_do_not_stop_the_run(tmp_path):
    f = base_frames()
    f["dm"].loc[0, "SEX"] = "m"
    f["lb"].loc[0, "LBTESTCD"] = "FOO"
    meta = ingest(write_export(tmp_path / "e", f), DATA_CUT, tmp_path / "out")
    assert meta["validation"]["warnings"] == 2
    assert pd.read_parquet(tmp_path / "out" / "sdtm" / "dm.parquet")["SEX"].tolist()[0] == "M"
    md = (tmp_path / "out" / "validation" / "validation-report.md").read_text(encoding="utf-8")
    assert "PASSED" in md and "ct_normalised" in md


def test_failed_ingest_writes_the_report_and_no_sdtm(tmp_path, capsys):
    f = base_frames()
    f["ae"].loc[0, "AETOXGR"] = "6"
    f["tr"].loc[0, "TRSTRESN"] = "-42"
    with pytest.raises(ValidationFailed) as err:
        ingest(write_export(tmp_path / "e", f), DATA_CUT, tmp_path / "out")
    assert "2 errors" in str(err.value) and "grade_out_of_range" in str(err.value)
    assert "validation-report.md" in str(err.value)
    assert len(err.value.problems) == 2
    assert sorted(p.name for p in (tmp_path / "out" / "validation").iterdir()) == [
        "validation-report.csv", "validation-report.json", "validation-report.md"]
    assert not (tmp_path / "out" / "sdtm").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["validation"]
    stderr = capsys.readouterr().err
    assert "ae.csv row 1 AETOXGR = '6'" in stderr and "tr.csv row 1 TRSTRESN = '-42'" in stderr


def test_normalise_then_cut_keeps_row_numbers(tmp_path):
    domains, _, _ = read_export(write_export(tmp_path / "e"))
    cut, _ = apply_data_cut(normalise(domains), DATA_CUT)
    assert cut["EX"]["_row"].tolist() == [1, 2, 3, 4, 5, 6, 7]
