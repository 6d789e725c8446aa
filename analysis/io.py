"""Reading one export folder: CSV, SAS transport (XPT) and Parquet domain files, with their
supplemental qualifiers (``supp--`` files) folded into the parent domain.

Every domain comes back as a frame of pandas ``string`` columns (variable names upper-cased;
empty cells <NA>; numbers from XPT/Parquet as text, whole numbers without ``.0``; dates from
Parquet as ISO 8601 text), so that the three formats give the same frame and the validator
sees what the file says. The hidden column ``ROW_COL`` holds each record's 1-based row number
in its file (header not counted), so that a problem found later points at the right row.
Problems of the files themselves (not UTF-8, unreadable, empty, a domain twice, SUPP records
that match nothing) are returned, never raised. The export folder is only read.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io as _io
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.contract import DOMAINS, SUPP_COLUMNS
from analysis.dates import per_distinct

__all__ = ["Problem", "ROW_COL", "FORMATS", "read_export", "read_domain_file"]

#: Hidden column: the record's 1-based row number in its file (header not counted).
ROW_COL = "_row"
FORMATS = ("csv", "xpt", "parquet")
_NAME_RE = re.compile(r"^(?P<supp>supp)?(?P<dom>[a-z]{2})\.(?P<ext>csv|xpt|parquet)$", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One validation problem (docs/architecture.md): ``row`` is the 1-based record number in
    ``file`` (header not counted), None for file-level problems."""

    severity: str  # "error" | "warning"
    file: str
    row: int | None
    variable: str
    value: str
    rule: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _problem(severity, file, rule, message, row=None, variable="", value="") -> Problem:
    row = None if row is None or pd.isna(row) else int(row)
    value = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return Problem(severity, file, row, variable or "", value, rule, message)


# --- values to text ------------------------------------------------------------------------


def _fmt(v) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bytes):
        v = v.decode("utf-8", errors="replace")
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "Y" if v else "N"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isfinite(f) and f.is_integer() and abs(f) < 1e16:
            return str(int(f))
        return repr(f)
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        ts = pd.Timestamp(v)
        if ts.hour == ts.minute == ts.second == ts.microsecond == 0:
            return ts.strftime("%Y-%m-%d")
        return ts.strftime("%Y-%m-%dT%H:%M" if ts.second == 0 else "%Y-%m-%dT%H:%M:%S")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def _float_text(values: np.ndarray) -> np.ndarray:
    """``_fmt`` of each float, vectorised: whole numbers below 1e16 without ``.0``, others as
    ``repr`` gives them (numpy's shortest round-trip text of a float64 is Python's repr),
    NaN -> None."""
    out = np.full(len(values), None, dtype=object)
    known = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        whole = known & np.isfinite(values) & (values == np.trunc(values)) & (np.abs(values) < 1e16)
    out[whole] = values[whole].astype(np.int64).astype(str)
    out[known & ~whole] = values[known & ~whole].astype(str)
    return out


