"""analysis.render: the pandoc + typst fallback (what runs without Quarto), on a small
hand-made generated-content folder and the real reports/interim-report.qmd."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis import render
from analysis.render import RenderError, expand_shortcodes, render_document

ROOT = Path(__file__).resolve().parent.parent
DATA_CUT = "2026-10-31"


def _test_report() -> Path:
    """The real report's front matter and templates with a body of the generated
    content made here (the real body includes every analysis section)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="render-test-")) / "reports"
    folder.mkdir()
    shutil.copytree(ROOT / "reports" / "_templates", folder / "_templates")
    real = (ROOT / "reports" / "interim-report.qmd").read_text(encoding="utf-8")
    front = real[: real.index("\n---", 3) + 4]
    body = """

# Summary

{{< include _generated/text/summary.md >}}

# Analysis sets and disposition

{{< include _generated/tables/T-SETS.md >}}

{{< include _generated/tables/T-DISP.md >}}
"""
    (folder / "interim-report.qmd").write_text(front + body, encoding="utf-8")
    return folder / "interim-report.qmd"


QMD = _test_report()

T_SETS = """\
| Analysis set   | Definition                                        |      N (%) |
|:---------------|:--------------------------------------------------|-----------:|
| Enrolled       | Signed informed consent and registered            | 14 (100.0) |
| Safety         | Received at least one CAR-NK infusion             |  12 (85.7) |
| DLT-evaluable  | Completed the DLT period or had a DLT             |  10 (71.4) |

: Analysis sets (all enrolled participants) {#tbl-sets}
"""

# as analysis.tables writes them: unpadded, notes in a .table-footnotes div
T_DISP = """\
| Status | DL1 1.5×10⁷/kg | DL2 3×10⁷/kg | No CAR-T | Overall |
|:---|---:|---:|---:|---:|
| Ongoing | 1 (33.3) | 2 (50.0) | 0 | 3 (42.9) |
| Discontinued: progressive disease | 2 (66.7) | 2 (50.0) | 0 | 4 (57.1) |

: T-DISP. Disposition by dose level (safety set) {#tbl-disp}

::: {.table-footnotes}
Percentages of the participants of each column.  
QZX-FOOTNOTE: DL = dose level.  
:::
"""

SUMMARY = """\
As of the data cut, **14 participants** were enrolled (@tbl-sets); disposition is in
@tbl-disp and the escalation in @fig-esc. Marker sentence QZX-SUMMARY.

![Dose escalation by cohort](_generated/figures/F-ESC.png){#fig-esc width=60%}
"""

METADATA = f"""\
data_cut: "{DATA_CUT}"
trial_id: "NCT07021534"
report_version: "0.10"
report_date: "2026-11-20"
"""


