"""Every check of the input contract ("What the reader guarantees"), collected, never raised
one by one.

``validate(domains, meta)`` returns one ``Problem`` per finding: severity, file, row (1-based
record number in the file, header not counted), variable, value, rule id, message. The
per-variable schema of each domain (required variables, non-empty values, numeric types,
closed controlled terms, grades, ISO 8601 dates, plausible ranges) is a pandera
``DataFrameSchema`` built from ``analysis.contract`` and run lazily, so that every failure case
is collected; conditional terms, units per test code, keys and cross-domain checks are plain
pandas. Cross-domain consistency: every USUBJID in DM, every TR lesion identified in TU, every
CAR-T dose at a configured level (``dose_levels``), no infusion after death, no DLT flagged on a
subject without CAR-T. Every message says what is wrong and what to change; dates, numbers and
impossible dates get a hint naming the likely cause (Excel, SAS formats, decimal commas).
``normalise(domains)`` gives the validated frames their conventional types
(docs/architecture.md) with controlled terms in their canonical spelling.
"""

from __future__ import annotations

import csv
import io as _io
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import dates
from analysis.atomic import write_text
from analysis.contract import CAR_T, CAR_T_DOSE_UNIT, DOMAINS, DomainSpec, Range, Terms
from analysis.io import ROW_COL, Problem

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

__all__ = [
    "Problem",
    "RULES",
    "validate",
    "validate_and_normalise",
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
    "domain_no_records": ("warning", "a domain file has records (a header-only file is an empty domain)"),
    # cross-domain consistency
    "tr_lnkid_unknown": ("error", "every TR lesion (TRLNKID) is identified in TU (TULNKID): RECIST needs its role"),
    "dose_level_unknown": ("error", "every CAR-T infusion's EXDOSE (cells/kg) matches a configured dose level"),
    "ex_after_death": ("error", "no infusion starts after the subject's death (DM DTHDTC, else DS DEATH)"),
    "dlt_without_car_t": ("error", "a DLT (SUPPAE AEDLT = Y) is flagged only for a subject with a CAR-T infusion"),
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
        out[c] = dates.per_distinct(s, _stripped)
    res = pd.DataFrame(out, index=df.index)
    res.attrs = dict(df.attrs)
    return res


def _stripped(s: pd.Series) -> pd.Series:
    """Text without surrounding blanks; empty -> <NA>."""
    s = s.str.strip()
    return s.mask(s == "", pd.NA)


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
    return dates.per_distinct(s, _term_key)


def _term_key(s: pd.Series) -> pd.Series:
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
    return dates.per_distinct(s, _text_numbers)


def _finite(numbers: pd.Series) -> pd.Series:
    """True where the value is a finite number."""
    return numbers.notna() & np.isfinite(numbers.fillna(0))


def _text_numbers(s: pd.Series) -> pd.Series:
    """Text as float64 (NaN where it is not a number)."""
    return pd.to_numeric(s.str.strip(), errors="coerce").astype("float64")


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
    if t.rule == "grade_out_of_range":
        return (f"{t.variable} must be a grade from {t.values[0]} to {t.values[-1]} (CTCAE v5.0, ASTCT 2019 for "
                f"CRS/ICANS; 5 = death); correct the grade")
    return (f"not a controlled term of {t.variable}{where}: use one of {', '.join(t.values)} "
            f"(the contract's spelling; map the EDC term to one of these)")


def _range_message(r: Range) -> str:
    where = f" where {r.when[0]} is {'/'.join(r.when[1])}" if r.when else ""
    if r.high is None:
        if r.low == 0:
            return (f"{r.variable} must not be negative{where} (a diameter, count, dose or concentration); "
                    f"correct the value")
        return f"{r.variable} must not be below {r.low:g}{where}; correct the value"
    return f"{r.variable} must be within {r.low:g}-{r.high:g}{where} to be plausible; correct the value"


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_SAS_MONTHS = {m: k for k, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP",
                                          "OCT", "NOV", "DEC"), 1)}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