def _to_text(s: pd.Series) -> pd.Series:
    """Any column -> pandas ``string`` with empty strings as <NA> (each value as ``_fmt``
    writes it; text, float, integer and boolean columns without a call per value)."""
    kind = s.dtype.kind if isinstance(s.dtype, np.dtype) else ""  # numpy dtypes only, not Int64 & co.
    if isinstance(s.dtype, pd.StringDtype):
        out = s.astype("string")
    elif kind == "O" and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        out = s.astype("string")  # text, with None / NaN for empty cells (as CSV and XPT give it)
    elif kind == "f":
        out = pd.Series(_float_text(s.to_numpy(dtype="float64")), index=s.index, dtype="string")
    elif kind in ("i", "u"):
        out = pd.Series(s.to_numpy().astype(str), index=s.index, dtype="string")
    elif kind == "b":
        out = pd.Series(np.where(s.to_numpy(), "Y", "N"), index=s.index, dtype="string")
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = pd.Series([_fmt(v) for v in s], index=s.index, dtype="string")
    else:
        out = pd.Series([_fmt(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype="string")
    out[(out == "").fillna(False).to_numpy(dtype=bool)] = pd.NA  # `out` is a new array: no second copy
    return out


def _as_text_frame(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: _to_text(df[c]) for c in df.columns}, index=pd.RangeIndex(len(df)), copy=False)


def _column_names(names, file: str) -> tuple[list[str], list[Problem]]:
    clean = [str(c).strip().upper() for c in names]
    seen: set[str] = set()
    problems = []
    for c in clean:
        if c in seen:
            problems.append(_problem("error", file, "column_duplicate",
                                     f"column {c} appears more than once in the header; keep one", variable=c))
        seen.add(c)
    return clean, problems


# --- one file --------------------------------------------------------------------------------


def _read_csv(data: bytes, file: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, [_not_utf8(data, err.start + (3 if bom else 0), file)]
    if not text or text.isspace():
        return None, [_problem("error", file, "file_empty",
                               "the file holds only blanks (no header row); re-export the domain with its "
                               "header row (a domain without records still needs the header)")]
    if not next(_lines(text)).strip():
        return None, [_problem("error", file, "file_unreadable",
                               "not a readable CSV file: its first line is blank, and the header row (the variable "
                               "names) must be the first line; remove the blank line(s) above the header")]
    try:
        header = next(csv.reader(_lines(text)), [])
    except csv.Error as err:  # a line break inside an unquoted header field, a quote never closed
        return None, [_header_unreadable(text, err, file)]
    del text
    names, problems = _column_names(header, file)
    if problems:
        return None, problems
    try:  # from the bytes: a StringIO of the text would hold 4 bytes per character
        df = pd.read_csv(_io.BytesIO(body), encoding="utf-8", dtype=str, keep_default_na=False, na_values=[""],
                         skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as err:
        return None, _long_records(body, header, file) or [_problem(
            "error", file, "file_unreadable",
            f"not a readable CSV file: {str(err).strip()}; check the quoting and that every record has as many "
            f"fields as the header")]
    if not isinstance(df.index, pd.RangeIndex):
        # the first record has more fields than the header: pandas took the surplus as row labels
        return None, _long_records(body, header, file) or [_problem(
            "error", file, "file_unreadable",
            "not a readable CSV file: the first record has more fields than the header; check the quoting and "
            "that every record has as many fields as the header")]
    if len(df.columns) != len(names):  # the csv module and pandas read the header differently
        return None, [_problem("error", file, "file_unreadable",
                               f"not a readable CSV file: its header row reads as {len(names)} or as "
                               f"{len(df.columns)} columns; check the quoting and the line ends of the header row "
                               f"and export the file again")]
    df.columns = names
    return _as_text_frame(df), []


def _header_unreadable(text: str, err: csv.Error, file: str) -> Problem:
    end = text.find("\n")
    if "\r" in text[:len(text) if end < 0 else end].rstrip("\r"):
        why = ("its lines end with a bare carriage return (CR, as old Mac programs write them); save it with "
               "CRLF or LF line ends (Excel: 'CSV UTF-8 (Comma delimited)') and export again")
    else:
        why = (f"{err}; check the quoting of the header row (a double quote opened and never closed) and "
               f"export the file again")
    return _problem("error", file, "file_unreadable", f"not a readable CSV file: the header row cannot be read: {why}")


def _long_records(body: bytes, header: list[str], file: str) -> list[Problem]:
    """One problem per record with more fields than the header (row: the record's number, as
    pandas counts them: blank lines are no record). Read again with the csv module, only when
    pandas failed; [] if that finds none (or cannot follow the file either)."""
    n = len(header)
    problems = []
    row = 0
    try:
        records = csv.reader(_lines(body.decode("utf-8")))
        next(records, None)  # the header
        for fields in records:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            row += 1
            if len(fields) > n:
                surplus = ",".join(fields[n:])
                held = (f"'{surplus}'" if surplus.replace(",", "").strip()
                        else "only empty fields" if len(fields) - n > 1 else "an empty field")
                problems.append(_problem(
                    "error", file, "file_unreadable",
                    f"record {row} has {len(fields)} fields but the header has {n} columns; after the last column "
                    f"({header[-1].strip().upper()}) it holds {held}: a value with a comma that is not in double "
                    f"quotes, or a stray comma, adds a field. Put such values in double quotes or remove the "
                    f"stray comma, so that every record has as many fields as the header; the file was not read",
                    row=row, value=surplus))
    except csv.Error:
        return []
    return problems


def _lines(text: str):
    """The lines of `text` one by one, each with its "\\n" (as iterating a StringIO of it gives
    them, without copying the whole text)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _not_utf8(data: bytes, offset: int, file: str) -> Problem:
    """The file_not_utf8 problem of the first invalid byte: its record (row, header not
    counted) and column when the CSV can be followed that far, and how the bytes read in the
    usual legacy encoding (Windows-1252 / Latin-1), which is what Excel and SAS on Windows write."""
    bad = data[offset]
    line = data[:offset].count(b"\n") + 1
    head = data[:offset].decode("utf-8", errors="replace").lstrip("\ufeff")
    row = variable = None
    try:
        records = list(csv.reader(_io.StringIO(head)))
    except csv.Error:
        records = []
    if records:
        header = records[0]
        if head.endswith(("\n", "\r")):  # the bad byte starts a new line
            n_rec, field = len(records), 0
        else:
            n_rec, field = len(records) - 1, max(len(records[-1]) - 1, 0)
        if n_rec >= 1:
            row = n_rec
            variable = header[field].strip().upper() if field < len(header) else None
    # the field holding the byte (between separators; quotes are not followed here)
    start = max(data.rfind(b",", 0, offset), data.rfind(b"\n", 0, offset)) + 1
    ends = [k for k in (data.find(b",", offset), data.find(b"\n", offset)) if k >= 0]
    snippet = data[start:min(ends) if ends else len(data)][:60]
    legacy = snippet.decode("cp1252", errors="replace").strip().strip('"')
    where = (f"in record {row}" + (f", column {variable}" if variable else "") if row
             else "in the header row")
    return _problem("error", file, "file_not_utf8",
                    f"not UTF-8: byte 0x{bad:02X} at byte offset {offset} (line {line} of the file, counting "
                    f"the header) {where}; read as Windows-1252/Latin-1 the value is '{legacy}'. Save the file as "
                    f"UTF-8 (Excel: 'CSV UTF-8'; SAS: ENCODING=UTF8) and export again",
                    row=row, variable=variable or "", value=f"0x{bad:02X}")


def _read_xpt(path: Path, data: bytes, file: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    import pyreadstat

    problems: list[Problem] = []
    try:
        try:
            df, _meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
        except UnicodeDecodeError:
            # a transport file carries no encoding; SAS on Windows writes Latin-1 text
            df, _meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True, encoding="latin1")
            problems.append(_problem("warning", file, "file_encoding_latin1",
                                     "text is not UTF-8; read as Latin-1 (check special characters such as µ)"))
    except Exception as err:  # pyreadstat raises several error types for corrupt files
        return None, [_problem("error", file, "file_unreadable",
                               f"not a readable SAS transport (XPT) file: {type(err).__name__}: {err}; "
                               f"export it again as SAS transport version 5 (or send it as CSV)")]
    truncated = _xpt_truncated(data, sum(_meta.variable_storage_width.values()), len(df))
    if truncated:
        return None, [_problem("error", file, "file_unreadable",
                               f"the SAS transport (XPT) file is truncated or corrupt: {truncated}; "
                               f"the copy is incomplete: export or copy the file again")]
    names, name_problems = _column_names(df.columns, file)
    if name_problems:
        return None, problems + name_problems
    df.columns = names
    return _as_text_frame(df), problems


def _xpt_truncated(data: bytes, row_width: int, n_rows: int) -> str | None:
    """readstat reads a truncated XPT without complaint, dropping the partial record. A v5
    transport file is a sequence of 80-byte records, and after the last observation of the
    (first) member there is only blank padding; anything else means the file was cut."""
    if len(data) % 80:
        return f"its size ({len(data)} bytes) is not a multiple of 80 bytes"
    obs = data.find(b"HEADER RECORD*******OBS")
    if obs < 0 or row_width <= 0:
        return None if obs >= 0 else "no observation header record"
    start = obs + 80
    end = data.find(b"HEADER RECORD*******MEMBER", start)
    rest = data[start + n_rows * row_width:(len(data) if end < 0 else end)]
    if rest.strip(b" "):
        return f"the last record is incomplete ({len(rest)} bytes after {n_rows} complete records)"
    return None


def _read_parquet(path: Path, file: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        df = table.to_pandas()
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
        return None, [_problem("error", file, "file_unreadable",
                               f"not a readable Parquet file: {type(err).__name__}: {err}; "
                               f"export or copy it again")]
    names, problems = _column_names(df.columns, file)
    if problems:
        return None, problems
    df.columns = names
    return _as_text_frame(df.reset_index(drop=True)), []


def read_domain_file(path: Path | str) -> tuple[pd.DataFrame | None, list[Problem], str]:
    """Read one domain file. Returns (frame or None, problems, sha256 of the file's bytes)."""
    path = Path(path)
    file = path.name
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if not data.strip():
        return None, [_problem("error", file, "file_empty",
                               f"the file is empty ({len(data)} bytes, not even a header row); re-export the "
                               f"domain (a domain without records still needs its header row), or remove the "
                               f"file if the domain is optional")], sha
    ext = path.suffix.lower().lstrip(".")
    if ext == "csv":
        df, problems = _read_csv(data, file)
    elif ext == "xpt":
        df, problems = _read_xpt(path, data, file)
    else:
        df, problems = _read_parquet(path, file)
    if df is not None:
        df[ROW_COL] = pd.array(np.arange(1, len(df) + 1), dtype="Int64")
        df.attrs["source_file"] = file
    return df, problems, sha


# --- SUPP-- folding --------------------------------------------------------------------------


class SuppRows(dict):
    """``{QNAM: (SUPP file, {parent row: SUPP row})}``, kept in a frame's ``attrs``. pandas
    deep-copies ``attrs`` on nearly every operation; this read-only record is shared instead."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


def _strip(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    return s.mask(s == "", pd.NA)


def _text(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _match_key(s: pd.Series) -> pd.Series:
    """Compare IDVARVAL with the parent's variable: numbers by value ("1" == "1.0" == "1e0"),
    else text. The key of a value depends on that value only, not on the others of the column."""
    return per_distinct(s, _value_key)


def _value_key(s: pd.Series) -> pd.Series:
    s = _strip(s)
    # float64 for every column: the dtype to_numeric picks depends on all the values ("1" is
    # int64 next to "2", float64 next to "2.0")
    num = pd.to_numeric(s, errors="coerce").astype("float64")
    return pd.Series([_number_key(t, v) for t, v in zip(s.array, num.to_numpy())], index=s.index, dtype="string")


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _number_key(text, value) -> str:
    """A number as text that is the same for every way of writing it: whole numbers without
    ".0" (integers written as such exactly, however many digits), others as Python's repr;
    text that is not a number as it is."""
    if text is pd.NA:
        return pd.NA
    if _INTEGER.fullmatch(text) and len(text) < 4000:  # int() refuses longer texts
        return str(int(text))
    value = float(value)
    if math.isnan(value):
        return text
    if math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def fold_supp(parent: pd.DataFrame, supp: pd.DataFrame, domain: str, supp_file: str
              ) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    """Fold a SUPP-- frame into its parent: one column per QNAM. IDVAR empty = subject level
    (every record of the subject), else the record whose IDVAR equals IDVARVAL. A QNAM column
    already present in the parent is kept: SUPP values fill its empty cells, and a different
    value is a problem. Returns (parent with QNAM columns, problems, QNAMs folded)."""
    problems: list[Problem] = []
    missing = [c for c in SUPP_COLUMNS if c not in supp.columns]
    if missing:
        return parent, [_problem("error", supp_file, "supp_column_missing",
                                 f"SUPP-- file lacks {', '.join(missing)} "
                                 f"(needs {', '.join(SUPP_COLUMNS)}); not folded: add the missing "
                                 f"column(s), in the SDTM SUPP-- layout",
                                 variable=missing[0])], []
    s = pd.DataFrame({c: _strip(supp[c]) for c in SUPP_COLUMNS})
    s["QNAM"] = s["QNAM"].str.upper()
    s["IDVAR"] = s["IDVAR"].str.upper()
    s["_srow"] = supp[ROW_COL].to_numpy()
    usable = pd.Series(True, index=s.index)
    for col in ("USUBJID", "QNAM"):
        for i in s.index[s[col].isna()]:
            problems.append(_problem("error", supp_file, "value_missing", f"{col} is empty; record not folded: fill it in",
                                     row=s.at[i, "_srow"], variable=col))
        usable &= s[col].notna()
    bad_rdomain = s["RDOMAIN"].notna() & (s["RDOMAIN"].str.upper() != domain)
    for i in s.index[bad_rdomain.fillna(False)]:
        problems.append(_problem("error", supp_file, "supp_rdomain_mismatch",
                                 f"RDOMAIN is not {domain}; record not folded: correct RDOMAIN, or move the "
                                 f"record to the SUPP file of its own domain",
                                 row=s.at[i, "_srow"], variable="RDOMAIN", value=s.at[i, "RDOMAIN"]))
    usable &= ~bad_rdomain.fillna(False)
    idvar_present = s["IDVAR"].notna() & s["IDVAR"].isin(list(parent.columns))
    unknown_idvar = s["IDVAR"].notna() & ~idvar_present & usable
    for i in s.index[unknown_idvar]:
        problems.append(_problem("error", supp_file, "supp_idvar_unknown",
                                 f"IDVAR {s.at[i, 'IDVAR']} is not a variable of {domain}; record not folded: "
                                 f"correct IDVAR (usually {domain}SEQ)",
                                 row=s.at[i, "_srow"], variable="IDVAR", value=s.at[i, "IDVAR"]))
    usable &= ~unknown_idvar
    s = s[usable]

    p = pd.DataFrame({"USUBJID": _strip(parent["USUBJID"]) if "USUBJID" in parent.columns
                      else pd.Series(pd.NA, index=parent.index, dtype="string"),
                      "_pidx": np.arange(len(parent))})
    links = []
    subj = s[s["IDVAR"].isna()]
    if len(subj):
        links.append(subj.merge(p, on="USUBJID", how="inner"))
    for idvar, grp in s[s["IDVAR"].notna()].groupby("IDVAR", sort=True):
        pk = p.assign(_key=_match_key(parent[idvar]))
        grp = grp.assign(_key=_match_key(grp["IDVARVAL"]))
        pk, grp = pk[pk["_key"].notna()], grp[grp["_key"].notna()]  # an empty key matches nothing
        links.append(grp.merge(pk, on=["USUBJID", "_key"], how="inner"))
    link = (pd.concat(links, ignore_index=True) if links
            else pd.DataFrame(columns=[*s.columns, "_pidx"]))
    for i in s.index[~s["_srow"].isin(link["_srow"])]:
        where = "subject" if pd.isna(s.at[i, "IDVAR"]) else f"record with {s.at[i, 'IDVAR']} = {s.at[i, 'IDVARVAL']}"
        problems.append(_problem("error", supp_file, "supp_unmatched",
                                 f"no {domain} {where} for USUBJID {s.at[i, 'USUBJID']}; "
                                 f"QNAM {s.at[i, 'QNAM']} not folded: correct IDVARVAL (or USUBJID) to point "
                                 f"at an existing {domain} record, or remove this SUPP record",
                                 row=s.at[i, "_srow"], variable="IDVARVAL", value=s.at[i, "IDVARVAL"]))

    out = parent.copy()
    folded: list[str] = []
    supp_rows: dict[str, dict[int, int]] = {}
    if len(link):
        link = link.sort_values(["_pidx", "QNAM", "_srow"], kind="stable")
        first = link.drop_duplicates(["_pidx", "QNAM"], keep="first")
        clash = link.merge(first[["_pidx", "QNAM", "QVAL", "_srow"]], on=["_pidx", "QNAM"], suffixes=("", "_first"))
        clash = clash[(clash["_srow"] != clash["_srow_first"])
                      & (clash["QVAL"].fillna("\0") != clash["QVAL_first"].fillna("\0"))]
        parent_file = parent.attrs.get("source_file")
        # records, not itertuples: namedtuples rename the fields that start with "_"
        for r in clash.drop_duplicates("_srow").to_dict("records"):
            prow = parent[ROW_COL].iat[r["_pidx"]]
            where = f"{parent_file} row {prow}" if parent_file else f"row {prow} of the {domain} file"
            problems.append(_problem("error", supp_file, "supp_duplicate",
                                     f"{r['QNAM']} given twice for the same {domain} record ({where}) with "
                                     f"different values: '{_text(r['QVAL'])}' here, "
                                     f"'{_text(r['QVAL_first'])}' in row {r['_srow_first']}; remove the wrong "
                                     f"one (the value of row {r['_srow_first']} was kept)",
                                     row=r["_srow"], variable="QVAL", value=r["QVAL"]))
        for qnam, grp in first.groupby("QNAM", sort=True):
            values = pd.Series(pd.NA, index=range(len(out)), dtype="string")
            values.iloc[grp["_pidx"].to_numpy()] = grp["QVAL"].to_numpy()
            values.index = out.index
            srow = pd.Series(pd.NA, index=range(len(out)), dtype="Int64")
            srow.iloc[grp["_pidx"].to_numpy()] = grp["_srow"].to_numpy()
            srow.index = out.index
            if qnam in out.columns:
                existing = _strip(out[qnam])
                conflict = existing.notna() & values.notna() & (existing != values)
                for i in out.index[conflict.fillna(False)]:
                    problems.append(_problem(
                        "error", supp_file, "supp_conflicts_parent",
                        f"{qnam} = '{values[i]}' here but '{existing[i]}' in the {domain} file "
                        f"(row {out.at[i, ROW_COL]}); correct one of the two so that they agree",
                        row=srow[i], variable=qnam, value=values[i]))
                out[qnam] = out[qnam].astype("string").mask(existing.isna(), values)
            else:
                out[qnam] = values
            folded.append(qnam)
            # where each folded value came from, so that a later check can point at the SUPP record
            parent_rows = out[ROW_COL].to_numpy()
            given = srow.notna().to_numpy()
            supp_rows[qnam] = dict(zip(parent_rows[given].astype("int64").tolist(),
                                       srow[given].to_numpy(dtype="int64").tolist()))
    cols = [c for c in out.columns if c != ROW_COL] + [ROW_COL]
    out = out[cols]
    out.attrs = dict(parent.attrs)
    if supp_rows:
        out.attrs["supp_rows"] = SuppRows({**parent.attrs.get("supp_rows", {}),
                                           **{q: (supp_file, rows) for q, rows in supp_rows.items()}})
    return out, problems, folded


# --- the export ------------------------------------------------------------------------------


def read_export(export_dir: Path | str) -> tuple[dict[str, pd.DataFrame], list[Problem], dict[str, str]]:
    """Read every domain file of an export folder.

    Returns ``(domains, problems, files)``: ``domains`` maps a domain code (``"DM"``) to its
    frame (SUPP-- folded in; ``attrs["source_file"]`` the file name, ``attrs["supp_qnams"]`` the
    folded QNAMs, ``attrs["supp_rows"]`` ``{QNAM: (supp file, {parent row: SUPP row})}`` the
    record each folded value came from); ``files`` maps each file read to its SHA-256. Files that are not domain files
    of the contract are not read (a ``file_ignored`` warning). Nothing is written.
    """
    export_dir = Path(export_dir)
    problems: list[Problem] = []
    if not export_dir.is_dir():
        return {}, [_problem("error", str(export_dir), "export_missing", "the export folder does not exist: check data.export_dir in the settings")], {}

    found: dict[tuple[bool, str], list[Path]] = {}
    for path in sorted(export_dir.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or not path.is_file():
            continue
        m = _NAME_RE.match(path.name)
        if not m or m["dom"].upper() not in DOMAINS:
            problems.append(_problem("warning", path.name, "file_ignored",
                                     "not a domain file of the input contract (<domain>.csv|.xpt|.parquet, "
                                     "or supp<domain>.*); not read: remove it from the export, or rename it "
                                     "if it holds a domain"))
            continue
        found.setdefault((bool(m["supp"]), m["dom"].upper()), []).append(path)

    files: dict[str, str] = {}
    frames: dict[tuple[bool, str], pd.DataFrame] = {}
    for (is_supp, dom), paths in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        chosen = paths[0]
        if len(paths) > 1:
            problems.append(_problem("error", chosen.name, "domain_duplicate_file",
                                     f"{'SUPP' if is_supp else ''}{dom} is given in {len(paths)} files "
                                     f"({', '.join(p.name for p in paths)}); keep exactly one. "
                                     f"Only {chosen.name} was checked"))
        for path in paths:
            df, probs, sha = read_domain_file(path) if path is chosen else (None, [], None)
            if sha is None:
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
            files[path.name] = sha
            problems.extend(probs)
            if df is not None:
                frames[(is_supp, dom)] = df

    domains: dict[str, pd.DataFrame] = {}
    for (is_supp, dom), df in frames.items():
        if not is_supp:
            df.attrs["supp_qnams"] = []
            domains[dom] = df
    for (is_supp, dom), supp in frames.items():
        if not is_supp:
            continue
        supp_file = supp.attrs.get("source_file", f"supp{dom.lower()}")
        if dom not in domains:
            problems.append(_problem("warning", supp_file, "supp_parent_absent",
                                     f"no readable {dom} file to fold these qualifiers into; not used: add the "
                                     f"{dom} domain to the export, or remove this file"))
            continue
        parent = domains[dom]
        folded_df, probs, folded = fold_supp(parent, supp, dom, supp_file)
        folded_df.attrs["supp_qnams"] = sorted(set(parent.attrs.get("supp_qnams", [])) | set(folded))
        domains[dom] = folded_df
        problems.extend(probs)
    ordered = {d: domains[d] for d in DOMAINS if d in domains}
    return ordered, problems, dict(sorted(files.items()))
