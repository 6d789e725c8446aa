"""ISO 8601 dates of SDTM ``--DTC`` variables, full or partial, and the SAP's imputation rules.

Accepted forms (after stripping blanks)::

    YYYY                  partial_month  (month and day unknown)
    YYYY-MM               partial_day    (day unknown)
    YYYY---DD             partial_month  (SDTM notation for an unknown month; the day is ignored)
    YYYY-MM-DD            full
    YYYY-MM-DDThh:mm      full, with time
    YYYY-MM-DDThh:mm:ss   full, with time (a decimal fraction of seconds is accepted and ignored)
    --MM-DD, -----DD, ... no_year        (SDTM notation for an unknown year; never imputed)

Anything else, and impossible dates or times (2026-02-30, month 13, hour 24, or a year outside
what ``datetime64[ns]`` can hold: 1678-2261), is ``invalid``.

SAP §3: AE start -> earliest possible date, but not before the first infusion when the known parts
allow it to be on or after it (``impute_dtc(how="first", floor=...)``); AE end, death, last
contact -> latest possible date capped at the data cut (``impute_dtc(how="last", cap=...)``);
tumour assessments -> missing day is the last day of the month (``impute_day_last``). A missing
year is never imputed. Every imputed date carries a flag: ``D`` (day imputed) or ``M`` (month and
day imputed); full dates have an empty flag.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "STATUSES",
    "parse_dtc",
    "dtc_problem",
    "to_date",
    "to_datetime",
    "earliest_possible",
    "latest_possible",
    "impute_dtc",
    "impute_day_last",
    "per_distinct",
]

STATUSES = ("empty", "full", "partial_day", "partial_month", "no_year", "invalid")

_ISO_RE = (
    r"^(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"
    r")?)?$"
)
# SDTM notation for an unknown month with a known day: 2026---15 (optionally with a time).
_NO_MONTH_RE = r"^(?P<year>\d{4})---(?:\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
# SDTM notation for an unknown year: --03-15, -----15, -----T07:15 ...
_NO_YEAR_RE = r"^-[-0-9T:.]*$"
_NO_YEAR_MD_RE = r"^--(?P<month>\d{2})(?:-(?P<day>\d{2}))?(?:T.*)?$"
_NO_YEAR_D_RE = r"^-{4,5}(?P<day>\d{2})(?:T.*)?$"

_PARTS = ("year", "month", "day", "hour", "minute", "second")
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype="int64")
_MIN_YEAR, _MAX_YEAR = 1678, 2261  # the datetime64[ns] range

PROBLEM_NOT_ISO = "dtc_not_iso8601"
PROBLEM_IMPOSSIBLE = "dtc_impossible_date"
PROBLEM_NO_YEAR = "dtc_missing_year"


def per_distinct(values: pd.Series, fn):
    """``fn(values.astype("string"))``, computed once per distinct value and spread back to
    every row (all missing values count as one value), on the index of `values`. The same
    result for any `fn` that maps each row on its own, at the cost of the distinct values:
    dates, codes, units and results repeat a lot. `fn` gets the distinct values as a
    ``string`` Series named as `values`, and returns a Series or a frame on its index."""
    text = values.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="string", name=values.name)
    if (codes < 0).any():
        distinct = pd.concat([distinct, pd.Series([pd.NA], dtype="string", name=values.name)], ignore_index=True)
        codes = np.where(codes < 0, len(uniques), codes)
    return fn(distinct).take(codes).set_axis(values.index)


def _as_text(values) -> pd.Series:
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    out = values.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def _int(col: pd.Series) -> pd.Series:
    return pd.to_numeric(col, errors="coerce").astype("Int64")


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Vectorised days in month for int arrays (month 1..12)."""
    dim = _DAYS[np.clip(month, 1, 12) - 1].copy()
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    dim[(month == 2) & leap] = 29
    return dim