def make_generated(folder: Path) -> Path:
    from PIL import Image

    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    (folder / "text").mkdir()
    (folder / "tables" / "T-SETS.md").write_text(T_SETS, encoding="utf-8")
    (folder / "tables" / "T-DISP.md").write_text(T_DISP, encoding="utf-8")
    (folder / "text" / "summary.md").write_text(SUMMARY, encoding="utf-8")
    (folder / "metadata.yml").write_text(METADATA, encoding="utf-8")
    img = Image.new("RGB", (60, 40), (255, 255, 255))
    for x in range(60):
        img.putpixel((x, 40 - 1 - x * 39 // 59), (31, 78, 121))
    img.save(folder / "figures" / "F-ESC.png", optimize=False)
    return folder


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return make_generated(tmp_path_factory.mktemp("results") / "2026-10-31")


@pytest.fixture(scope="module")
def rendered(generated, tmp_path_factory) -> dict:
    """Each format rendered once with the pandoc engine: fmt -> (result, out, work_dir)."""
    base = tmp_path_factory.mktemp("rendered")
    out = {}
    for fmt in ("html", "pdf", "docx"):
        target = base / "reports" / f"interim-report.{fmt}"
        work = base / "work" / fmt
        result = render_document(QMD, generated, fmt, target, work, engine="pandoc")
        out[fmt] = (result, target, work)
    return out


# ------------------------------------------------------------------------------- HTML
def test_html_is_one_offline_file_with_real_table_and_embedded_figure(rendered):
    result, out, _ = rendered["html"]
    assert result["format"] == "html" and result["file"] == str(out)
    assert result["renderer"].startswith("pandoc ")
    html = out.read_text(encoding="utf-8")

    tables = re.findall(r"<table\b.*?</table>", html, re.S)
    assert len(tables) == 2
    cells = [" ".join(c.split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", tables[0], re.S)]
    for value in ("Enrolled", "Signed informed consent and registered", "14 (100.0)",
                  "DLT-evaluable", "10 (71.4)"):
        assert value in cells
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert "Table 1: Analysis sets (all enrolled participants)" in text

    imgs = re.findall(r"<img\b[^>]*>", html)
    assert len(imgs) == 1 and 'src="data:image/png;base64,' in imgs[0]
    # nothing fetched from outside: no external src/href/url(), no script files
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"""url\(\s*["']?(https?:)?//""", html, re.I)
    assert not re.search(r"@import", html)
    assert not re.search(r"<script[^>]+src=", html, re.I)
    assert not re.search(r"<link[^>]+href=", html, re.I)

    assert "Interim analysis report — Phase IA" in text
    assert f"Data cut {DATA_CUT}" in text            # {{< meta data_cut >}} in the subtitle
    assert "QZX-SUMMARY" in text                      # the included paragraph
    assert re.search(r'<a href="#tbl-sets"[^>]*>Table 1</a>', html)
    assert re.search(r'<a href="#fig-esc"[^>]*>Figure 1</a>', html)
    assert 'id="TOC"' in html                          # toc
    assert re.search(r'<div class="table-footnotes">\s*<p>Percentages', html)
    assert "header-section-number" in html             # number-sections


# -------------------------------------------------------------------------------- PDF
def _pdf_text(pdf: Path) -> str | None:
    exe = shutil.which("pdftotext")
    if not exe:
        return None
    return subprocess.run([exe, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_pdf_contains_table_values_data_cut_and_page_numbers(rendered):
    result, out, work = rendered["pdf"]
    assert re.fullmatch(r"pandoc \S+ \+ typst \S+", result["renderer"])
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]

    typ = (work / "interim-report.typ").read_text(encoding="utf-8")
    assert "[14 (100.0)]" in typ and "[Signed informed consent and registered]" in typ
    assert f"data-cut: [{DATA_CUT}]" in typ
    assert "<tbl-sets>" in typ and "@tbl-sets" in typ  # typst numbers and resolves it
    assert "#set text(size: 8.5pt)" in typ and "QZX-FOOTNOTE" in typ

    text = _pdf_text(out)
    if text is None:
        pytest.skip("pdftotext not installed: checked the typst source only")
    flat = " ".join(text.split())
    for value in ("14 (100.0)", "12 (85.7)", "Signed informed consent and registered",
                  "QZX-FOOTNOTE", "Table 2: T-DISP. Disposition",
                  "Table 1: Analysis sets", "QZX-SUMMARY", "Interim analysis report"):
        assert value in flat
    assert f"Data cut {DATA_CUT}" in flat and "Confidential" in flat
    pages = text.count("\f")
    assert f"Page 2 of {pages}" in flat and f"Page {pages} of {pages}" in flat
    # references resolved by typst (not "??" nor the raw label)
    assert "(Table 1)" in flat and "@tbl" not in flat


# ------------------------------------------------------------------------------- DOCX
def test_docx_has_real_tables_and_running_header(rendered):
    import docx

    result, out, _ = rendered["docx"]
    assert result["renderer"].startswith("pandoc ")
    d = docx.Document(str(out))
    assert len(d.tables) == 2
    rows = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert rows[0] == ["Analysis set", "Definition", "N (%)"]
    assert rows[1] == ["Enrolled", "Signed informed consent and registered", "14 (100.0)"]
    assert rows[3] == ["DLT-evaluable", "Completed the DLT period or had a DLT", "10 (71.4)"]
    texts = [p.text for p in d.paragraphs]
    assert "Table 1: Analysis sets (all enrolled participants)" in texts
    assert any("QZX-SUMMARY" in t for t in texts)
    notes = [p for p in d.paragraphs if "QZX-FOOTNOTE" in p.text]
    assert notes and notes[0].style.name == "Table Footnote"

    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        header = "".join(z.read(n).decode() for n in names if re.fullmatch(r"word/header\d*\.xml", n))
        footer = "".join(z.read(n).decode() for n in names if re.fullmatch(r"word/footer\d*\.xml", n))
        stamps = {i.date_time for i in z.infolist()}
    assert DATA_CUT in header and "Confidential" in header and "{{" not in header
    assert "DOCPROPERTY data_cut" in header
    assert "PAGE" in footer and "NUMPAGES" in footer
    assert stamps == {(1980, 1, 1, 0, 0, 0)}  # SOURCE_DATE_EPOCH default


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_xml(path: Path, name: str = "word/document.xml"):
    from lxml import etree
    with zipfile.ZipFile(path) as z:
        return etree.fromstring(z.read(name))


def _text(el) -> str:
    return "".join(t.text or "" for t in el.iter(f"{W}t"))


def test_docx_table_of_contents_is_filled_in(rendered):
    """pandoc's TOC field is empty until Word updates fields: finish_docx fills it with one
    entry per numbered section (levels 1-2, toc-depth), linked to the heading's bookmark."""
    _, out, _ = rendered["docx"]
    root = _docx_xml(out)
    headings = []
    for p in root.iter(f"{W}p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        if style is not None and style.get(f"{W}val") in ("Heading1", "Heading2"):
            mark = p.getprevious()
            assert mark is not None and mark.tag == f"{W}bookmarkStart"
            headings.append((_text(p), mark.get(f"{W}name")))
    assert [h for h, _ in headings] == ["1Summary", "2Analysis sets and disposition"]
    sdt = next(s for s in root.iter(f"{W}sdt")
               if s.find(f".//{W}docPartGallery").get(f"{W}val") == "Table of Contents")
    entries = [p for p in sdt.iter(f"{W}p")
               if re.fullmatch(r"TOC\d", p.find(f"{W}pPr/{W}pStyle").get(f"{W}val"))]
    assert len(entries) == len(headings)
    for p, (text, mark) in zip(entries, headings):
        link = p.find(f"{W}hyperlink")
        assert link.get(f"{W}anchor") == mark and _text(link) == text
        assert link.find(f".//{W}tab") is not None       # number <tab> title, as the heading
    # still a TOC field (Word refreshes it, adding page numbers): begin ... separate ... end
    chars = [c.get(f"{W}fldCharType") for c in sdt.iter(f"{W}fldChar")]
    assert chars == ["begin", "separate", "end"]
    assert any((i.text or "").startswith("TOC \\o \"1-2\"") for i in sdt.iter(f"{W}instrText"))
    assert entries[0].find(f".//{W}fldChar").get(f"{W}fldCharType") == "begin"
    assert entries[-1].findall(f".//{W}fldChar")[-1].get(f"{W}fldCharType") == "end"
    styles = _docx_xml(out, "word/styles.xml")
    assert {"TOC1", "TOC2"} <= {s.get(f"{W}styleId") for s in styles.iter(f"{W}style")}


def test_spanning_column_headers_in_every_format(generated, tmp_path):
    """A table with spanners (analysis.tables writes a pandoc grid table): the spanner
    over its two columns in the HTML, the typst source and PDF, and the DOCX."""
    from analysis import tables as T

    span = tmp_path / "span"
    shutil.copytree(generated, span)
    labels = ["QZXA DL1 (N=3)", "QZXB DL2 (N=4)", "QZXC Overall (N=7)"]
    t = T.Table(id="T-DISP", title="Disposition by dose level", population="safety set, N = 7",
                columns=["Status", "Any", "G\u22653", "Any", "G\u22653", "Any", "G\u22653"],
                rows=[["Ongoing", "1", "0", "2", "1", "3 (42.9)", "1 (14.3)"],
                      ["\u2003Discontinued", "2", "1", "2", "0", "4 (57.1)", "1 (14.3)"]],
                spanners=[(lab, 1 + 2 * i, 2 + 2 * i) for i, lab in enumerate(labels)],
                footnotes=["QZX-FOOTNOTE: spanners."])
    (span / "tables" / "T-DISP.md").write_text(T.to_markdown(t), encoding="utf-8")
    out = {}
    for fmt in ("html", "pdf", "docx"):
        out[fmt] = tmp_path / f"o.{fmt}"
        render_document(QMD, span, fmt, out[fmt], tmp_path / f"w-{fmt}", engine="pandoc")

    html = out["html"].read_text(encoding="utf-8")
    table = re.search(r'<table id="tbl-disp".*?</table>', html, re.S).group(0)
    head_rows = re.findall(r"<tr[^>]*>(.*?)</tr>", re.search(r"<thead>(.*?)</thead>", table, re.S).group(1), re.S)
    assert len(head_rows) == 2
    top = re.findall(r"<th([^>]*)>(.*?)</th>", head_rows[0], re.S)
    assert 'rowspan="2"' in top[0][0] and "Status" in top[0][1]
    for (attrs, text), lab in zip(top[1:], labels):
        assert 'colspan="2"' in attrs and "text-align: center" in attrs and lab in " ".join(text.split())
    assert len(re.findall(r"<th\b", head_rows[1])) == 6

    typ = (tmp_path / "w-pdf" / "interim-report.typ").read_text(encoding="utf-8")
    assert typ.count("table.cell(align: center, colspan: 2)") == 3
    assert "table.cell(rowspan: 2)" in typ
    for lab in labels:
        assert typ.count(lab.split()[0]) == 1
    text = _pdf_text(out["pdf"])
    if text is not None:
        flat = " ".join(text.split())
        for lab in labels:
            assert flat.count(lab.split()[0]) == 1, lab      # once per dose level
        assert "3 (42.9)" in flat and "QZX-FOOTNOTE" in flat

    root = _docx_xml(out["docx"])
    tbl = next(tb for tb in root.iter(f"{W}tbl") if "QZXA" in _text(tb))
    rows = tbl.findall(f"{W}tr")
    head = [r for r in rows if r.find(f"{W}trPr/{W}tblHeader") is not None]
    assert len(head) == 2
    cells = head[0].findall(f"{W}tc")
    spans = [c.find(f"{W}tcPr/{W}gridSpan") for c in cells]
    assert [s.get(f"{W}val") if s is not None else "1" for s in spans] == ["1", "2", "2", "2"]
    assert [_text(c) for c in cells[1:]] == labels
    assert cells[0].find(f"{W}tcPr/{W}vMerge").get(f"{W}val") == "restart"
    assert cells[0].find(f"{W}tcPr/{W}vAlign").get(f"{W}val") == "bottom"
    for c in cells[1:]:                                  # a rule under each spanner
        assert c.find(f"{W}tcPr/{W}tcBorders/{W}bottom").get(f"{W}val") == "single"
    for c in head[1].findall(f"{W}tc"):                  # and under the header
        assert c.find(f"{W}tcPr/{W}tcBorders/{W}bottom").get(f"{W}val") == "single"
    for r in head[1].iter(f"{W}r"):                      # the second header row bold too
        assert r.find(f"{W}rPr/{W}b") is not None
    assert [_text(c).replace("\u00a0", " ") for c in rows[2].findall(f"{W}tc")] == t.rows[0]
    import docx
    docx.Document(str(out["docx"]))                      # still a document python-docx reads


# --------------------------------------------------------------------------- behaviour
def test_rendering_twice_gives_identical_bytes(generated, rendered, tmp_path):
    for fmt, (_, first, _) in rendered.items():
        again = tmp_path / f"again.{fmt}"
        render_document(QMD, generated, fmt, again, tmp_path / f"w-{fmt}", engine="pandoc")
        assert again.read_bytes() == first.read_bytes(), fmt


def test_source_date_epoch_changes_the_pdf_date_only_when_asked(generated, rendered, tmp_path):
    out = tmp_path / "r.pdf"
    render_document(QMD, generated, "pdf", out, tmp_path / "w", engine="pandoc",
                    source_date_epoch=1767225600)  # 2026-01-01
    assert out.read_bytes() != rendered["pdf"][1].read_bytes()
    assert b"D:20260101" in out.read_bytes()


def test_parallel_renders_in_separate_work_dirs(generated, rendered, tmp_path):
    jobs = [("pdf", "a"), ("pdf", "b"), ("html", "c"), ("docx", "d")]

    def one(job):
        fmt, name = job
        out = tmp_path / name / f"interim-report.{fmt}"
        return fmt, render_document(QMD, generated, fmt, out, tmp_path / f"work-{name}",
                                    engine="pandoc")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, jobs))
    for fmt, res in results:
        assert Path(res["file"]).read_bytes() == rendered[fmt][1].read_bytes()


def test_missing_include_names_the_file(generated, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(generated, partial)
    (partial / "tables" / "T-DISP.md").unlink()
    out = tmp_path / "out.html"
    with pytest.raises(RenderError) as err:
        render_document(QMD, partial, "html", out, tmp_path / "w", engine="pandoc")
    msg = str(err.value)
    assert "include file not found" in msg and "_generated/tables/T-DISP.md" in msg
    assert "interim-report.qmd:" in msg  # where it was included from
    assert not out.exists()


def test_missing_figure_is_an_error(generated, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(generated, partial)
    (partial / "figures" / "F-ESC.png").unlink()
    for fmt in ("html", "docx", "pdf"):
        with pytest.raises(RenderError, match="F-ESC.png"):
            render_document(QMD, partial, fmt, tmp_path / f"o.{fmt}", tmp_path / f"w{fmt}",
                            engine="pandoc")


def test_typst_error_is_reported_with_its_message(generated, tmp_path):
    qmd = tmp_path / "src" / "bad.qmd"
    qmd.parent.mkdir()
    shutil.copytree(QMD.parent / "_templates", qmd.parent / "_templates")
    qmd.write_text("---\ntitle: Bad\n---\n\n```{=typst}\n#no-such-function()\n```\n")
    with pytest.raises(RenderError, match="(?s)typst failed.*no-such-function"):
        render_document(qmd, generated, "pdf", tmp_path / "bad.pdf", tmp_path / "w",
                        engine="pandoc")


def test_work_dir_that_is_not_ours_is_not_cleared(generated, tmp_path):
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(RenderError, match="refusing"):
        render_document(QMD, generated, "html", tmp_path / "o.html", foreign, engine="pandoc")
    assert (foreign / "keep.txt").exists()


def test_engine_quarto_without_quarto_is_a_clear_error(generated, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="quarto"):
        render_document(QMD, generated, "html", tmp_path / "o.html", tmp_path / "w",
                        engine="quarto")


def test_auto_uses_quarto_when_on_path(generated, tmp_path, monkeypatch):
    """The Quarto path, with a stand-in `quarto` that records its arguments."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "quarto"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo 1.7.31; exit 0; fi\n'
        'echo "$@" > args.txt\n'
        'echo "$SOURCE_DATE_EPOCH" > epoch.txt\n'
        'while [ $# -gt 0 ]; do if [ "$1" = "--output" ]; then out="$2"; fi; shift; done\n'
        'printf "made by quarto" > "$out"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    work = tmp_path / "w"
    res = render_document(QMD, generated, "pdf", tmp_path / "o.pdf", work)
    assert res == {"renderer": "quarto 1.7.31", "format": "pdf", "file": str(tmp_path / "o.pdf")}
    assert (work / "args.txt").read_text().split() == [
        "render", "interim-report.qmd", "--to", "typst", "--output", "interim-report.pdf"]
    assert (work / "epoch.txt").read_text().strip() == str(render.DEFAULT_SOURCE_DATE_EPOCH)
    assert (tmp_path / "o.pdf").read_bytes() == b"made by quarto"
    assert (work / "_generated" / "metadata.yml").is_file()
    assert (work / "_templates" / "typst-template.typ").is_file()


def test_cli_renders_and_prints_the_result(generated, tmp_path):
    out = tmp_path / "cli.html"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.render", str(QMD), str(generated), "html", str(out),
         str(tmp_path / "w"), "--engine", "pandoc"],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["file"] == str(out)
    bad = subprocess.run(
        [sys.executable, "-m", "analysis.render", str(QMD), str(tmp_path / "nope"), "html",
         str(out), str(tmp_path / "w2"), "--engine", "pandoc"],
        cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1 and "generated content folder not found" in bad.stderr


# ------------------------------------------------------------------------ shortcodes
def test_shortcodes_include_relative_to_including_file_meta_and_escape(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.md").write_text("one {{< include b/two.md >}}\n")
    (tmp_path / "a" / "b" / "two.md").write_text("two {{< meta trial.id >}}\n")
    doc = tmp_path / "doc.qmd"
    text = ("{{< include a/one.md >}}|{{< meta version >}}|{{{< meta version >}}}|"
            "{{< pagebreak >}}")
    meta = {"trial": {"id": "NCT07021534"}, "version": "0.10"}
    out = expand_shortcodes(text, doc, meta, "pdf")
    first, version, literal, pagebreak = out.split("|")
    assert first == "one two NCT07021534"
    assert version == "0.10" and literal == "{{< meta version >}}"
    assert "#pagebreak" in pagebreak and "{=typst}" in pagebreak


def test_shortcode_errors(tmp_path):
    doc = tmp_path / "doc.qmd"
    with pytest.raises(RenderError, match="unknown metadata key 'nope'.*doc.qmd:2"):
        expand_shortcodes("x\n{{< meta nope >}}", doc, {}, "html")
    (tmp_path / "loop.md").write_text("{{< include loop.md >}}")
    with pytest.raises(RenderError, match="circular include"):
        expand_shortcodes("{{< include loop.md >}}", doc, {}, "html")
    with pytest.raises(RenderError, match="'video'.*not supported"):
        expand_shortcodes("{{< video x.mp4 >}}", doc, {}, "html")


def test_metadata_values_are_kept_as_written(tmp_path):
    front, body = render.split_front_matter(
        "---\nmetadata-files: [m.yml]\ntitle: T\n---\nbody\n")
    (tmp_path / "m.yml").write_text('report_version: 1.10\ndata_cut: 2026-10-31\ntitle: M\n')
    meta = render.load_metadata(front, tmp_path)
    assert meta["report_version"] == "1.10" and meta["data_cut"] == "2026-10-31"
    assert meta["title"] == "T" and body == "body\n"  # the document's own value wins


def test_table_column_widths_follow_the_content(generated, tmp_path):
    """Narrow tables keep automatic widths; a wide listing spans the line with room for
    its longest words (not the widths implied by the separator dashes)."""
    import docx

    wide = tmp_path / "wide"
    shutil.copytree(generated, wide)
    rows = ["| Participant | Dose level | Status | Days on study |",
            "|:-|:-|:-|-:|"]  # dashes that would give every column the same width
    for i in range(6):
        rows.append(f"| NK-{i:03d} | DL{i % 3 + 1} | Discontinued: adverse event (grade 3 "
                    f"cytokine release syndrome) after the second infusion | {30 + i} |")
    (wide / "tables" / "T-DISP.md").write_text(
        "\n".join(rows) + "\n\n: Listing {#tbl-disp}\n", encoding="utf-8")
    work = tmp_path / "w"
    render_document(QMD, wide, "pdf", tmp_path / "o.pdf", work, engine="pandoc")
    typ = (work / "interim-report.typ").read_text(encoding="utf-8")
    specs = re.findall(r"^\s*columns: (.+),$", typ, re.M)
    assert "3" in specs                       # T-SETS: automatic
    pct = [float(x) for x in re.findall(r"([\d.]+)%", next(s for s in specs if "%" in s))]
    assert len(pct) == 4 and abs(sum(pct) - 100) < 0.5
    assert pct[2] > 45 and min(pct) > 5       # the long text column gets the room

    render_document(QMD, wide, "docx", tmp_path / "o.docx", tmp_path / "w2", engine="pandoc")
    t = docx.Document(str(tmp_path / "o.docx")).tables[1]
    grid = [int(c.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}w"))
            for c in t._tbl.tblGrid.iterchildren()]
    assert grid[2] == max(grid) and grid[2] > 2 * grid[0]
