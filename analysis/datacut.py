"""The data cut, applied once, at ingestion (SAP §3).

A record is excluded when the *earliest possible* date of its domain's primary date
(``analysis.contract``: AESTDTC, EXSTDTC, LBDTC, ...) is after the cut: a partial date that may
still fall on or before the cut is kept (``2026-10`` with a cut of 2026-10-15 is kept), and a
record without a usable date (empty, no year) is kept (validation warned about it).
DM has no primary date: its records are all kept, but a death (DTHDTC) after the cut is not
an event, so DTHDTC and DTHFL are blanked and counted.
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd

from analysis import dates
from analysis.contract import DOMAINS

__all__ = ["apply_data_cut", "as_cut_date"]


def as_cut_date(cut) -> pd.Timestamp:
    """A cut given as a date, datetime, Timestamp or ``YYYY-MM-DD`` -> Timestamp at midnight."""
    if isinstance(cut, str):
        parsed = dates.to_date(pd.Series([cut])).iloc[0]
        if pd.isna(parsed):
            raise ValueError(f"data cut {cut!r} is not a full ISO 8601 date (YYYY-MM-DD)")
        return pd.Timestamp(parsed)
    if isinstance(cut, (_dt.date, pd.Timestamp)):
        return pd.Timestamp(cut).normalize()
    raise TypeError(f"data cut must be a date or 'YYYY-MM-DD', not {type(cut).__name__}")


def apply_data_cut(domains: dict[str, pd.DataFrame], cut) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Apply the data cut. Returns the cut domains (new frames, index reset, ``attrs`` kept) and
    a summary with one row per domain: ``domain``, ``records_in``, ``records_excluded``,
    ``values_blanked`` (DM: deaths after the cut)."""
    day = as_cut_date(cut)
    out: dict[str, pd.DataFrame] = {}
    rows = []
    for code, df in domains.items():
        spec = DOMAINS.get(code)
        n_in = len(df)
        excluded = blanked = 0
        new = df.copy()
        if code == "DM" and "DTHDTC" in df.columns:
            after = (dates.earliest_possible(df["DTHDTC"]) > day).to_numpy()
            blanked = int(after.sum())
            if blanked:
                for var in ("DTHDTC", "DTHFL"):
                    if var in new.columns:
                        new[var] = new[var].astype("string").mask(after, pd.NA)
        elif spec is not None and spec.primary_date and spec.primary_date in df.columns:
            after = (dates.earliest_possible(df[spec.primary_date]) > day).to_numpy()
            excluded = int(after.sum())
            new = new.loc[~after]
        new = new.reset_index(drop=True)
        new.attrs = dict(df.attrs)
        out[code] = new
        rows.append({"domain": code, "records_in": n_in, "records_excluded": excluded, "values_blanked": blanked})
    summary = pd.DataFrame(rows, columns=["domain", "records_in", "records_excluded", "values_blanked"])
    return out, summary