def _date_hint(value: str) -> str:
    """What a non-ISO date most likely is (Excel reformatting, an Excel serial number, SAS DATE9,
    a blank instead of T), with its ISO 8601 spelling; "" when it is not recognised."""
    v = value.strip()
    m = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:\s+(\d{1,2}):(\d{2})(?::\d{2})?)?", v)
    if m:
        a, b, year = int(m[1]), int(m[2]), m[3]
        time = f"T{int(m[4]):02d}:{m[5]}" if m[4] else ""
        us = f"{year}-{a:02d}-{b:02d}{time}"
        eu = f"{year}-{b:02d}-{a:02d}{time}"
        if a > 12 >= b:
            return f"looks like a day-first date (DD/MM/YYYY), e.g. from Excel: write {eu}"
        if b > 12 >= a:
            return f"looks like a month-first date (MM/DD/YYYY) as Excel writes it: write {us}"
        return (f"looks like a date reformatted by Excel (MM/DD/YYYY or DD/MM/YYYY): write {us} if the month "
                f"comes first, {eu} if the day does")
    m = re.fullmatch(r"(\d{5})(?:\.(\d+))?", v)
    if m and 10000 <= int(m[1]) <= 80000:
        day = _EXCEL_EPOCH + pd.Timedelta(days=int(m[1]))
        iso = day.strftime("%Y-%m-%d")
        if m[2]:
            minutes = round(float("0." + m[2]) * 24 * 60)
            iso += f"T{minutes // 60:02d}:{minutes % 60:02d}"
        return (f"looks like an Excel serial day number (the column was opened and saved in Excel): "
                f"{v} is {iso}; write ISO 8601 text")
    m = re.fullmatch(r"(\d{1,2})([A-Za-z]{3})(\d{4})(?:[:T ](\d{1,2}):(\d{2}))?(?::\d{2})?", v)
    if m and m[2].upper() in _SAS_MONTHS:
        iso = f"{m[3]}-{_SAS_MONTHS[m[2].upper()]:02d}-{int(m[1]):02d}"
        if m[4]:
            iso += f"T{int(m[4]):02d}:{m[5]}"
        return f"looks like a SAS DATE9/DATETIME value: write {iso} (ISO 8601, as SAS's E8601DA format does)"
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ _](\d{2}:\d{2}(?::\d{2})?)", v)
    if m:
        return f"date and time are separated by 'T' in ISO 8601: write {m[1]}T{m[2]}"
    m = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", v)
    if m:
        return f"ISO 8601 uses hyphens: write {m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
    return ""


def _impossible_hint(value: str) -> str:
    m = re.match(r"(\d{4})-(\d{2})(?:-(\d{2}))?(?:T(\d{2}):(\d{2}))?", value.strip())
    if not m:
        return ""
    year, month = int(m[1]), int(m[2])
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if m[3]:
        days = int(dates._days_in_month(np.array([year]), np.array([month]))[0])
        if not 1 <= int(m[3]) <= days:
            return f"{_MONTH_NAMES[month - 1]} {year} has {days} days"
    if m[4] and (int(m[4]) > 23 or int(m[5]) > 59):
        return f"{m[4]}:{m[5]} is not a time of day (00:00-23:59)"
    if not 1678 <= year <= 2261:
        return f"the year {year} is not plausible"
    return ""


def _number_hint(var: str, value: str) -> str:
    v = value.strip()
    if re.fullmatch(r"[-+]?\d+,\d+", v):
        return f"use a decimal point, not a comma: {v.replace(',', '.')}"
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", v):
        return f"no thousands separators: {v.replace(',', '')}"
    if re.match(r"^\s*(<|>|<=|>=|BLQ|BLOQ|LLOQ|ULOQ|ND|NOT DONE)", v, re.IGNORECASE):
        return (f"a result below or above a limit is text: keep it in the character result variable "
                f"(--ORRES/--STRESC) and leave {var} empty")
    m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*[^\d\s].*", v)
    if m:
        return f"write the number alone, without unit or text: {m[1]}"
    return ""


_HINTS = {"dtc_not_iso8601": lambda var, v: _date_hint(v), "not_numeric": _number_hint,
          "dtc_impossible_date": lambda var, v: _impossible_hint(v)}


