"""Spanning column headers (analysis.tables.Table.spanners) in every file the pipeline
writes per table: the markdown (a pandoc grid table, read back here by pandoc), the
great_tables HTML, the rtflite RTF and the CSV's one flattened header row."""
from __future__ import annotations

import io
import json
import re
import subprocess

import pandas as pd
import pytest

from analysis import tables as T

DL = ["DL1 (N=1)\u2020", "DL2 (N=6)", "Overall (N=7)"]

# cells that a grid table would read as markdown blocks (lists, headings, quotes) or
# whose width is not their length (an em space, a word joiner, a wide character)
TRICKY = ["1. not a list", "- not a bullet", "# not a heading", "> not a quote", "a | b",
          "\u2003indented PT", "5.0\u2013\u206053.8", "\u4e2d wide", "**bold SOC**", ""]


def spanner_table() -> T.Table:
    rows = [["**Any TEAE**", "1", "0", "6", "5", "7 (100.0)", "5 (71.4)"],
            ["\u2003Lymphocyte count decreased", "0", "0", "6", "5", "6 (85.7)", "5 (71.4)"]]
    rows += [[c, "0", "", "1", "1", "1 (14.3)", "0 (0.0)"] for c in TRICKY]
    return T.Table(id="T-SPAN", title="Spanner test", population="safety set, N = 7",
                   columns=["System organ class / Preferred term"] + ["Any", "G\u22653"] * 3,
                   rows=rows, footnotes=["A note."],
                   spanners=[(DL[0], 1, 2), (DL[1], 3, 4), (DL[2], 5, 6)])


