"""End to end: the whole DAG on the demo export, in a temporary folder.

Runs once per test session (module fixture) and checks the results-contract layout,
the manifest, and that the reports carry the numbers of the ARD."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline_runs import CUT, SNAKEMAKE


@pytest.fixture(scope="module")
def run(demo_run):
    return demo_run


def test_dry_run_lists_the_dag(run):
    work, _ = run
    proc = subprocess.run([str(SNAKEMAKE), "-n", "--forceall"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for rule in ("demo_export", "ingest", "adsl", "ard", "tables_sets", "render_report", "manifest"):
        assert rule in out


def test_results_contract_layout(run):
    _, res = run
    for rel in ["manifest.json", "validation/validation-report.md", "adam/adsl.parquet",
                "ard/ard.parquet", "ard/ard.csv", "tables/T-SETS.md", "tables/T-DISP.md",
                "reports/interim-report.html", "reports/interim-report.pdf",
                "reports/interim-report.docx"]:
        assert (res / rel).is_file(), rel
        assert (res / rel).stat().st_size > 0, rel


def test_adsl_has_contract_variables(run):
    _, res = run
    adsl = pd.read_parquet(res / "adam/adsl.parquet")
    for v in ["USUBJID", "SAFFL", "CARTFL", "DLTEVLFL", "EFFFL", "PKFL", "TRTSDT", "CARTSDT",
              "DOSELVL", "COHORT", "HISTOL", "NKGLHS", "NKGLGR", "PRIORREG", "BSLD", "CEABL",
              "CA199BL", "GLRBL", "METSITES", "LIVONLY", "DTHDT", "LSTALVDT"]:
        assert v in adsl.columns, v
    assert adsl["USUBJID"].is_unique
    assert set(adsl["SAFFL"]) <= {"Y", "N"}


def test_ard_matches_adsl_counts(run):
    _, res = run
    adsl = pd.read_parquet(res / "adam/adsl.parquet")
    ard = pd.read_parquet(res / "ard/ard.parquet")
    assert list(ard.columns) == ["analysis", "group", "group_level", "variable",
                                 "variable_level", "stat", "value"]
    sets = ard[(ard.analysis == "sets") & (ard.group == "overall") & (ard.stat == "n")]
    n = dict(zip(sets.variable, sets.value.astype(int)))
    assert n["SAFETY"] == (adsl.SAFFL == "Y").sum()
    assert n["CART"] == (adsl.CARTFL == "Y").sum()
    assert n["ENROLLED"] == (adsl.ENRLFL == "Y").sum()


def test_reports_carry_ard_numbers(run):
    _, res = run
    ard = pd.read_parquet(res / "ard/ard.parquet")
    n_saf = ard[(ard.analysis == "sets") & (ard.variable == "SAFETY") & (ard.group == "overall") & (ard.stat == "n")].value.iloc[0]
    html = (res / "reports/interim-report.html").read_text(encoding="utf-8")
    assert "<table" in html and "T-SETS" in html and "T-DISP" in html
    assert f"{n_saf} received at least one infusion" in html
    assert 'src="http' not in html and "href=\"http" not in html.replace('href="http://www.w3.org', "")
    with zipfile.ZipFile(res / "reports/interim-report.docx") as z:
        doc = z.read("word/document.xml").decode("utf-8")
    assert "<w:tbl>" in doc and "T-SETS" in doc
    assert (res / "reports/interim-report.pdf").read_bytes().startswith(b"%PDF")


def test_manifest(run):
    _, res = run
    m = json.loads((res / "manifest.json").read_text())
    assert m["data_cut"] == CUT
    assert {i["file"] for i in m["inputs"]} >= {"dm.csv"} or any(i["file"].startswith("dm.") for i in m["inputs"])
    assert all(len(i["sha256"]) == 64 for i in m["inputs"])
    outs = {o["file"]: o["sha256"] for o in m["outputs"]}
    import hashlib
    assert outs["ard/ard.parquet"] == hashlib.sha256((res / "ard/ard.parquet").read_bytes()).hexdigest()
    assert "reports/interim-report.pdf" in outs
    assert {r["format"] for r in m["renderers"]} == {"html", "pdf", "docx"}
    assert all("pandoc" in r["renderer"] or "quarto" in r["renderer"] for r in m["renderers"])
    assert m["software"]["pandas"]
    assert m["settings"]["data_cut"] == CUT


def test_no_identifier_reaches_outputs(run):
    work, res = run
    dm_files = list((work / "data/demo").glob("dm.*"))
    assert dm_files
    dm = pd.read_csv(dm_files[0], dtype=str) if dm_files[0].suffix == ".csv" else pd.read_sas(dm_files[0])
    # Birth dates of the demo export (initials are too short to scan for without false
    # hits; tests/test_trust.py plants long canaries of every kind).
    canaries = [v for v in dm["BRTHDTC"].dropna().astype(str) if len(v) == 10] if "BRTHDTC" in dm.columns else []
    assert canaries, "the demo DM should carry identifiers for this test"
    for p in res.rglob("*"):
        if p.is_file() and p.suffix in {".md", ".csv", ".html", ".json", ".yml"}:
            text = p.read_text(encoding="utf-8", errors="ignore")
            for c in canaries:
                assert c not in text, f"{c} found in {p}"
        if p.is_file() and p.suffix == ".parquet":
            df = pd.read_parquet(p)
            assert "BRTHDTC" not in df.columns and "SUBJINIT" not in df.columns


def test_rerun_has_nothing_to_do(run):
    work, _ = run
    proc = subprocess.run([str(SNAKEMAKE), "-n"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_pdf_text_carries_key_numbers_of_the_ard(run):
    """The PDF (extracted with pdftotext) states the ARD's key results."""
    import shutil as _sh
    from analysis.ard import ARD

    _, res = run
    assert _sh.which("pdftotext"), "poppler-utils (pdftotext) is needed; .ci/run installs it"
    text = subprocess.run(["pdftotext", "-layout", str(res / "reports/interim-report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    a = ARD.read(res / "ard/ard.parquet")
    n_resp, n = a.get("orr", "CBOR", "n_resp"), a.get("orr", "CBOR", "n")
    pct = f"{100 * float(a.get('orr', 'CBOR', 'estimate')):.1f}%"
    assert f"confirmed ORR {n_resp}/{n} ({pct}" in flat
    assert f"safety {a.get('sets', 'SAFETY', 'n')}," in flat
    assert f"highest level tested {a.get('escalation', 'HIGHEST_TESTED', 'level')}" in flat
    assert "Data cut 2026-10-31" in flat and "Confidential" in flat
    for oid in ("T-SETS", "T-DLT", "T-TEAE-SOCPT", "T-ORR", "T-TTE", "T-SUBGRP", "T-NCA", "T-ELIG"):
        assert oid in flat, oid


def test_both_documents_have_real_tables_in_docx(run):
    _, res = run
    for doc in ("interim-report", "phase-ib-readiness"):
        with zipfile.ZipFile(res / f"reports/{doc}.docx") as z:
            xml = z.read("word/document.xml").decode("utf-8")
        assert xml.count("<w:tbl>") >= 3, doc


def test_spanning_headers_and_docx_contents_in_the_real_report(run):
    """T-TEAE-SOCPT: a dose level (with its N) over its Any / G>=3 columns, in the CSV,
    the PDF (once per level) and the DOCX (gridSpan 2); the DOCX table of contents lists
    every numbered section (level 1-2) with a link to its bookmark."""
    import re

    from lxml import etree

    _, res = run
    cols = pd.read_csv(res / "tables/T-TEAE-SOCPT.csv", dtype=str, nrows=0).columns.tolist()
    spanners = list(dict.fromkeys(c.split(" | ")[0] for c in cols[1:]))
    assert len(spanners) >= 3 and spanners[-1].startswith("Overall (N=")
    assert cols[1:3] == [f"{spanners[0]} | Any", f"{spanners[0]} | G\u22653"]

    text = subprocess.run(["pdftotext", "-layout", str(res / "reports/interim-report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    page = next(p for p in text.split("\f") if "T-TEAE-SOCPT. TEAEs" in p)
    flat = " ".join(page.split())
    start = flat.index("T-TEAE-SOCPT. TEAEs")
    head = flat[start:flat.index("Any TEAE", start)]   # caption and header, first page
    for s in spanners:                                 # each dose level once, with its N
        name, n = s.split(" (", 1)
        assert head.count(name.split()[0]) == 1 and f"({n.rstrip(chr(0x2020))}" in head, s
    assert head.count("G≥3") == len(spanners)

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    with zipfile.ZipFile(res / "reports/interim-report.docx") as z:
        root = etree.fromstring(z.read("word/document.xml"))
    text_of = lambda el: "".join(t.text or "" for t in el.iter(f"{w}t"))  # noqa: E731
    socpt = next(t for t in root.iter(f"{w}tbl") if "Any TEAE" in text_of(t) and "G\u22653" in text_of(t))
    first = socpt.find(f"{w}tr")
    spans = [int(g.get(f"{w}val")) for g in first.iter(f"{w}gridSpan")]
    assert spans.count(2) == len(spanners)
    headings = [p for p in root.iter(f"{w}p") if (p.find(f"{w}pPr/{w}pStyle") is not None and
                re.fullmatch(r"Heading[12]", p.find(f"{w}pPr/{w}pStyle").get(f"{w}val")))]
    marks = {b.get(f"{w}name") for b in root.iter(f"{w}bookmarkStart")}
    links = [h for h in root.iter(f"{w}hyperlink") if h.getparent().find(f"{w}pPr/{w}pStyle") is not None
             and h.getparent().find(f"{w}pPr/{w}pStyle").get(f"{w}val").startswith("TOC")]
    assert len(headings) >= 10 and len(links) == len(headings)
    assert [text_of(h) for h in links] == [text_of(p) for p in headings]
    assert all(h.get(f"{w}anchor") in marks for h in links)