def _explain(p: Problem) -> Problem:
    """Add to a schema problem of a date or a number what the value most likely is and how to
    write it; without a recognisable cause, ask for the value to be corrected."""
    if p.rule not in _HINTS:
        return p
    hint = _HINTS[p.rule](p.variable, p.value) if p.value else ""
    if p.rule == "dtc_impossible_date" and hint:
        hint = f"{hint}; correct the date"
    message = f"{p.message}: {hint}" if hint else f"{p.message}; correct the value"
    return Problem(p.severity, p.file, p.row, p.variable, p.value, p.rule, message)


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
                                    f"read as '{canon[i]}' (stray blanks or wrong case); tolerated, but please "
                                    f"correct the export"))
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
        # another spelling of an accepted unit (µmol/L for umol/L): normalised silently
        alias = unit.map(dict(u.aliases))
        aliased = declared & ~ok & (by.fillna("") + "\x1f" + alias.fillna("\0")).isin(pairs).fillna(False).astype(bool)
        df.loc[aliased, u.variable] = alias[aliased]
        for i in df.index[declared & ~ok & ~aliased]:
            accepted = u.units[by[i]]
            shown = " or ".join("no unit" if a == "" else a for a in accepted)
            got = unit[i]
            if pd.isna(got):
                problems.append(Problem("error", file, int(rows[i]), u.variable, "", "unit_invalid",
                                        f"{u.variable} is empty for {u.by} {by[i]} although {u.value} has a "
                                        f"value; the unit must be {shown}"))
                continue
            folded = {a.upper(): a for a in accepted if a}
            folded.update({k.upper(): v for k, v in u.aliases.items() if v in accepted})
            hit = folded.get(" ".join(got.split()).upper())
            if hit is not None:
                df.at[i, u.variable] = hit
                shown_got = _text(raw.at[i, u.variable]) if u.variable in raw.columns else got
                problems.append(Problem("warning", file, int(rows[i]), u.variable, shown_got, "unit_normalised",
                                        f"read as '{hit}' (wrong case or blanks); tolerated, but please correct "
                                        f"the export"))
            else:
                what = f" ({u.value} {_text(value[i])})" if u.value and not pd.isna(value[i]) else ""
                problems.append(Problem("error", file, int(rows[i]), u.variable, got, "unit_invalid",
                                        f"{u.variable} for {u.by} {by[i]} must be {shown}, not '{got}'{what}: "
                                        f"convert the result to {shown} (or correct the unit if the number "
                                        f"already is in {shown})"))
    return df, problems


# --- the pandera schema ---------------------------------------------------------------------