def _pandoc_json(md: str) -> dict:
    from analysis.render import pandoc_path
    out = subprocess.run([pandoc_path(), "-f", "markdown", "-t", "json"], input=md,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


SEP = "QZXSEPARATOR"


def _plain(cells: list[list]) -> list[str]:
    """Text of each cell's blocks (what pandoc read), through pandoc's plain writer (one
    run for all the cells)."""
    from analysis.render import pandoc_path
    blocks = []
    for b in cells:
        blocks += b + [{"t": "Para", "c": [{"t": "Str", "c": SEP}]}]
    doc = {"pandoc-api-version": [1, 23, 1], "meta": {}, "blocks": blocks}
    out = subprocess.run([pandoc_path(), "-f", "json", "-t", "plain", "--wrap=none"],
                         input=json.dumps(doc), capture_output=True, text=True, check=True).stdout
    return [x.strip("\n") for x in out.split(SEP)[:-1]]


def _cell(c) -> tuple[int, int, list]:
    """(row span, column span, blocks) of a pandoc JSON table cell."""
    _attr, _align, rowspan, colspan, blocks = c
    return rowspan, colspan, blocks


def test_markdown_is_a_grid_table_pandoc_reads_with_the_spans():
    t = spanner_table()
    md = T.to_markdown(t)
    assert md.startswith("+") and "{#tbl-span}" in md and "::: {.table-footnotes}" in md
    doc = _pandoc_json(md)
    tables = [b for b in doc["blocks"] if b["t"] == "Table"]
    assert len(tables) == 1
    _attr, _caption, colspecs, head, bodies, _foot = tables[0]["c"]
    assert tables[0]["c"][0][0] == "tbl-span"
    assert [a["t"] for a, _w in colspecs] == ["AlignLeft"] + ["AlignRight"] * 6
    top, sub = head[1]
    top_cells = [_cell(c) for c in top[1]]
    # the stub spans both header rows; each dose level spans its two columns
    assert [(rs, cs) for rs, cs, _b in top_cells] == [(2, 1), (1, 2), (1, 2), (1, 2)]
    assert _plain([b for _rs, _cs, b in top_cells]) == ["System organ class / Preferred term"] + DL
    assert _plain([_cell(c)[2] for c in sub[1]]) == ["Any", "G\u22653"] * 3
    # every body cell reads back as written (no list, heading or quote; widths right)
    body = bodies[0][3]
    assert len(body) == len(t.rows)
    for row, want in zip(body, t.rows):
        got = _plain([_cell(c)[2] for c in row[1]])
        exp = [w.replace("**", "").replace("\u00a0", " ") for w in want]
        assert [g.replace("\u00a0", " ") for g in got] == exp


def test_markdown_keeps_n_pct_together_and_the_alignment_parameter():
    t = spanner_table()
    md = T.to_markdown(t, {0, 1})
    assert "7\u00a0(100.0)" in md                       # never broken inside "n (%)"
    align = next(line for line in md.splitlines() if line.startswith("+:") or line.startswith("+="))
    segs = align.strip("+").split("+")
    assert segs[0].startswith(":") and segs[1].startswith(":")      # left
    assert all(s.endswith(":") and not s.startswith(":") for s in segs[2:])


def test_table_without_spanners_is_still_a_pipe_table():
    t = T.Table(id="T-FLAT", title="Flat", population="x", columns=["A", "B"], rows=[["a", "1"]])
    md = T.to_markdown(t)
    assert md.splitlines()[:3] == ["| A | B |", "|:---|---:|", "| a | 1 |"]
    assert T.to_markdown(t, 2).splitlines()[1] == "|:---|:---|"


def test_spanners_are_checked():
    with pytest.raises(ValueError, match="spanner"):
        T.Table(id="T-X", title="x", population="x", columns=["a", "b", "c"], rows=[],
                spanners=[("S", 1, 2), ("S2", 2, 2)])           # overlap
    with pytest.raises(ValueError, match="spanner"):
        T.Table(id="T-X", title="x", population="x", columns=["a", "b"], rows=[],
                spanners=[("S", 0, 1)])                          # over the stub column
    with pytest.raises(ValueError, match="spanner"):
        T.Table(id="T-X", title="x", population="x", columns=["a", "b"], rows=[],
                spanners=[("S", 1, 2)])                          # beyond the columns


def test_csv_has_one_header_row_with_spanner_and_column():
    t = spanner_table()
    df = pd.read_csv(io.StringIO(t.to_csv()), dtype=str, keep_default_na=False)
    assert list(df.columns) == ["System organ class / Preferred term",
                                f"{DL[0]} | Any", f"{DL[0]} | G\u22653", f"{DL[1]} | Any",
                                f"{DL[1]} | G\u22653", f"{DL[2]} | Any", f"{DL[2]} | G\u22653"]
    assert df.values.tolist() == t.rows                  # the cells as displayed, plain spaces


def test_html_has_a_spanner_over_its_columns():
    html = T.to_html(spanner_table())
    spans = re.findall(r'<th[^>]*colspan="2"[^>]*>(.*?)</th>', html, re.S)
    labels = [re.sub(r"<[^>]+>", "", s).strip() for s in spans]
    assert labels == ["DL1 (N=1)†", "DL2 (N=6)", "Overall (N=7)"]
    assert html.count(">Any<") == 3 or len(re.findall(r">\s*Any\s*<", html)) == 3


def test_rtf_has_a_first_header_row_whose_cells_span_the_columns():
    rtf = T.to_rtf(spanner_table())
    rows = re.findall(r"\\trowd(.*?)\\row", rtf, re.S)
    cellx = [[int(x) for x in re.findall(r"\\cellx(\d+)", r)] for r in rows]
    top, sub = cellx[0], cellx[1]
    assert len(top) == 4 and len(sub) == 7              # stub + 3 spanners over stub + 6 columns
    assert set(top) <= set(sub) and top[-1] == sub[-1]   # each spanner ends on a column boundary
    assert [sub.index(x) for x in top] == [0, 2, 4, 6]
    for label in ("DL1 (N=1)", "DL2 (N=6)", "Overall (N=7)"):
        assert label in rows[0]


def test_write_table_writes_every_format_with_the_spanners(tmp_path):
    paths = T.write_table(spanner_table(), tmp_path)
    assert [p.suffix for p in paths] == [".md", ".csv", ".html", ".rtf"]
    assert paths[0].read_text().startswith("+")
    assert paths[1].read_text().splitlines()[0].count(" | ") == 6
