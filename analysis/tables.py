"""Tables built from the ARD only (never from a second computation).

A table is a small value object (`Table`) written as a set of files per output ID:
`<ID>.md` (pandoc markdown, included by the Quarto reports), `<ID>.csv` (the
displayed cells), `<ID>.html` (great_tables, for reading on its own) and `<ID>.rtf`
(rtflite, the submission convention).

Spanning column headers (`Table.spanners`, e.g. a dose level over its "Any grade" and
"Grade ≥3" columns) are written by every format: a pandoc *grid table* with a two-row
header (column spans) in the markdown, `tab_spanner` in the HTML, a second header row
in the RTF, and "spanner | column" names in the one header row of the CSV. A table
without spanners stays a pipe table.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.adsl import SETS
from analysis.ard import ARD, NO_CART, OVERALL
from analysis.atomic import write_text

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


#: separator of a spanner and its column in the CSV's one header row
CSV_SPAN_SEP = " | "


@dataclass
class Table:
    """A displayed table. `spanners`: spanning column headers above `columns`, each
    (label, first column, last column), 0-based indexes into `columns`, inclusive; one
    level, in column order, not overlapping, never over the first (stub) column."""
    id: str
    title: str
    population: str
    columns: list[str]
    rows: list[list[str]]
    footnotes: list[str] = field(default_factory=list)
    label: str = ""
    spanners: list[tuple[str, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spanners = [(str(lab), int(a), int(b)) for lab, a, b in self.spanners]
        last = 0
        for lab, a, b in self.spanners:
            if not (last < a <= b < len(self.columns)):
                raise ValueError(f"{self.id}: spanner {lab!r} over columns {a}..{b} is out of order, "
                                 f"overlaps another or the stub column, or is beyond the "
                                 f"{len(self.columns)} columns")
            last = b

    @property
    def caption(self) -> str:
        return f"{self.id}. {self.title} ({self.population})"

    def spanner_of(self, j: int) -> str | None:
        """The label of the spanner over column `j`, if any."""
        return next((lab for lab, a, b in self.spanners if a <= j <= b), None)

    def flat_columns(self) -> list[str]:
        """Column names with their spanner ("DL2 (N=6) | Grade ≥3"): one header row."""
        return [c if self.spanner_of(j) is None else f"{self.spanner_of(j)}{CSV_SPAN_SEP}{c}"
                for j, c in enumerate(self.columns)]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)

    def to_csv(self) -> str:
        return pd.DataFrame(self.rows, columns=self.flat_columns()).to_csv(index=False, lineterminator="\n")


def sci(x: float) -> str:
    """1.5e7 -> '1.5×10⁷'."""
    mant, exp = f"{x:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}×10{str(int(exp)).translate(SUPERSCRIPT)}"


def dose_columns(levels: dict[str, float]) -> list[tuple[str, str, str]]:
    """(group, group_level, header) of the dose-level columns, no-CAR-T and overall."""
    cols = [("DOSELVL", lvl, f"{lvl} {sci(v)}/kg") for lvl, v in levels.items()]
    cols.append(("DOSELVL", NO_CART, "No CAR-T"))
    cols.append((OVERALL, OVERALL, "Overall"))
    return cols


def n_pct(n: int, d: int) -> str:
    if d == 0:
        return f"{n}"
    return f"{n} ({100 * n / d:.1f})"


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def _char_width(c: str) -> int:
    """Columns a character takes in pandoc's grid-table layout: 0 for combining marks and
    format characters (the word joiner of ranges), 2 for East Asian wide, else 1."""
    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def _width(s: str) -> int:
    return sum(_char_width(c) for c in s)


# A grid-table cell is parsed as blocks (pipe-table cells are inline only): a cell that
# would start a list, heading, block quote or code fence gets that start escaped.
_LIST_NUMBER = re.compile(r"(\d+|[A-Za-z]|[ivxlcdmIVXLCDM]+)([.)])(?:\s|$)")
_BLOCK_START = re.compile(r"(?:[-+*](?:\s|$)|#|>|\(\w+\)(?:\s|$)|~~~|```)")


_N_PCT = re.compile(r"^(\d+) \((?=[\d.]+\)$)")


def _grid_cell(s: str) -> str:
    s = _md_escape(s).replace("\n", " ").strip(" ")
    m = _LIST_NUMBER.match(s)
    if m:
        return s[:m.end(1)] + "\\" + s[m.end(1):]
    return "\\" + s if _BLOCK_START.match(s) else s


def _grid_table(t: Table, lefts: set[int]) -> list[str]:
    """Pandoc grid table (pandoc >= 3): a two-row header, the spanners over their columns
    in the first row, every other column header spanning both rows; one line per row."""
    ncol = len(t.columns)
    head = [_grid_cell(c) for c in t.columns]
    # these tables have many narrow columns: "17 (100.0)" kept on one line (no-break space)
    body = [[_N_PCT.sub("\\1\u00a0(", _grid_cell(c)) for c in r] for r in t.rows]
    spanned = {j for _lab, a, b in t.spanners for j in range(a, b + 1)}
    w = [max([_width(head[j]), 3] + [_width(r[j]) for r in body]) for j in range(ncol)]
    spans = [(_grid_cell(lab), a, b) for lab, a, b in t.spanners]
    for lab, a, b in spans:                       # a spanner label wider than its columns
        room = sum(w[a:b + 1]) + 3 * (b - a)
        if _width(lab) > room:
            w[b] += _width(lab) - room
    # top header row: (text, first, last) cells in column order
    top: list[tuple[str, int, int]] = []
    j = 0
    while j < ncol:
        sp = next((x for x in spans if x[1] == j), None)
        top.append(sp if sp else (head[j], j, j))
        j = sp[2] + 1 if sp else j + 1

    def cell(text: str, a: int, b: int) -> str:
        room = sum(w[a:b + 1]) + 3 * (b - a)
        return " " + text + " " * (room - _width(text)) + " "

    def rule(ch: str = "-") -> str:
        return "+" + "+".join(ch * (w[j] + 2) for j in range(ncol)) + "+"

    top_rule = "+" + "+".join("-" * (sum(w[a:b + 1]) + 3 * (b - a) + 2) for _x, a, b in top) + "+"
    row1 = "|" + "|".join(cell(x, a, b) for x, a, b in top) + "|"
    mid = ""
    for j in range(ncol):
        if j == 0:
            mid += "+" if j in spanned else "|"
        mid += ("-" if j in spanned else " ") * (w[j] + 2)
        mid += "+" if (j in spanned or (j + 1 < ncol and j + 1 in spanned)) else "|"
    row2 = "|" + "|".join(cell(head[j] if j in spanned else "", j, j) for j in range(ncol)) + "|"
    align = "+" + "+".join(":" + "=" * (w[j] + 1) if j in lefts else "=" * (w[j] + 1) + ":"
                           for j in range(ncol)) + "+"
    out = [top_rule, row1, mid, row2, align]
    for r in body:
        out += ["|" + "|".join(cell(r[j], j, j) for j in range(ncol)) + "|", rule()]
    return out


def to_markdown(t: Table, left: int | set[int] = 1) -> str:
    """Pandoc table with a Quarto caption and cross-reference label: a pipe table, or a
    grid table when the table has spanners (pipe tables have one header row). Text
    columns are left-aligned: the first `left` columns (int), or the columns whose
    indexes are in the set (the first always); the others (numbers) right-aligned."""
    lefts = set(range(left)) if isinstance(left, int) else set(left) | {0}
    if t.spanners:
        table = _grid_table(t, lefts)
    else:
        head = "| " + " | ".join(_md_escape(c) for c in t.columns) + " |"
        align = "|" + "|".join(":---" if j in lefts else "---:" for j in range(len(t.columns))) + "|"
        table = [head, align, *["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in t.rows]]
    label = t.label or "tbl-" + t.id.lower().replace("t-", "", 1)
    out = [*table, "", f": {t.caption} {{#{label}}}", ""]
    if t.footnotes:
        out += ["::: {.table-footnotes}", *[f"{fn}  " for fn in t.footnotes], ":::", ""]
    return "\n".join(out)


def to_html(t: Table) -> str:
    """A standalone HTML rendering with great_tables (no external resources)."""
    from great_tables import GT

    # positional names: a column label may repeat ("Any grade" under each dose level)
    safe = [f"c{i}" for i in range(len(t.columns))]
    df = pd.DataFrame(t.rows, columns=safe)
    gt = GT(df, id=t.id.lower()).cols_label(**dict(zip(safe, t.columns)))
    for k, (lab, a, b) in enumerate(t.spanners):
        gt = gt.tab_spanner(label=lab, columns=[f"c{j}" for j in range(a, b + 1)], id=f"span{k}")
    gt = gt.tab_header(title=f"{t.id}. {t.title}", subtitle=t.population)
    for fn in t.footnotes:
        gt = gt.tab_source_note(fn)
    body = gt.as_raw_html()
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(t.id)}</title></head><body>\n{body}\n</body></html>\n")


def _plain(s: str) -> str:
    """Cell text without markdown emphasis (for RTF)."""
    return str(s).replace("**", "")


def to_rtf(t: Table) -> str:
    """RTF, the submission convention for TLFs (rtflite)."""
    import polars as pl
    import rtflite as rtf

    cols = [f"c{i}" for i in range(len(t.columns))]
    data = {c: [_plain(r[i]) for r in t.rows] for i, c in enumerate(cols)}
    df = pl.DataFrame(data, schema={c: pl.String for c in cols})
    widths = [3] + [1] * (len(cols) - 1)
    header = [rtf.RTFColumnHeader(text=[_plain(c) for c in t.columns], col_rel_width=widths)]
    if t.spanners:
        # a first header row (rtflite's multi-row column header): each spanner one
        # cell as wide as its columns, centred; an empty cell above every other column
        texts, rel = [], []
        j = 0
        while j < len(cols):
            sp = next(((lab, a, b) for lab, a, b in t.spanners if a == j), None)
            a, b = (sp[1], sp[2]) if sp else (j, j)
            texts.append(_plain(sp[0]) if sp else "")
            rel.append(sum(widths[a:b + 1]))
            j = b + 1
        header.insert(0, rtf.RTFColumnHeader(text=texts, col_rel_width=rel,
                                             text_justification=[["c"] * len(texts)]))
    doc = rtf.RTFDocument(
        df=df,
        rtf_page=rtf.RTFPage(orientation="landscape"),
        rtf_title=rtf.RTFTitle(text=[f"{t.id}. {t.title}", t.population]),
        rtf_column_header=header,
        rtf_body=rtf.RTFBody(col_rel_width=widths),
        rtf_footnote=rtf.RTFFootnote(text=[_plain(f) for f in t.footnotes]) if t.footnotes else None,
    )
    return doc.rtf_encode()


TABLE_EXTS = ["md", "csv", "html", "rtf"]


def write_table(t: Table, out_dir: Path | str) -> list[Path]:
    """Write <ID>.md (report), .csv (cells), .html (great_tables), .rtf (submission)."""
    out_dir = Path(out_dir)
    paths = [out_dir / f"{t.id}.{ext}" for ext in TABLE_EXTS]
    write_text(paths[0], to_markdown(t))
    write_text(paths[1], t.to_csv())
    write_text(paths[2], to_html(t))
    write_text(paths[3], to_rtf(t))
    return paths


# --------------------------------------------------------------------------- tables

SET_LABELS = {name: label for _f, name, label, _r in SETS}
SET_DEFS = {
    "ENROLLED": "in DM, not a screen failure",
    "SAFETY": "at least one infusion of either product",
    "CART": "at least one CAR-T infusion; column = CAR-T level actually given",
    "DLTEVAL": "CAR-T subjects with a DLT or who completed the DLT window",
    "EFFEVAL": "measurable disease at baseline and a post-baseline response assessment (or early death/progression)",
    "KINETICS": "at least one quantifiable post-infusion CAR sample",
}


def table_sets(ard: ARD, levels: dict[str, float]) -> Table:
    """T-SETS: subjects per analysis set by dose level, with reasons for exclusion."""
    cols = dose_columns(levels)
    screened = ard.int("sets", "SCREENED", "n")
    rows = []
    for _f, name, label, _r in SETS:
        rows.append([f"**{label}**"] + [str(ard.int("sets", name, "n", g, gl)) for g, gl, _ in cols])
        excl = ard.select(analysis="sets", variable=name, stat="n_excluded")
        for r in excl.itertuples():
            rows.append([f"\u2003not included: {r.variable_level}"] + [""] * (len(cols) - 1) + [str(int(float(r.value)))])
    return Table(
        id="T-SETS", title="Analysis sets with reasons for exclusion",
        population=f"all subjects in DM, N = {screened}",
        columns=["Analysis set"] + [h for _, _, h in cols], rows=rows,
        footnotes=["Counts are subjects. Columns: CAR-T dose level actually given at the first CAR-T "
                   "infusion; No CAR-T = treated with CAR-NK only. Exclusion reasons are counted "
                   "over all subjects in DM (Overall column)."]
        + [f"{SET_LABELS[k]}: {v}." for k, v in SET_DEFS.items()])


def table_disposition(ard: ARD, levels: dict[str, float]) -> Table:
    """T-DISP: screening outcome and status at the data cut, by dose level."""
    cols = dose_columns(levels)
    enrolled = {(g, gl): ard.int("disp", "ENROLLED", "n", g, gl) for g, gl, _ in cols}
    rows = [["Screen failures"] + [""] * (len(cols) - 1) + [str(ard.int("disp", "SCREENING", "n", variable_level="SCREEN FAILURE"))],
            ["**Enrolled**"] + [str(enrolled[(g, gl)]) for g, gl, _ in cols]]
    terms = sorted(set(ard.select(analysis="disp", variable="DSDECOD")["variable_level"]),
                   key=lambda t: (t != "ONGOING", t))
    for term in terms:
        cells = []
        for g, gl, _ in cols:
            sel = ard.select(analysis="disp", variable="DSDECOD", group=g, group_level=gl, variable_level=term)
            n = int(float(sel["value"].iloc[0])) if len(sel) else 0
            cells.append(n_pct(n, enrolled[(g, gl)]))
        label = "Ongoing at the data cut" if term == "ONGOING" else term.capitalize()
        rows.append([f"\u2003{label}"] + cells)
    return Table(
        id="T-DISP", title="Disposition at the data cut",
        population=f"enrolled set, N = {enrolled[(OVERALL, OVERALL)]}",
        columns=["Status"] + [h for _, _, h in cols], rows=rows,
        footnotes=["n (%) of enrolled subjects in the column. Status = the latest disposition "
                   "event recorded in DS on or before the data cut (death outranks other events); "
                   "subjects without one are ongoing."])
