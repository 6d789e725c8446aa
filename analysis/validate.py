"""Every check of the input contract ("What the reader guarantees"), collected, never raised
one by one.

``validate(domains, meta)`` returns one ``Problem`` per finding: severity, file, row (1-based
record number in the file, header not counted), variable, value, rule id, message. The
per-variable schema of each domain (required variables, non-empty values, numeric types,
closed controlled terms, grades, ISO 8601 dates, plausible ranges) is a pandera
``DataFrameSchema`` built from ``analysis.contract`` and run lazily, so that every failure case
is collected; conditional terms, units per test code, keys and cross-domain checks are plain
pandas. ``normalise(domains)`` gives the validated frames their conventional types
(docs/architecture.md) with controlled terms in their canonical spelling.
"""

from __future__ import annotations

import csv
import io as _io
import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import dates
from analysis.atomic import write_text
from analysis.contract import DOMAINS, DomainSpec, Range, Terms
from analysis.io import ROW_COL, Problem

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

__all__ = [
    "Problem",
    "RULES",
    "validate",
    "normalise",
    "has_errors",
    "sort_problems",
    "format_problems",
    "write_validation_report",
]

#: Every rule id, its severity and what it checks (the report's summary explains them).
RULES: dict[str, tuple[str, str]] = {
    # files (analysis.io)
    "export_missing": ("error", "the export folder exists"),
    "file_not_utf8": ("error", "a CSV file is UTF-8"),
    "file_unreadable": ("error", "a file can be read in its format (CSV, SAS transport v5, Parquet)"),
    "file_empty": ("error", "a file is not empty"),
    "column_duplicate": ("error", "a column name appears once in a file"),
    "domain_duplicate_file": ("error", "a domain is given in one file only"),
    "file_encoding_latin1": ("warning", "XPT text is UTF-8 (else it is read as Latin-1)"),
    "file_ignored": ("warning", "files that are not domain files of the contract are not read"),
    "supp_column_missing": ("error", "a SUPP-- file has RDOMAIN, USUBJID, IDVAR, IDVARVAL, QNAM, QVAL"),
    "supp_rdomain_mismatch": ("error", "RDOMAIN of a SUPP-- record names its parent domain"),
    "supp_idvar_unknown": ("error", "IDVAR of a SUPP-- record is a variable of the parent domain"),
    "supp_unmatched": ("error", "every SUPP-- record matches a subject / record of the parent domain"),
    "supp_duplicate": ("error", "a qualifier is given once per parent record"),
    "supp_conflicts_parent": ("error", "a SUPP-- value agrees with the same column of the parent domain"),
    "supp_parent_absent": ("warning", "a SUPP-- file has its parent domain"),
    # domains and variables
    "domain_missing": ("error", "every required domain is in the export"),
    "variable_missing": ("error", "every key variable of the contract is present"),
    "value_missing": ("error", "identifiers, test codes and sequence numbers have a value"),
    "not_numeric": ("error", "numeric variables hold numbers"),
    "ct_invalid": ("error", "controlled terms are from the contract's list"),
    "ct_normalised": ("warning", "controlled terms with stray blanks or wrong case (normalised)"),
    "grade_out_of_range": ("error", "AETOXGR is a grade 1-5"),
    "unit_invalid": ("error", "units are as declared for the test"),
    "unit_normalised": ("warning", "units in the wrong case (normalised)"),
    "value_negative": ("error", "diameters, counts, concentrations, doses are not negative"),
    "value_out_of_range": ("error", "numbers are plausible (age 0-120, H-score 0-300, ...)"),
    # keys
    "usubjid_duplicate": ("error", "USUBJID is unique in DM"),
    "seq_duplicate": ("error", "--SEQ is unique within USUBJID"),
    "key_duplicate": ("error", "the declared key of a domain is unique"),
    "usubjid_unknown": ("error", "every USUBJID is known to DM"),
    # dates
    "dtc_not_iso8601": ("error", "dates are ISO 8601 (YYYY, YYYY-MM, YYYY-MM-DD, with or without time)"),
    "dtc_impossible_date": ("error", "dates are possible (no 2026-02-30, month 13, hour 24)"),
    "dtc_missing_year": ("warning", "dates have a year (a date without one is never imputed: unusable)"),
    "dtc_missing": ("warning", "records have their date (undated records are kept at the data cut)"),
    "end_before_start": ("error", "an end date is not before its start date"),
    # content warnings
    "lb_testcd_unknown": ("warning", "LBTESTCD is a test code of the contract"),
    "ae_soc_missing": ("warning", "an AE is coded to a MedDRA system organ class (AEBODSYS)"),
    "ae_decod_missing": ("warning", "an AE is coded to a MedDRA preferred term (AEDECOD)"),
    "tr_lnkid_unknown": ("warning", "every TR lesion (TRLNKID) is identified in TU (TULNKID)"),
}