def _schema(spec: DomainSpec, columns: list[str], parsed: dict[str, pd.DataFrame] | None = None
            ) -> tuple[pa.DataFrameSchema, dict[tuple[str, str], str]]:
    """The per-variable schema of a domain and the message of each (variable, rule)."""
    messages: dict[tuple[str, str], str] = {}
    checks: dict[str, list[pa.Check]] = {}

    def add(var: str, rule: str, fn, message: str, ignore_na: bool = True) -> None:
        checks.setdefault(var, []).append(pa.Check(fn, name=rule, ignore_na=ignore_na))
        messages[(var, rule)] = message

    for var in spec.nonmissing:
        add(var, "value_missing", lambda s: s.notna(), f"{var} is empty: every {spec.code} record needs it; "
            f"fill it in", ignore_na=False)
    for var in spec.numeric_all:
        add(var, "not_numeric", lambda s: _finite(_numbers(s)),
            f"{var} must be a number (digits and a decimal point, e.g. 12.5)")
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
    parsed = {} if parsed is None else parsed  # each date column is parsed once for every check

    def problem_of(var: str, s: pd.Series) -> pd.Series:
        if var not in parsed or not parsed[var].index.equals(s.index):
            parsed[var] = dates.parse_dtc(s)
        return parsed[var]["problem"]

    for var in spec.dates:
        add(var, "dtc_not_iso8601", lambda s, v=var: problem_of(v, s).ne("dtc_not_iso8601").fillna(True),
            f"{var} is not an ISO 8601 date (YYYY-MM-DD, YYYY-MM-DDThh:mm, or partial: YYYY-MM, YYYY)")
        add(var, "dtc_impossible_date",
            lambda s, v=var: problem_of(v, s).ne("dtc_impossible_date").fillna(True),
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
        messages[(var, "variable_missing")] = (
            f"required variable {var} of {spec.code} is missing: the file has no column {var}; add it "
            f"(or correct the spelling of its header)")
    return pa.DataFrameSchema(schema_cols, strict=False, coerce=False), messages


def _run_schema(df: pd.DataFrame, spec: DomainSpec, file: str, parsed: dict[str, pd.DataFrame] | None = None
                ) -> list[Problem]:
    schema, messages = _schema(spec, [c for c in df.columns if c != ROW_COL], parsed)
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
        problems.append(_explain(Problem("error", file, row, var, _text(case.failure_case), rule,
                                         messages.get((var, rule), rule))))
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


def _date_checks(df: pd.DataFrame, spec: DomainSpec, file: str, parsed: dict[str, pd.DataFrame] | None = None
                 ) -> list[Problem]:
    rows = _rows(df)
    problems = []
    cache = parsed or {}
    for var in spec.dates:
        if var not in df.columns:
            continue
        parsed = cache.get(var)
        if parsed is None or not parsed.index.equals(df.index):
            parsed = dates.parse_dtc(df[var])
        for i in df.index[parsed["status"].eq("no_year").fillna(False)]:
            problems.append(Problem("warning", file, int(rows[i]), var, df.at[i, var], "dtc_missing_year",
                                    f"{var} has no year: a year is never imputed (SAP §3), so analyses that "
                                    f"need this date cannot use the record; give the year if it is known"))
        if var == spec.primary_date and var not in spec.nonmissing:
            for i in df.index[parsed["status"].eq("empty").fillna(False)]:
                problems.append(Problem("warning", file, int(rows[i]), var, "", "dtc_missing",
                                        f"{var} is empty: the record cannot be placed relative to the data cut "
                                        f"and is kept; give the date if it is known"))
    for start, end in spec.periods:
        if start not in df.columns or end not in df.columns:
            continue
        first = dates.earliest_possible(df[start])
        last = dates.latest_possible(df[end])
        bad = (last < first).fillna(False)
        for i in df.index[bad]:
            problems.append(Problem("error", file, int(rows[i]), end, df.at[i, end], "end_before_start",
                                    f"{end} {df.at[i, end]} is before {start} {df.at[i, start]} of the same "
                                    f"record; correct one of the two dates"))
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
                                    f"{int(first_row[k])}: {spec.code} has one record per "
                                    f"{'subject' if rule == 'usubjid_duplicate' else '/'.join(key)}; "
                                    f"remove the duplicate or correct the identifier"))
    seq = spec.seq
    if seq and seq in df.columns and "USUBJID" in df.columns:
        num = _numbers(df[seq])
        sub = pd.DataFrame({"u": df["USUBJID"], "s": num, "r": rows}).dropna(subset=["u", "s"])
        dup = sub.duplicated(["u", "s"], keep="first")
        first_row = sub.drop_duplicates(["u", "s"]).set_index(["u", "s"])["r"]
        for i in sub.index[dup]:
            u, s_ = sub.at[i, "u"], sub.at[i, "s"]
            problems.append(Problem("error", file, int(rows[i]), seq, _text(df.at[i, seq]), "seq_duplicate",
                                    f"{seq} {_text(df.at[i, seq])} of {u} is also in row {int(first_row[(u, s_)])}: "
                                    f"{seq} must number each record of a subject once (SUPP-- records and "
                                    f"links refer to it); renumber, or remove the duplicate record"))
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
                                    f"not a {t.variable} of the contract: kept, but its units and ranges are "
                                    f"not checked and no analysis uses it"))
    for var, rule in spec.expected:
        if var in df.columns:
            for i in df.index[df[var].isna()]:
                problems.append(Problem("warning", file, int(rows[i]), var, "", rule,
                                        f"{var} is empty: {RULES.get(rule, ('', 'expected'))[1]}; the record is "
                                        f"counted, but not under a coded term: code it"))
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
                                        "usubjid_unknown",
                                        f"subject {df.at[i, 'USUBJID']} is not in DM ({files.get('DM', 'dm')}): "
                                        f"correct the USUBJID, or add the subject to DM"))
    for code, df in frames.items():
        for ref in DOMAINS[code].refs:
            target = frames.get(ref.domain)
            if target is None or not set(ref.variables) <= set(df.columns) \
                    or not set(ref.target) <= set(target.columns):
                continue
            rows = _rows(df)
            sub = df[list(ref.variables)].dropna()
            var = ref.variables[-1]
            for i in _unknown_keys(sub, target[list(ref.target)]):
                key = tuple(sub.loc[i])
                problems.append(Problem(
                    ref.severity, files[code], int(rows[i]), var, _text(df.at[i, var]), ref.rule,
                    f"{'/'.join(_text(k) for k in key)} is not in {ref.domain} "
                    f"({'/'.join(ref.target)}){': ' + ref.what if ref.what else ''}; add the missing "
                    f"{ref.domain} record to {files.get(ref.domain, ref.domain.lower())} or correct {var}"))
    return problems


