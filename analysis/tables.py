"""Tables built from the ARD only (never from a second computation).

A table is a small value object (`Table`) written as a set of files per output ID:
`<ID>.md` (pandoc markdown, included by the Quarto reports), `<ID>.csv` (the
displayed cells) and `<ID>.html` (great_tables, for reading on its own).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.adsl import SETS
from analysis.ard import ARD, NO_CART, OVERALL
from analysis.atomic import write_text

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


@dataclass
class Table:
    id: str
    title: str
    population: str
    columns: list[str]
    rows: list[list[str]]
    footnotes: list[str] = field(default_factory=list)
    label: str = ""

    @property
    def caption(self) -> str:
        return f"{self.id}. {self.title} ({self.population})"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)


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


def to_markdown(t: Table, left: int | set[int] = 1) -> str:
    """Pandoc pipe table with a Quarto caption and cross-reference label. Text columns are
    left-aligned: the first `left` columns (int), or the columns whose indexes are in the
    set (the first always); the others (numbers) right-aligned."""
    lefts = set(range(left)) if isinstance(left, int) else set(left) | {0}
    head = "| " + " | ".join(_md_escape(c) for c in t.columns) + " |"
    align = "|" + "|".join(":---" if j in lefts else "---:" for j in range(len(t.columns))) + "|"
    body = ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in t.rows]
    label = t.label or "tbl-" + t.id.lower().replace("t-", "", 1)
    out = [head, align, *body, "", f": {t.caption} {{#{label}}}", ""]
    if t.footnotes:
        out += ["::: {.table-footnotes}", *[f"{fn}  " for fn in t.footnotes], ":::", ""]
    return "\n".join(out)


def to_html(t: Table) -> str:
    """A standalone HTML rendering with great_tables (no external resources)."""
    from great_tables import GT

    df = t.to_frame()
    safe = {c: f"c{i}" for i, c in enumerate(df.columns)}
    gt = GT(df.rename(columns=safe), id=t.id.lower()).cols_label(**{v: k for k, v in safe.items()})
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
    doc = rtf.RTFDocument(
        df=df,
        rtf_page=rtf.RTFPage(orientation="landscape"),
        rtf_title=rtf.RTFTitle(text=[f"{t.id}. {t.title}", t.population]),
        rtf_column_header=rtf.RTFColumnHeader(text=[_plain(c) for c in t.columns], col_rel_width=widths),
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
    write_text(paths[1], t.to_frame().to_csv(index=False, lineterminator="\n"))
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