# The layouts most dates have, read by position instead of by regular expression:
# length -> positions of the (ASCII) digits of each part, and the separators.
_FIXED_WIDTH = 20  # one more than the longest layout, so that a longer text shows
_FIXED_PARTS = {"year": (0, 4), "month": (5, 7), "day": (8, 10), "hour": (11, 13), "minute": (14, 16),
                "second": (17, 19)}
_FIXED_LAYOUTS = {4: 1, 7: 2, 10: 3, 16: 5, 19: 6}  # length -> number of parts (YYYY ... YYYY-MM-DDThh:mm:ss)
_FIXED_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}


def _fixed_parts(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The dates written exactly as YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm or
    YYYY-MM-DDThh:mm:ss in ASCII digits, read without a regular expression (the same parts as
    ``_ISO_RE`` gives them). Returns a bool array of these rows and an int array (rows x 6
    parts, -1 where the layout has no such part)."""
    length = text.str.len().fillna(0).to_numpy(dtype="int64")
    rows = np.isin(length, list(_FIXED_LAYOUTS))
    parts = np.full((len(text), len(_PARTS)), -1, dtype="int64")
    if not rows.any():
        return rows, parts
    chars = np.array(text.to_numpy(dtype=object, na_value="")[rows], dtype=f"U{_FIXED_WIDTH}")
    code = chars.view(np.uint32).reshape(len(chars), _FIXED_WIDTH).astype("int64")
    digit = (code >= 48) & (code <= 57)
    sub_len = length[rows]
    n_parts = np.zeros(_FIXED_WIDTH, dtype="int64")
    n_parts[list(_FIXED_LAYOUTS)] = list(_FIXED_LAYOUTS.values())
    n_parts = n_parts[sub_len]
    ok = np.ones(len(chars), dtype=bool)
    sub = np.full((len(chars), len(_PARTS)), -1, dtype="int64")
    for k, (start, end) in enumerate(_FIXED_PARTS.values()):
        used = n_parts > k
        ok &= ~used | digit[:, start:end].all(axis=1)
        value = np.zeros(len(chars), dtype="int64")
        for pos in range(start, end):
            value = value * 10 + (code[:, pos] - 48)
        sub[used, k] = value[used]
    for pos, sep in _FIXED_SEPARATORS.items():
        ok &= (sub_len <= pos) | (code[:, pos] == ord(sep))
    where = np.flatnonzero(rows)
    rows[where[~ok]] = False
    parts[where[ok]] = sub[ok]
    return rows, parts


def _regex_parts(text: pd.Series) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Parts of any ``--DTC`` text by the regular expressions of the accepted forms. Returns
    the Int64 parts (NA when absent), and bool arrays: matched ``_ISO_RE``, matched the
    YYYY---DD notation only, and the notation of an unknown year."""
    index = text.index
    out = pd.DataFrame(index=index)
    parts = text.str.extract(_ISO_RE)
    for part in _PARTS:
        out[part] = _int(parts[part])
    matched = parts["year"].notna().to_numpy()

    no_month = text.str.extract(_NO_MONTH_RE)["year"]
    no_month_hit = no_month.notna().to_numpy() & ~matched
    if no_month_hit.any():
        out.loc[no_month_hit, "year"] = _int(no_month[no_month_hit])

    is_empty = text.isna().to_numpy()
    no_year = text.str.fullmatch(_NO_YEAR_RE).fillna(False).to_numpy(dtype=bool) & ~is_empty
    if no_year.any():
        md = text.str.extract(_NO_YEAR_MD_RE)
        d_only = text.str.extract(_NO_YEAR_D_RE)["day"]
        month = _int(md["month"]).where(pd.Series(no_year, index=index))
        day = _int(md["day"]).fillna(_int(d_only)).where(pd.Series(no_year, index=index))
        out["month"] = out["month"].mask(pd.Series(no_year, index=index), month)
        out["day"] = out["day"].mask(pd.Series(no_year, index=index), day)
    return out, matched, no_month_hit, no_year


def _split(text: pd.Series) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """``_regex_parts`` of every text, the common layouts read by ``_fixed_parts`` (the same
    result, without a regular expression per value)."""
    n = len(text)
    fixed, fixed_values = _fixed_parts(text)
    values = np.where(fixed_values >= 0, fixed_values, 0)
    absent = fixed_values < 0
    matched, no_month_hit, no_year = fixed.copy(), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    other = ~fixed & text.notna().to_numpy()
    if other.any():
        found, matched[other], no_month_hit[other], no_year[other] = _regex_parts(text[other])
        for k, part in enumerate(_PARTS):
            values[other, k] = found[part].to_numpy(dtype="int64", na_value=0)
            absent[other, k] = found[part].isna().to_numpy()
    out = pd.DataFrame({part: pd.arrays.IntegerArray(values[:, k].copy(), absent[:, k].copy())
                        for k, part in enumerate(_PARTS)}, index=text.index)
    return out, matched, no_month_hit, no_year


def parse_dtc(values) -> pd.DataFrame:
    """Parse ISO 8601 ``--DTC`` strings.

    Returns a frame on the index of ``values`` with Int64 columns ``year``, ``month``, ``day``,
    ``hour``, ``minute``, ``second`` (NA when absent), ``status`` (one of ``STATUSES``) and
    ``problem`` (``dtc_not_iso8601``, ``dtc_impossible_date``, ``dtc_missing_year`` or NA).
    Invalid values have all parts NA.
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    return per_distinct(values, _parse_text)


def _parse_text(values: pd.Series) -> pd.DataFrame:
    """``parse_dtc`` of every row of `values`."""
    text = _as_text(values)
    index = text.index
    n = len(text)
    if n == 0:
        out = pd.DataFrame(index=index)
        for part in _PARTS:
            out[part] = pd.Series(dtype="Int64")
        out["status"] = pd.Series(dtype="string")
        out["problem"] = pd.Series(dtype="string")
        return out

    out, matched, no_month_hit, no_year = _split(text)
    is_empty = text.isna().to_numpy()

    y = out["year"].fillna(2000).to_numpy(dtype="int64")
    m = out["month"].fillna(1).to_numpy(dtype="int64")
    d = out["day"].fillna(1).to_numpy(dtype="int64")
    hh = out["hour"].fillna(0).to_numpy(dtype="int64")
    mi = out["minute"].fillna(0).to_numpy(dtype="int64")
    ss = out["second"].fillna(0).to_numpy(dtype="int64")
    impossible = (
        (m < 1) | (m > 12) | (d < 1) | (d > _days_in_month(y, m)) | (hh > 23) | (mi > 59) | (ss > 59)
    )
    impossible_year = (y < _MIN_YEAR) | (y > _MAX_YEAR)
    impossible = (impossible | impossible_year) & (matched | no_month_hit)
    # for a missing year, check month/day against a leap year (Feb 29 is possible)
    if no_year.any():
        dm = out["month"].fillna(1).to_numpy(dtype="int64")
        dd = out["day"].fillna(1).to_numpy(dtype="int64")
        bad = (dm < 1) | (dm > 12) | (dd < 1) | (dd > _days_in_month(np.full(n, 2000), dm))
        impossible = impossible | (bad & no_year)

    has_day = out["day"].notna().to_numpy()
    has_month = out["month"].notna().to_numpy()
    status = np.full(n, "invalid", dtype=object)
    status[is_empty] = "empty"
    ok = (matched | no_month_hit) & ~impossible
    status[ok & has_day & has_month] = "full"
    status[ok & has_month & ~has_day] = "partial_day"
    status[ok & ~has_month] = "partial_month"
    status[no_year & ~impossible] = "no_year"

    problem = np.full(n, None, dtype=object)
    problem[(status == "invalid")] = PROBLEM_NOT_ISO
    problem[impossible] = PROBLEM_IMPOSSIBLE
    problem[status == "no_year"] = PROBLEM_NO_YEAR

    invalid = status == "invalid"
    if invalid.any():
        for part in _PARTS:
            out.loc[invalid, part] = pd.NA
    if no_month_hit.any():  # YYYY---DD: the day is not used
        out.loc[no_month_hit, "day"] = pd.NA
    out["status"] = pd.Series(status, index=index, dtype="string")
    out["problem"] = pd.Series(problem, index=index, dtype="string")
    return out


def dtc_problem(value) -> str | None:
    """None when ``value`` is a valid (or empty) ISO 8601 date, else a rule id:
    ``dtc_not_iso8601``, ``dtc_impossible_date`` or ``dtc_missing_year``."""
    problem = parse_dtc(pd.Series([value], dtype="object"))["problem"].iloc[0]
    return None if pd.isna(problem) else str(problem)


# --- building dates -------------------------------------------------------------------------


def _day_array(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    months = ((year - 1970) * 12 + (month - 1)).astype("datetime64[M]")
    return months.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")


def _series(arr: np.ndarray, index) -> pd.Series:
    return pd.Series(arr.astype("datetime64[ns]"), index=index, dtype="datetime64[ns]")


def _bounds(parsed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest possible day (datetime64[D], NaT when unknown) of parsed dates."""
    status = parsed["status"].to_numpy(dtype=object)
    y = parsed["year"].fillna(2000).to_numpy(dtype="int64")
    m = parsed["month"].fillna(1).to_numpy(dtype="int64")
    d = parsed["day"].fillna(1).to_numpy(dtype="int64")
    full = status == "full"
    pday = status == "partial_day"
    pmonth = status == "partial_month"
    lo = np.full(len(status), np.datetime64("NaT"), dtype="datetime64[D]")
    hi = lo.copy()
    if full.any():
        lo[full] = hi[full] = _day_array(y[full], m[full], d[full])
    if pday.any():
        lo[pday] = _day_array(y[pday], m[pday], np.ones(pday.sum(), dtype="int64"))
        hi[pday] = _day_array(y[pday], m[pday], _days_in_month(y[pday], m[pday]))
    if pmonth.any():
        k = pmonth.sum()
        lo[pmonth] = _day_array(y[pmonth], np.ones(k, dtype="int64"), np.ones(k, dtype="int64"))
        hi[pmonth] = _day_array(y[pmonth], np.full(k, 12, dtype="int64"), np.full(k, 31, dtype="int64"))
    return lo, hi


def _full_days(parsed: pd.DataFrame) -> np.ndarray:
    """The day (datetime64[D]) of each full date of parsed dates; NaT for the others."""
    lo, _ = _bounds(parsed)
    lo[parsed["status"].to_numpy(dtype=object) != "full"] = np.datetime64("NaT")
    return lo


def _per_date(values, day_of) -> pd.Series:
    """``day_of(parsed)`` (a datetime64 array from ``parse_dtc``'s frame) of each value, as a
    ``datetime64[ns]`` Series on the index of `values`; parsed and computed once per distinct
    value."""
    if not isinstance(values, pd.Series):
        values = pd.Series(values)

    def dates_of(distinct: pd.Series) -> pd.Series:
        parsed = _parse_text(distinct)
        return _series(day_of(parsed), parsed.index)

    return per_distinct(values, dates_of)


def _full_datetimes(parsed: pd.DataFrame) -> np.ndarray:
    """The date and time (datetime64[ns]) of each full date of parsed dates; NaT for the others."""
    day = _full_days(parsed).astype("datetime64[ns]")
    secs = (
        parsed["hour"].fillna(0).to_numpy(dtype="int64") * 3600
        + parsed["minute"].fillna(0).to_numpy(dtype="int64") * 60
        + parsed["second"].fillna(0).to_numpy(dtype="int64")
    )
    return day + secs.astype("timedelta64[s]")


def to_date(values) -> pd.Series:
    """Full dates as ``datetime64[ns]`` at midnight (time dropped); partial or invalid -> NaT."""
    return _per_date(values, _full_days)


def to_datetime(values) -> pd.Series:
    """Full dates as ``datetime64[ns]`` keeping the time when given; partial or invalid -> NaT."""
    return _per_date(values, _full_datetimes)


def earliest_possible(values) -> pd.Series:
    """Earliest day a (partial) date can be: YYYY -> Jan 1, YYYY-MM -> day 1; full -> the date.
    Missing year, invalid or empty -> NaT."""
    return _per_date(values, lambda parsed: _bounds(parsed)[0])


def latest_possible(values) -> pd.Series:
    """Latest day a (partial) date can be: YYYY -> Dec 31, YYYY-MM -> last day of the month;
    full -> the date. Missing year, invalid or empty -> NaT."""
    return _per_date(values, lambda parsed: _bounds(parsed)[1])


def _limit(limit, index) -> np.ndarray:
    """A floor/cap given as None, a scalar date or per-row dates -> datetime64[D] array."""
    n = len(index)
    if limit is None:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if isinstance(limit, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        s = pd.Series(limit, index=index) if not isinstance(limit, pd.Series) else limit.reindex(index)
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            ts = s
        elif s.dropna().map(lambda v: isinstance(v, (_dt.date, pd.Timestamp))).all():
            ts = pd.to_datetime(s)
        else:  # ISO strings: full dates only
            ts = to_date(s)
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        return ts.dt.normalize().to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    if pd.isna(limit):
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if isinstance(limit, str):
        limit = to_date(pd.Series([limit])).iloc[0]
    day = np.datetime64(pd.Timestamp(limit).date(), "D")
    return np.full(n, day, dtype="datetime64[D]")


def impute_dtc(
    values,
    how: Literal["first", "last"],
    floor=None,
    cap=None,
) -> tuple[pd.Series, pd.Series]:
    """Impute partial dates by the SAP's rules.

    ``how="first"``: the earliest possible date; when ``floor`` (a date, or one per row) lies
    inside the range the partial date allows, the floor itself (never before the floor when the
    known parts allow the date to be on or after it).
    ``how="last"``: the latest possible date; when ``cap`` (a date, or one per row) lies inside
    the range, the cap.
    Full dates are returned as they are (time dropped) with an empty flag. Missing year, invalid
    or empty -> NaT with an empty flag (never imputed).

    Returns ``(dates, flags)``: ``datetime64[ns]`` at midnight, and ``D`` (day imputed),
    ``M`` (month and day imputed) or ``""``.
    """
    if how not in ("first", "last"):
        raise ValueError(f"how must be 'first' or 'last', not {how!r}")
    parsed = parse_dtc(values)
    index = parsed.index
    lo, hi = _bounds(parsed)
    status = parsed["status"].to_numpy(dtype=object)
    partial = (status == "partial_day") | (status == "partial_month")
    if how == "first":
        result = lo.copy()
        fl = _limit(floor, index)
        with np.errstate(invalid="ignore"):
            use = partial & ~np.isnat(fl) & (fl > lo) & (fl <= hi)
        result[use] = fl[use]
    else:
        result = hi.copy()
        cp = _limit(cap, index)
        with np.errstate(invalid="ignore"):
            use = partial & ~np.isnat(cp) & (cp >= lo) & (cp < hi)
        result[use] = cp[use]
    flags = np.full(len(status), "", dtype=object)
    flags[status == "partial_day"] = "D"
    flags[status == "partial_month"] = "M"
    return _series(result, index), pd.Series(flags, index=index, dtype="string")


def impute_day_last(values) -> tuple[pd.Series, pd.Series]:
    """Tumour assessments: a missing day is the last day of the month (flag ``D``); a missing
    month (or year) is not imputed (NaT, empty flag). Full dates as they are (time dropped)."""
    parsed = parse_dtc(values)
    lo, hi = _bounds(parsed)
    status = parsed["status"].to_numpy(dtype=object)
    result = np.full(len(status), np.datetime64("NaT"), dtype="datetime64[D]")
    full = status == "full"
    pday = status == "partial_day"
    result[full] = lo[full]
    result[pday] = hi[pday]
    flags = np.where(pday, "D", "").astype(object)
    return _series(result, parsed.index), pd.Series(flags, index=parsed.index, dtype="string")