def _unknown_keys(keys: pd.DataFrame, known: pd.DataFrame) -> pd.Index:
    """Index of the rows of `keys` whose values (in column order) are no row of `known`
    (rows with an empty value in `known` do not count)."""
    known = known.dropna().drop_duplicates().set_axis(list(keys.columns), axis=1).assign(_known=True)
    found = keys.merge(known, on=list(keys.columns), how="left")["_known"].notna().to_numpy()
    return keys.index[~found]


def _levels_text(dose_levels: dict[str, float], tolerance: float) -> str:
    shown = ", ".join(f"{k} {float(v):.4g}" for k, v in dose_levels.items())
    return f"{shown} {CAR_T_DOSE_UNIT}, \u00b1{tolerance:.0%}"


def _dose_level_checks(ex: pd.DataFrame, file: str, dose_levels: dict[str, float], tolerance: float
                       ) -> list[Problem]:
    """Every CAR-T infusion's EXDOSE (cells/kg) matches a configured dose level within the relative
    tolerance (as ADSL matches the first one). Records whose EXDOSE is not a number, or whose
    EXDOSU is not cells/kg, are left to not_numeric / unit_invalid."""
    if not {"EXTRT", "EXDOSE"} <= set(ex.columns):
        return []
    rows = _rows(ex)
    cart = ex["EXTRT"].eq(CAR_T).fillna(False).astype(bool)
    if "EXDOSU" in ex.columns:
        cart &= (ex["EXDOSU"].isna() | ex["EXDOSU"].eq(CAR_T_DOSE_UNIT)).fillna(False).astype(bool)
    dose = _numbers(ex["EXDOSE"])
    levels = {k: float(v) for k, v in dose_levels.items()}
    allowed = _levels_text(levels, tolerance)
    empty = ex["EXDOSE"].isna().to_numpy()
    matched = pd.Series(False, index=ex.index)
    for v in levels.values():
        matched |= ((dose - v).abs() <= tolerance * v).fillna(False)
    bad = cart & (pd.Series(empty, index=ex.index) | (dose.notna() & ~matched))
    problems = []
    for i in ex.index[bad]:
        who = _text(ex.at[i, "USUBJID"]) if "USUBJID" in ex.columns else "the subject"
        if pd.isna(ex.at[i, "EXDOSE"]):
            problems.append(Problem("error", file, int(rows[i]), "EXDOSE", "", "dose_level_unknown",
                                    f"EXDOSE is empty for a {CAR_T} infusion of {who}: its dose level cannot be "
                                    f"determined; give the dose in {CAR_T_DOSE_UNIT} (configured levels: "
                                    f"{allowed})"))
        else:
            problems.append(Problem("error", file, int(rows[i]), "EXDOSE", _text(ex.at[i, "EXDOSE"]),
                                    "dose_level_unknown",
                                    f"{CAR_T} dose {dose[i]:.4g} {CAR_T_DOSE_UNIT} of {who} matches no configured "
                                    f"dose level ({allowed}); correct EXDOSE, or, if this level is part of the "
                                    f"protocol, add it to dose_levels in config/config.yaml"))
    return problems