ROW_NOTE = ("Rows are 1-based record numbers within each file, the header row not counted; "
            "an empty row means the problem concerns the whole file or variable.")
# warnings of one kind and value are reported once, with the rows they occur in
_AGGREGATED = {"ct_normalised", "unit_normalised", "lb_testcd_unknown", "file_ignored"}


# --- helpers ------------------------------------------------------------------------------


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    """Strip blanks of every text column; empty -> <NA>. The row column is kept as it is."""
    out = {}
    for c in df.columns:
        if c == ROW_COL:
            out[c] = df[c]
            continue
        s = df[c]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s
            continue
        s = s.astype("string").str.strip()
        out[c] = s.mask(s == "", pd.NA)
    res = pd.DataFrame(out, index=df.index)
    res.attrs = dict(df.attrs)
    return res


def _rows(df: pd.DataFrame) -> pd.Series:
    if ROW_COL in df.columns:
        return df[ROW_COL]
    return pd.Series(np.arange(1, len(df) + 1), index=df.index)


def _text(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return str(v)


def _ct_key(s: pd.Series) -> pd.Series:
    """Case- and blank-insensitive key of a controlled term ("3.0" is grade "3")."""
    s = s.astype("string")
    s = s.str.replace(r"\s+", " ", regex=True).str.strip().str.upper()
    return s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def _cond(df: pd.DataFrame, when) -> pd.Series:
    if when is None:
        return pd.Series(True, index=df.index)
    var, values = when
    if var not in df.columns:
        return pd.Series(False, index=df.index)
    return df[var].isin(list(values)).fillna(False).astype(bool)


def _numbers(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64")
    return pd.to_numeric(s.astype("string").str.strip(), errors="coerce").astype("float64")


def _file_of(code: str, df: pd.DataFrame | None, meta) -> str:
    if df is not None and df.attrs.get("source_file"):
        return str(df.attrs["source_file"])
    if isinstance(meta, dict):
        if code in meta and isinstance(meta[code], str) and "." in meta[code]:
            return meta[code]
        for name in meta:
            if str(name).lower().rsplit(".", 1)[0] == code.lower():
                return str(name)
    return f"{code.lower()}.*"


def _terms_message(t: Terms) -> str:
    where = f" where {t.when[0]} is {'/'.join(t.when[1])}" if t.when else ""
    return f"{t.variable} must be one of {', '.join(t.values)}{where}"


def _range_message(r: Range) -> str:
    where = f" where {r.when[0]} is {'/'.join(r.when[1])}" if r.when else ""
    if r.high is None:
        return f"{r.variable} must not be {'negative' if r.low == 0 else f'below {r.low:g}'}{where}"
    return f"{r.variable} must be within {r.low:g}-{r.high:g}{where}"


# --- controlled terms and units -------------------------------------------------------------


def _canonicalise(clean: pd.DataFrame, spec: DomainSpec, file: str, raw: pd.DataFrame | None = None
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """Controlled terms and units to their declared spelling. Returns the new frame and the
    problems: ct_normalised / unit_normalised warnings (a term that differs from its declared
    spelling in the file only by blanks or case), and errors of conditional terms and of units
    (closed unconditional terms are left to the pandera schema). ``raw``: the frame as read,
    for the values shown in warnings."""
    raw = clean if raw is None else raw
    df = clean.copy()
    rows = _rows(df)
    problems: list[Problem] = []
    for t in sorted(spec.terms, key=lambda t: t.when is not None):  # conditions use canonical values
        if t.variable not in df.columns:
            continue
        s = df[t.variable]
        mask = s.notna() & _cond(df, t.when)
        if not mask.any():
            continue
        canon = _ct_key(s).map({k: v for k, v in zip(_ct_key(pd.Series(t.values)), t.values)})
        as_read = raw[t.variable].astype("string") if t.variable in raw.columns else s
        changed = mask & canon.notna() & (canon != as_read).fillna(False)
        for i in df.index[changed]:
            problems.append(Problem("warning", file, int(rows[i]), t.variable, as_read[i], "ct_normalised",
                                    f"normalised to '{canon[i]}'"))
        df.loc[changed, t.variable] = canon[changed]
        if t.when is not None and not t.extensible:
            bad = mask & canon.isna()
            for i in df.index[bad]:
                problems.append(Problem("error", file, int(rows[i]), t.variable, s[i], t.rule, _terms_message(t)))

    for u in spec.units:
        if u.variable not in df.columns or u.by not in df.columns:
            continue
        by = df[u.by]
        unit = df[u.variable]
        value = df[u.value] if u.value and u.value in df.columns else pd.Series(pd.NA, index=df.index)
        declared = by.isin(list(u.units)).fillna(False).astype(bool)
        pairs = {f"{k}\x1f{v}" for k, vs in u.units.items() for v in vs}
        key = by.fillna("") + "\x1f" + unit.fillna("")
        ok = key.isin(pairs).fillna(False).astype(bool)
        # no unit where there is no result is fine
        ok |= unit.isna() & value.isna()
        for i in df.index[declared & ~ok]:
            accepted = u.units[by[i]]
            shown = " or ".join("no unit" if a == "" else a for a in accepted)
            got = unit[i]
            if pd.isna(got):
                problems.append(Problem("error", file, int(rows[i]), u.variable, "", "unit_invalid",
                                        f"{u.variable} is empty for {u.by} {by[i]} with a result; expected {shown}"))
                continue
            alias = u.aliases.get(got)
            if alias in accepted:
                df.at[i, u.variable] = alias
                continue
            folded = {a.upper(): a for a in accepted if a}
            folded.update({k.upper(): v for k, v in u.aliases.items() if v in accepted})
            hit = folded.get(" ".join(got.split()).upper())
            if hit is not None:
                df.at[i, u.variable] = hit
                shown_got = _text(raw.at[i, u.variable]) if u.variable in raw.columns else got
                problems.append(Problem("warning", file, int(rows[i]), u.variable, shown_got, "unit_normalised",
                                        f"normalised to '{hit}'"))
            else:
                problems.append(Problem("error", file, int(rows[i]), u.variable, got, "unit_invalid",
                                        f"{u.variable} for {u.by} {by[i]} must be {shown}"))
    return df, problems


# --- the pandera schema ---------------------------------------------------------------------


def _schema(spec: DomainSpec, columns: list[str]) -> tuple[pa.DataFrameSchema, dict[tuple[str, str], str]]:
    """The per-variable schema of a domain and the message of each (variable, rule)."""
    messages: dict[tuple[str, str], str] = {}
    checks: dict[str, list[pa.Check]] = {}

    def add(var: str, rule: str, fn, message: str, ignore_na: bool = True) -> None:
        checks.setdefault(var, []).append(pa.Check(fn, name=rule, ignore_na=ignore_na))
        messages[(var, rule)] = message

    for var in spec.nonmissing:
        add(var, "value_missing", lambda s: s.notna(), f"{var} must have a value", ignore_na=False)
    for var in spec.numeric_all:
        add(var, "not_numeric", lambda s: _numbers(s).notna() & np.isfinite(_numbers(s).fillna(0)),
            f"{var} must be a number")
    for t in spec.terms:
        if t.when is None and not t.extensible:
            add(t.variable, t.rule, lambda s, v=t.values: s.isin(list(v)), _terms_message(t))
    for r in spec.ranges:
        if r.when is not None:
            continue
        if r.low is not None:
            rule = "value_negative" if r.low == 0 else "value_out_of_range"
            add(r.variable, rule, lambda s, lo=r.low: ~(_numbers(s) < lo), _range_message(r))
        if r.high is not None:
            add(r.variable, "value_out_of_range", lambda s, hi=r.high: ~(_numbers(s) > hi), _range_message(r))
    for var in spec.dates:
        add(var, "dtc_not_iso8601", lambda s: dates.parse_dtc(s)["problem"].ne("dtc_not_iso8601").fillna(True),
            f"{var} is not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss])")
        add(var, "dtc_impossible_date",
            lambda s: dates.parse_dtc(s)["problem"].ne("dtc_impossible_date").fillna(True),
            f"{var} is not a possible date or time")

    schema_cols = {}
    for var in dict.fromkeys([*spec.variables, *columns]):
        required = var in spec.variables
        if not required and var not in columns:
            continue
        if not required and var not in checks:
            continue
        schema_cols[var] = pa.Column(None, checks=checks.get(var, []), nullable=True, required=required)
    for var in spec.variables:
        messages[(var, "variable_missing")] = f"required variable {var} of {spec.code} is missing"
    return pa.DataFrameSchema(schema_cols, strict=False, coerce=False), messages


def _run_schema(df: pd.DataFrame, spec: DomainSpec, file: str) -> list[Problem]:
    schema, messages = _schema(spec, [c for c in df.columns if c != ROW_COL])
    try:
        schema.validate(df, lazy=True)
        return []
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    rows = _rows(df)
    problems = []
    for case in cases.itertuples(index=False):
        if case.check == "column_in_dataframe":
            var = str(case.failure_case)
            problems.append(Problem("error", file, None, var, "", "variable_missing",
                                    messages.get((var, "variable_missing"), f"required variable {var} is missing")))
            continue
        rule = str(case.check)
        var = str(case.column)
        idx = case.index
        row = None if idx is None or pd.isna(idx) else int(rows.loc[idx])
        problems.append(Problem("error", file, row, var, _text(case.failure_case), rule,
                                messages.get((var, rule), rule)))
    return problems


# --- checks in plain pandas -----------------------------------------------------------------


def _conditional_ranges(df: pd.DataFrame, spec: DomainSpec, file: str) -> list[Problem]:
    rows = _rows(df)
    problems = []
    for r in spec.ranges:
        if r.when is None or r.variable not in df.columns:
            continue
        num = _numbers(df[r.variable])
        cond = _cond(df, r.when)
        low = cond & (num < r.low) if r.low is not None else pd.Series(False, index=df.index)
        high = cond & (num > r.high) if r.high is not None else pd.Series(False, index=df.index)
        for i in df.index[low.fillna(False) | high.fillna(False)]:
            rule = "value_negative" if (r.low == 0 and num[i] < 0) else "value_out_of_range"
            problems.append(Problem("error", file, int(rows[i]), r.variable, _text(df.at[i, r.variable]), rule,
                                    _range_message(r)))
    return problems


def _date_checks(df: pd.DataFrame, spec: DomainSpec, file: str) -> list[Problem]:
    rows = _rows(df)
    problems = []
    for var in spec.dates:
        if var not in df.columns:
            continue
        parsed = dates.parse_dtc(df[var])
        for i in df.index[parsed["status"].eq("no_year").fillna(False)]:
            problems.append(Problem("warning", file, int(rows[i]), var, df.at[i, var], "dtc_missing_year",
                                    f"{var} has no year: never imputed, the record cannot use this date"))
        if var == spec.primary_date and var not in spec.nonmissing:
            for i in df.index[parsed["status"].eq("empty").fillna(False)]:
                problems.append(Problem("warning", file, int(rows[i]), var, "", "dtc_missing",
                                        f"{var} is empty: the record cannot be placed relative to the data cut "
                                        f"and is kept"))
    for start, end in spec.periods:
        if start not in df.columns or end not in df.columns:
            continue
        first = dates.earliest_possible(df[start])
        last = dates.latest_possible(df[end])
        bad = (last < first).fillna(False)
        for i in df.index[bad]:
            problems.append(Problem("error", file, int(rows[i]), end, df.at[i, end], "end_before_start",
                                    f"{end} {df.at[i, end]} is before {start} {df.at[i, start]}"))
    return problems


def _key_checks(df: pd.DataFrame, spec: DomainSpec, file: str) -> list[Problem]:
    rows = _rows(df)
    problems = []
    if spec.unique and set(spec.unique) <= set(df.columns):
        key = list(spec.unique)
        sub = df[key].assign(_r=rows).dropna(subset=key)
        dup = sub.duplicated(key, keep="first")
        first_row = sub.drop_duplicates(key).set_index(key)["_r"]
        var = key[-1]
        rule = "usubjid_duplicate" if key == ["USUBJID"] else "key_duplicate"
        for i in sub.index[dup]:
            k = tuple(sub.loc[i, key]) if len(key) > 1 else sub.at[i, var]
            problems.append(Problem("error", file, int(rows[i]), var, _text(df.at[i, var]), rule,
                                    f"{'/'.join(key)} {_text(df.at[i, var])} is also in row "
                                    f"{int(first_row[k])} of {spec.code}"))
    seq = spec.seq
    if seq and seq in df.columns and "USUBJID" in df.columns:
        num = _numbers(df[seq])
        sub = pd.DataFrame({"u": df["USUBJID"], "s": num, "r": rows}).dropna(subset=["u", "s"])
        dup = sub.duplicated(["u", "s"], keep="first")
        first_row = sub.drop_duplicates(["u", "s"]).set_index(["u", "s"])["r"]
        for i in sub.index[dup]:
            u, s_ = sub.at[i, "u"], sub.at[i, "s"]
            problems.append(Problem("error", file, int(rows[i]), seq, _text(df.at[i, seq]), "seq_duplicate",
                                    f"{seq} {_text(df.at[i, seq])} of {u} is also in row {int(first_row[(u, s_)])}"))
    return problems


def _content_warnings(df: pd.DataFrame, spec: DomainSpec, file: str) -> list[Problem]:
    """Values outside an extensible list that warns (LBTESTCD), expected values left empty
    (AEBODSYS, AEDECOD)."""
    rows = _rows(df)
    problems = []
    for t in spec.terms:
        if t.unknown is None or t.variable not in df.columns:
            continue
        unknown = df[t.variable].notna() & ~df[t.variable].isin(list(t.values)).fillna(False) & _cond(df, t.when)
        for i in df.index[unknown]:
            problems.append(Problem("warning", file, int(rows[i]), t.variable, df.at[i, t.variable], t.unknown,
                                    f"not a {t.variable} of the contract; its units and ranges are not checked"))
    for var, rule in spec.expected:
        if var in df.columns:
            for i in df.index[df[var].isna()]:
                problems.append(Problem("warning", file, int(rows[i]), var, "", rule,
                                        f"{var} is empty: {RULES.get(rule, ('', 'expected'))[1]}"))
    return problems


def _cross_checks(frames: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Problem]:
    problems = []
    dm = frames.get("DM")
    if dm is not None and "USUBJID" in dm.columns:
        known = set(dm["USUBJID"].dropna())
        for code, df in frames.items():
            if code == "DM" or "USUBJID" not in df.columns:
                continue
            rows = _rows(df)
            bad = df["USUBJID"].notna() & ~df["USUBJID"].isin(list(known)).fillna(False)
            for i in df.index[bad]:
                problems.append(Problem("error", files[code], int(rows[i]), "USUBJID", df.at[i, "USUBJID"],
                                        "usubjid_unknown", f"USUBJID {df.at[i, 'USUBJID']} is not in DM"))
    for code, df in frames.items():
        for ref in DOMAINS[code].refs:
            target = frames.get(ref.domain)
            if target is None or not set(ref.variables) <= set(df.columns) \
                    or not set(ref.target) <= set(target.columns):
                continue
            known = set(target[list(ref.target)].dropna().itertuples(index=False, name=None))
            rows = _rows(df)
            sub = df[list(ref.variables)].dropna()
            for i, key in zip(sub.index, sub.itertuples(index=False, name=None)):
                if key not in known:
                    var = ref.variables[-1]
                    problems.append(Problem(
                        "warning", files[code], int(rows[i]), var, _text(df.at[i, var]), ref.rule,
                        f"{'/'.join(_text(k) for k in key)} is not in {ref.domain} "
                        f"({'/'.join(ref.target)})"))
    return problems


def _aggregate(problems: list[Problem]) -> list[Problem]:
    """Warnings of one kind and value are reported once, naming the rows they occur in."""
    slots: list[Problem | tuple] = []
    groups: dict[tuple, list[Problem]] = {}
    for p in problems:
        if p.severity == "warning" and p.rule in _AGGREGATED and p.row is not None:
            key = (p.file, p.variable, p.value, p.rule, p.message)
            if key not in groups:
                groups[key] = []
                slots.append(key)
            groups[key].append(p)
        else:
            slots.append(p)
    result = []
    for slot in slots:
        if isinstance(slot, Problem):
            result.append(slot)
            continue
        grp = groups[slot]
        p = grp[0]
        rows = sorted(q.row for q in grp)
        if len(rows) > 1:
            shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
            p = Problem(p.severity, p.file, rows[0], p.variable, p.value, p.rule,
                        f"{p.message} ({len(rows)} records: rows {shown})")
        result.append(p)
    return result


# --- public API -----------------------------------------------------------------------------


def validate(domains: dict[str, pd.DataFrame], meta: dict | None = None) -> list[Problem]:
    """Check the domains read from an export against the input contract.

    ``domains``: frames as ``analysis.io.read_export`` returns them (text columns, the hidden
    row-number column). ``meta``: names the file of each domain, either ``{domain: file}`` or
    the ``{file: sha256}`` dict of ``read_export`` (a frame's ``attrs["source_file"]`` wins).
    Returns the problems (errors and warnings), sorted; nothing is raised or changed.
    """
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for code, spec in DOMAINS.items():
        df = domains.get(code)
        file = _file_of(code, df, meta)
        if df is None:
            # a file that is there but could not be read was reported by the reader
            if spec.required and file.endswith(".*"):
                problems.append(Problem("error", file, None, "", "", "domain_missing",
                                        f"required domain {code} is not in the export "
                                        f"(expected {code.lower()}.csv, .xpt or .parquet)"))
            continue
        clean = _clean(df)
        canon, probs = _canonicalise(clean, spec, file, raw=df)
        problems.extend(probs)
        problems.extend(_run_schema(canon, spec, file))
        problems.extend(_conditional_ranges(canon, spec, file))
        problems.extend(_date_checks(canon, spec, file))
        problems.extend(_key_checks(canon, spec, file))
        problems.extend(_content_warnings(canon, spec, file))
        frames[code] = canon
        files[code] = file
    problems.extend(_cross_checks(frames, files))
    return sort_problems(_aggregate(problems))


def normalise(domains: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Validated frames with the project's types: text stripped, empty as <NA>, pandas
    ``string``; numeric variables ``float64``; controlled terms and units in their declared
    spelling. The row-number column and ``attrs`` are kept."""
    out = {}
    for code, df in domains.items():
        spec = DOMAINS.get(code)
        clean = _clean(df)
        if spec is not None:
            clean, _ = _canonicalise(clean, spec, "")
            for var in spec.numeric_all:
                if var in clean.columns:
                    clean[var] = _numbers(clean[var])
        clean.attrs = dict(df.attrs)
        out[code] = clean
    return out


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Errors first, then by file, row (file-level first), variable, rule."""
    order = {"error": 0, "warning": 1}
    return sorted(problems, key=lambda p: (order.get(p.severity, 2), p.file,
                                           -1 if p.row is None else p.row, p.variable, p.rule, p.value))


def _counts(problems: list[Problem]) -> tuple[int, int]:
    n_err = sum(p.severity == "error" for p in problems)
    return n_err, len(problems) - n_err


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_problems(problems: list[Problem], limit: int | None = 100) -> str:
    """The problems for a terminal: a count, then one line each (errors first)."""
    problems = sort_problems(problems)
    n_err, n_warn = _counts(problems)
    lines = [f"Input validation: {_plural(n_err, 'error')}, {_plural(n_warn, 'warning')}."]
    if problems:
        lines.append("(row = record number in the file, header not counted)")
    shown = problems if limit is None else problems[:limit]
    for p in shown:
        where = p.file + (f" row {p.row}" if p.row is not None else "")
        what = f" {p.variable}" if p.variable else ""
        val = f" = '{p.value}'" if p.value != "" else ""
        lines.append(f"  {p.severity.upper():7} {where}{what}{val}  [{p.rule}] {p.message}")
    if limit is not None and len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more: see validation-report.md")
    return "\n".join(lines) + "\n"


def _md_cell(v) -> str:
    return _text(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def write_validation_report(problems: list[Problem], out_dir: Path | str) -> dict[str, Path]:
    """Write validation-report.md (summary by rule, then every problem), .csv and .json into
    ``out_dir``, each atomically. Returns the paths written."""
    out_dir = Path(out_dir)
    problems = sort_problems(problems)
    n_err, n_warn = _counts(problems)
    verdict = "FAILED" if n_err else "PASSED"
    by_rule = Counter((p.rule, p.severity) for p in problems)
    files_by_rule: dict[str, set[str]] = {}
    for p in problems:
        files_by_rule.setdefault(p.rule, set()).add(p.file)

    md = ["# Input validation report", "",
          f"**{verdict}**: {_plural(n_err, 'error')}, {_plural(n_warn, 'warning')}. "
          + ("Errors stop the run before any derivation; fix them in the export and run again."
             if n_err else "Warnings do not stop the run."),
          "", ROW_NOTE, ""]
    if problems:
        md += ["## Summary by rule", "", "| rule | severity | problems | files | what it checks |",
               "|---|---|---:|---|---|"]
        for (rule, sev), n in sorted(by_rule.items(), key=lambda kv: ({"error": 0}.get(kv[0][1], 1), kv[0][0])):
            md.append(f"| `{rule}` | {sev} | {n} | {_md_cell(', '.join(sorted(files_by_rule[rule])))} "
                      f"| {_md_cell(RULES.get(rule, ('', ''))[1])} |")
        md += ["", "## Problems", "", "| # | severity | file | row | variable | value | rule | message |",
               "|---:|---|---|---:|---|---|---|---|"]
        for k, p in enumerate(problems, 1):
            md.append(f"| {k} | {p.severity} | {_md_cell(p.file)} | {'' if p.row is None else p.row} "
                      f"| {_md_cell(p.variable)} | {_md_cell(p.value)} | `{p.rule}` | {_md_cell(p.message)} |")
    else:
        md.append("No problems found.")
    paths = {"md": out_dir / "validation-report.md", "csv": out_dir / "validation-report.csv",
             "json": out_dir / "validation-report.json"}
    write_text(paths["md"], "\n".join(md) + "\n")

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    fields = ["severity", "file", "row", "variable", "value", "rule", "message"]
    w.writerow(fields)
    for p in problems:
        w.writerow(["" if getattr(p, f) is None else getattr(p, f) for f in fields])
    write_text(paths["csv"], buf.getvalue())

    doc = {"result": verdict.lower(), "errors": n_err, "warnings": n_warn, "note": ROW_NOTE,
           "problems": [p.as_dict() for p in problems]}
    write_text(paths["json"], json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return paths
