"""The corruption corpus (tests/corruption.py) against ingestion: each corruption of the demo
export, one at a time and several at once, gives exactly its expected outcome; a failed
validation writes the report and nothing else; and the whole workflow stops at ingestion."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.demo import generate_export
from analysis.ingest import ValidationFailed, ingest
from analysis.io import Problem
from analysis.validate import RULES
from corruption import (BY_ID, COMBINED, CORPUS, DATA_CUT, DEMO_EXCLUDED, DOSE_LEVELS, DOSE_TOLERANCE, OUTCOMES,
                        SINGLE, Corruption, combine, corrupted_copy, corruption_table)

KEYS = ("rule", "file", "row", "variable", "value")
REPORTS = ["validation-report.csv", "validation-report.json", "validation-report.md"]
# what a message tells the user to do
ACTION = re.compile(r"\b(add|correct|use|remove|re-export|export|save|convert|write|give|fill|keep|"
                    r"renumber|check|map|move|code)\b", re.IGNORECASE)


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory):
    """The demo export, generated once; every corruption damages a copy of it."""
    base = tmp_path_factory.mktemp("corpus") / "demo"
    generate_export(base)
    return base


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run_ingest(export, out):
    return ingest(export, DATA_CUT, out, dose_levels=DOSE_LEVELS, dose_tolerance=DOSE_TOLERANCE)


def report(out):
    folder = out / "validation"
    assert sorted(p.name for p in folder.iterdir()) == REPORTS
    doc = json.loads((folder / "validation-report.json").read_text(encoding="utf-8"))
    md = (folder / "validation-report.md").read_text(encoding="utf-8")
    table = pd.read_csv(folder / "validation-report.csv", dtype=str, keep_default_na=False)
    assert len(table) == len(doc["problems"])
    return doc, md, table


def find(doc, expect, severity):
    want = tuple(getattr(expect, k) for k in KEYS)
    hits = [p for p in doc["problems"] if tuple(p[k] for k in KEYS) == want]
    assert hits, (f"{severity} {want} not reported; reported: "
                  + "; ".join(str(tuple(p[k] for k in KEYS)) for p in doc["problems"][:20]))
    (hit,) = hits
    assert hit["severity"] == severity
    for words in expect.message:
        assert words in hit["message"], f"'{words}' not in the message: {hit['message']}"
    return hit


def terminal_line(p) -> str:
    """How format_problems shows a problem on the terminal."""
    where = p.file + (f" row {p.row}" if p.row is not None else "")
    what = f" {p.variable}" if p.variable else ""
    val = f" = '{p.value}'" if p.value != "" else ""
    return f"{where}{what}{val}  [{p.rule}]"


@pytest.mark.parametrize("c", CORPUS, ids=[c.id for c in CORPUS])
def test_corruption(c: Corruption, demo_export, tmp_path, capsys):
    export = corrupted_copy(demo_export, tmp_path / "export", c)
    before = snapshot(export)
    out = tmp_path / "out"
    if c.outcome == "error":
        with pytest.raises(ValidationFailed) as failed:
            run_ingest(export, out)
        # the report is written, nothing else
        assert sorted(p.name for p in out.iterdir()) == ["validation"]
        assert not (out / "sdtm").exists()
        doc, md, table = report(out)
        assert doc["result"] == "failed" and "**FAILED**" in md
        errors = [p for p in failed.value.problems if p.severity == "error"]
        assert doc["errors"] == len(errors) > 0
        stderr = capsys.readouterr().err
        for e in c.expect:
            if e.outcome in ("error", "warning"):
                hit = find(doc, e, e.outcome)
                assert f"`{e.rule}`" in md and e.file in md
                assert ((table["rule"] == e.rule) & (table["file"] == e.file)
                        & (table["row"] == ("" if e.row is None else str(e.row)))).any()
                if e.outcome == "error":
                    assert terminal_line(Problem(**hit)) in stderr
        # no other error than the ones this corruption causes
        expected_rules = {e.rule for e in c.expect if e.outcome == "error"} | set(c.also)
        assert {p.rule for p in errors} <= expected_rules
        for p in errors:
            assert ACTION.search(p.message), f"the message does not say what to do: {p.message}"
            assert p.file and RULES[p.rule][0] == "error"
    else:
        meta = run_ingest(export, out)
        doc, md, _ = report(out)
        assert doc["result"] == "passed" and doc["errors"] == 0 and "**PASSED**" in md
        assert meta["validation"]["warnings"] == doc["warnings"] == len(doc["problems"])
        sdtm = out / "sdtm"
        assert (sdtm / "ingest.json").exists()
        for e in c.expect:
            if e.outcome == "warning":
                find(doc, e, "warning")
                for dom, var, value in e.written:
                    written = pd.read_parquet(sdtm / f"{dom.lower()}.parquet")[var]
                    assert value in set(written.dropna()) and e.value not in set(written.dropna())
            elif e.outcome == "excluded":
                expected = {**{d: 0 for d in meta["data_cut_excluded"]}, **DEMO_EXCLUDED, **e.excluded}
                assert meta["data_cut_excluded"] == expected
                for dom, n in e.excluded.items():
                    r = meta["records"][dom]
                    assert r["read"] - r["excluded_by_data_cut"] == r["written"]
                    assert len(pd.read_parquet(sdtm / f"{dom.lower()}.parquet")) == r["written"]
            elif e.outcome == "stripped":
                assert set(e.stripped) <= set(meta["columns_dropped"]["DM"])
                for p in sdtm.glob("*.parquet"):
                    assert not set(e.stripped) & set(pd.read_parquet(p).columns), p.name
            elif e.outcome == "clean":
                assert doc["problems"] == []
        if not any(e.outcome == "warning" for e in c.expect):
            assert doc["problems"] == [], "a tolerated corruption without a warning reported something"
        for p in doc["problems"]:
            assert RULES[p["rule"]][0] == "warning"
    assert snapshot(export) == before, "the export was written to"


def test_the_corpus_covers_the_issue():
    assert len(SINGLE) >= 30
    assert {c.outcome for c in CORPUS} == set(OUTCOMES)
    covered = {e.rule for c in SINGLE for e in c.expect}
    assert {
        "domain_missing", "variable_missing", "not_numeric", "dtc_not_iso8601", "dtc_impossible_date",
        "end_before_start", "dtc_missing_year", "usubjid_duplicate", "seq_duplicate", "usubjid_unknown",
        "grade_out_of_range", "value_negative", "tr_lnkid_unknown", "dose_level_unknown", "ct_invalid",
        "ex_after_death", "unit_invalid", "domain_duplicate_file", "file_empty", "domain_no_records",
        "file_not_utf8", "file_unreadable", "ct_normalised", "dlt_without_car_t", "supp_unmatched",
        "supp_duplicate",
    } <= covered
    for c in CORPUS:
        assert c.expect and c.description
        for e in c.expect:
            if e.rule:
                assert RULES[e.rule][0] == e.outcome, (c.id, e.rule)
    # each combination holds corruptions of different kinds, reported together
    many = {c.id: c for c in COMBINED}
    assert len({e.file for e in many["many_errors"].expect if e.outcome == "error"}) >= 6
    assert {e.outcome for e in many["many_warnings"].expect} == {"warning", "excluded", "stripped"}
    assert "bom_crlf" in many["many_warnings"].members


def test_dose_levels_come_from_the_settings():
    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert DOSE_LEVELS == cfg["dose_levels"] and DOSE_TOLERANCE == cfg["dose_match_tolerance"]
    smk = (root / "workflow" / "rules" / "ingest.smk").read_text(encoding="utf-8")
    assert 'dose_levels=config["dose_levels"]' in smk


def test_without_dose_levels_the_level_is_not_checked(demo_export, tmp_path):
    export = corrupted_copy(demo_export, tmp_path / "export", BY_ID["unknown_dose_level"])
    meta = ingest(export, DATA_CUT, tmp_path / "out")  # no dose levels given: nothing to match against
    assert meta["validation"]["errors"] == 0


def test_the_table(demo_export, tmp_path):
    text = corruption_table(demo_export, tmp_path, [BY_ID["grade_6"], BY_ID["after_data_cut"]])
    lines = text.splitlines()
    assert lines[0] == "| corruption | outcome | what the report says |" and len(lines) == 4
    assert "| error |" in lines[2] and "ae.csv row 12 AETOXGR = '6' [`grade_out_of_range`]" in lines[2]
    assert "| excluded |" in lines[3] and "AE 3" in lines[3]


def test_the_workflow_stops_at_validation(demo_export, tmp_path):
    """The whole workflow on an export with errors: it stops at ingestion, leaves the report,
    derives nothing, and prints the problems on the terminal."""
    from pipeline_runs import CUT, copy_repo, run_pipeline

    assert CUT == DATA_CUT
    bad = combine("workflow", "grade 6 and an unknown dose level", "grade_6", "unknown_dose_level")
    export = corrupted_copy(demo_export, tmp_path / "export", bad)
    work = copy_repo(tmp_path / "repo")
    (work / "bad.yaml").write_text(yaml.safe_dump({"data": {"source": "export", "export_dir": str(export)}}))
    proc = run_pipeline(work, "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    res = work / "results" / CUT
    md = (res / "validation" / "validation-report.md").read_text(encoding="utf-8")
    assert "**FAILED**: 2 errors" in md and "`grade_out_of_range`" in md and "`dose_level_unknown`" in md
    for stage in ("sdtm", "adam", "ard", "tables", "figures", "text", "reports"):
        assert not [p for p in (res / stage).rglob("*") if p.is_file()], f"{stage}/ was written"
    assert not (res / "manifest.json").exists()
    assert "Input validation: 2 errors" in proc.stderr
    assert "ae.csv row 12 AETOXGR = '6'  [grade_out_of_range]" in proc.stderr
    assert "ex.csv row 9 EXDOSE = '25000000'  [dose_level_unknown]" in proc.stderr
    assert "validation-report.md" in proc.stderr


# --- edges of the cross-domain rules, on the small hand-written export -------------------------


def _check(tmp_path, frames, **kw):
    from analysis.io import read_export
    from analysis.validate import validate
    from export_fixtures import write_export

    domains, problems, files = read_export(write_export(tmp_path / "e", frames))
    return problems + validate(domains, files, **kw)


def _found(problems, rule):
    return [(p.file, p.row, p.variable, p.value) for p in problems if p.rule == rule]


def test_death_from_ds_when_dm_has_none_and_partial_death_dates(tmp_path):
    from export_fixtures import base_frames

    f = base_frames()
    f["dm"].loc[1, ["DTHDTC", "DTHFL"]] = ["", ""]
    f["ds"].loc[2, "DSSTDTC"] = "2026-04-25"  # NK01-002 died before the infusion of 2026-11-05 (ex row 8)
    problems = _check(tmp_path / "a", f)
    assert _found(problems, "ex_after_death") == [("ex.csv", 8, "EXSTDTC", "2026-11-05")]
    (p,) = [p for p in problems if p.rule == "ex_after_death"]
    assert "DSSTDTC (DSDECOD DEATH) 2026-04-25 in ds.csv row 3" in p.message
    # a partial death date: the latest possible day counts (2026-11 may be 2026-11-30)
    f = base_frames()
    f["dm"].loc[1, "DTHDTC"] = "2026-11"
    assert _found(_check(tmp_path / "b", f), "ex_after_death") == []
    # an infusion on the day of death is possible
    f["dm"].loc[1, "DTHDTC"] = "2026-11-05"
    assert _found(_check(tmp_path / "c", f), "ex_after_death") == []


def test_dlt_flag_in_the_parent_domain_points_at_the_ae_record(tmp_path):
    from export_fixtures import base_frames

    f = base_frames()
    f["suppae"] = f["suppae"][f["suppae"]["USUBJID"] != "NK01-002"]
    f["ae"]["AEDLT"] = ["", "", "Y", ""]
    f["ex"] = f["ex"][~((f["ex"]["USUBJID"] == "NK01-002") & (f["ex"]["EXTRT"] == "NKG2D CAR-T"))]
    problems = _check(tmp_path, f)
    assert _found(problems, "dlt_without_car_t") == [("ae.csv", 3, "AEDLT", "Y")]


def test_dose_level_tolerance(tmp_path):
    from export_fixtures import base_frames

    f = base_frames()
    f["ex"].loc[2, "EXDOSE"] = "15700000"  # DL1 1.5e7 + 4.7%: DL1
    f["ex"].loc[6, "EXDOSE"] = "32000000"  # DL2 3e7 + 6.7%: no level
    problems = _check(tmp_path, f, dose_levels=DOSE_LEVELS, dose_tolerance=0.05)
    # only the CAR-T record: CAR-NK doses (cells, rows 1, 2, 5, 6) are not matched against the levels
    assert _found(problems, "dose_level_unknown") == [("ex.csv", 7, "EXDOSE", "32000000")]