def _death_dates(frames: dict[str, pd.DataFrame], files: dict[str, str]) -> pd.DataFrame:
    """Per subject: the latest possible death day, as ADSL takes it (DM DTHDTC, else the DS
    DEATH record), with the value, file and row it comes from."""
    parts = []
    dm = frames.get("DM")
    if dm is not None and {"USUBJID", "DTHDTC"} <= set(dm.columns):
        parts.append(pd.DataFrame({"USUBJID": dm["USUBJID"], "var": "DTHDTC", "dtc": dm["DTHDTC"],
                                   "file": files.get("DM", "dm"), "row": _rows(dm), "prio": 0}))
    ds = frames.get("DS")
    if ds is not None and {"USUBJID", "DSDECOD", "DSSTDTC"} <= set(ds.columns):
        death = ds[ds["DSDECOD"].eq("DEATH").fillna(False).astype(bool)]
        parts.append(pd.DataFrame({"USUBJID": death["USUBJID"], "var": "DSSTDTC (DSDECOD DEATH)",
                                   "dtc": death["DSSTDTC"], "file": files.get("DS", "ds"),
                                   "row": _rows(death), "prio": 1}))
    if not parts:
        return pd.DataFrame(columns=["USUBJID", "var", "dtc", "file", "row", "day"])
    d = pd.concat(parts, ignore_index=True)
    d = d[d["USUBJID"].notna() & d["dtc"].notna()].copy()
    d["day"] = dates.latest_possible(d["dtc"])
    d = d[d["day"].notna()].sort_values(["USUBJID", "prio", "row"], kind="stable")
    return d.drop_duplicates("USUBJID").set_index("USUBJID")


def _after_death_checks(frames: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Problem]:
    """No infusion starts after the subject's death (on the day of death is possible)."""
    ex = frames.get("EX")
    if ex is None or not {"USUBJID", "EXSTDTC"} <= set(ex.columns):
        return []
    death = _death_dates(frames, files)
    if death.empty:
        return []
    start = dates.earliest_possible(ex["EXSTDTC"])
    died = ex["USUBJID"].map(death["day"])
    bad = (start > died).fillna(False).astype(bool)
    rows = _rows(ex)
    problems = []
    for i in ex.index[bad]:
        u = ex.at[i, "USUBJID"]
        d = death.loc[u]
        problems.append(Problem("error", files["EX"], int(rows[i]), "EXSTDTC", _text(ex.at[i, "EXSTDTC"]),
                                "ex_after_death",
                                f"infusion of {_text(ex.at[i, 'EXTRT']) or 'a product'} on {ex.at[i, 'EXSTDTC']} "
                                f"after the death of {u} ({d['var']} {d['dtc']} in {d['file']} row {int(d['row'])}); "
                                f"correct the infusion date here or the death date there"))
    return problems


def _dlt_checks(frames: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Problem]:
    """A DLT (AEDLT = Y) is called on a subject who received CAR-T: the DLT analysis counts DLTs
    of CAR-T subjects by their CAR-T dose level, so any other flag would be dropped silently."""
    ae, ex = frames.get("AE"), frames.get("EX")
    if ae is None or ex is None or "AEDLT" not in ae.columns or not {"USUBJID", "EXTRT"} <= set(ex.columns) \
            or "USUBJID" not in ae.columns:
        return []
    cart = set(ex.loc[ex["EXTRT"].eq(CAR_T).fillna(False).astype(bool), "USUBJID"].dropna())
    bad = (ae["AEDLT"].eq("Y") & ae["USUBJID"].notna() & ~ae["USUBJID"].isin(list(cart))).fillna(False)
    supp_file, supp_rows = ae.attrs.get("supp_rows", {}).get("AEDLT", (None, {}))
    rows = _rows(ae)
    problems = []
    for i in ae.index[bad.astype(bool)]:
        ae_row = int(rows[i])
        seq = _text(ae.at[i, "AESEQ"]) if "AESEQ" in ae.columns else "?"
        term = _text(ae.at[i, "AEDECOD"]) if "AEDECOD" in ae.columns else ""
        term = term or (_text(ae.at[i, "AETERM"]) if "AETERM" in ae.columns else "")
        record = f"{files['AE']} row {ae_row} (AESEQ {seq}{', ' + term if term else ''})"
        if supp_file and ae_row in supp_rows:
            file, row, where = supp_file, supp_rows[ae_row], f"for the AE of {record}"
        else:
            file, row, where = files["AE"], ae_row, "on this AE"
        problems.append(Problem("error", file, row, "AEDLT", "Y", "dlt_without_car_t",
                                f"a dose-limiting toxicity (AEDLT = Y) {where}, but {ae.at[i, 'USUBJID']} has no "
                                f"{CAR_T} infusion in {files['EX']}: a DLT is attributed to a CAR-T dose level; "
                                f"correct AEDLT, or add the missing CAR-T infusion to {files['EX']}"))
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


def validate(domains: dict[str, pd.DataFrame], meta: dict | None = None, *,
             dose_levels: dict[str, float] | None = None, dose_tolerance: float = 0.05) -> list[Problem]:
    return validate_and_normalise(domains, meta, dose_levels=dose_levels, dose_tolerance=dose_tolerance)[0]


def validate_and_normalise(domains: dict[str, pd.DataFrame], meta: dict | None = None, *,
                           dose_levels: dict[str, float] | None = None, dose_tolerance: float = 0.05
                           ) -> tuple[list[Problem], dict[str, pd.DataFrame]]:
    """Check the domains read from an export against the input contract.

    ``domains``: frames as ``analysis.io.read_export`` returns them (text columns, the hidden
    row-number column). ``meta``: names the file of each domain, either ``{domain: file}`` or
    the ``{file: sha256}`` dict of ``read_export`` (a frame's ``attrs["source_file"]`` wins).
    ``dose_levels`` (``{"DL1": 1.5e7, ...}`` cells/kg, the ``dose_levels`` setting) and
    ``dose_tolerance`` (relative, ``dose_match_tolerance``): every CAR-T infusion must match a
    level; without ``dose_levels`` that check is not run.
    Returns the problems (errors and warnings), sorted; nothing is raised or changed.
    ``validate_and_normalise`` also returns the frames ``normalise`` gives, from the same pass.
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
                                        f"required domain {code} is not in the export: add "
                                        f"{code.lower()}.csv, {code.lower()}.xpt or {code.lower()}.parquet "
                                        f"to the export folder"))
            continue
        if len(df) == 0:
            problems.append(Problem("warning", file, None, "", "", "domain_no_records",
                                    f"the file has a header row but no records: {code} is analysed as empty "
                                    f"(every analysis that needs it will show no data); check that the export "
                                    f"is complete"))
        clean = _clean(df)
        canon, probs = _canonicalise(clean, spec, file, raw=df)
        problems.extend(probs)
        parsed: dict[str, pd.DataFrame] = {}
        problems.extend(_run_schema(canon, spec, file, parsed))
        problems.extend(_conditional_ranges(canon, spec, file))
        problems.extend(_date_checks(canon, spec, file, parsed))
        problems.extend(_key_checks(canon, spec, file))
        problems.extend(_content_warnings(canon, spec, file))
        frames[code] = canon
        files[code] = file
    problems.extend(_cross_checks(frames, files))
    if dose_levels is not None and "EX" in frames:
        problems.extend(_dose_level_checks(frames["EX"], files["EX"], dose_levels, dose_tolerance))
    problems.extend(_after_death_checks(frames, files))
    problems.extend(_dlt_checks(frames, files))
    typed = {code: _typed(frames[code], DOMAINS[code], domains[code]) for code in domains if code in frames}
    return sort_problems(_aggregate(problems)), typed


def _typed(canon: pd.DataFrame, spec: DomainSpec | None, source: pd.DataFrame) -> pd.DataFrame:
    out = canon.copy()
    if spec is not None:
        for var in spec.numeric_all:
            if var in out.columns:
                out[var] = _numbers(out[var])
    out.attrs = dict(source.attrs)
    return out


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
        out[code] = _typed(clean, spec, df)
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
