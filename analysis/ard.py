"""Analysis results data (ARD): one row per statistic, long format, exactly the
columns of the results contract. Tables, figures and report text read numbers
from here and nowhere else.

`value` holds the number at full precision as text (Python's shortest round-trip
repr, so float(value) gives back the same double), or the category where the
statistic is a category (e.g. an escalation level). A missing estimate is an empty
value with the reason in a companion row whose stat is `reason`.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from analysis.adsl import SETS
from analysis.atomic import atomic_path

COLUMNS = ["analysis", "group", "group_level", "variable", "variable_level", "stat", "value"]
OVERALL = "overall"
NO_CART = "NONE"  # group_level of DOSELVL for treated subjects without CAR-T


def fmt_value(v: Any) -> str:
    """Full-precision text of a statistic; '' for missing."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "Y" if v else "N"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        f = float(v)
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)
    if v is pd.NA or v is pd.NaT:
        return ""
    return str(v)


def rows(analysis: str, group: str, group_level: str, variable: str, variable_level: str,
         stats: dict[str, Any]) -> list[dict]:
    return [dict(analysis=analysis, group=group, group_level=str(group_level), variable=variable,
                 variable_level=str(variable_level or ""), stat=k, value=fmt_value(v))
            for k, v in stats.items()]


def frame(records: Iterable[dict]) -> pd.DataFrame:
    df = pd.DataFrame(list(records), columns=COLUMNS)
    return df.astype("string").fillna("")


def dose_groups(adsl: pd.DataFrame, mask: pd.Series, levels: list[str]) -> list[tuple[str, str, pd.Series]]:
    """(group, group_level, subject mask) for overall, each dose level and no-CAR-T."""
    dl = adsl["DOSELVL"].astype("string")
    out = [(OVERALL, OVERALL, mask)]
    for lvl in levels:
        out.append(("DOSELVL", lvl, mask & dl.eq(lvl).fillna(False)))
    out.append(("DOSELVL", NO_CART, mask & dl.isna() & adsl["SAFFL"].eq("Y")))
    return out


def ard_sets(adsl: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """`sets`: N per analysis set, overall and per dose level; exclusions by reason."""
    recs = []
    everyone = pd.Series(True, index=adsl.index)
    for flag, name, _label, rsn in SETS:
        for g, gl, m in dose_groups(adsl, everyone, levels):
            recs += rows("sets", g, gl, name, "", {"n": int((m & adsl[flag].eq("Y")).sum())})
        excl = adsl.loc[adsl[flag].ne("Y"), rsn].fillna("Unknown")
        for reason, n in sorted(excl.value_counts().items()):
            recs += rows("sets", OVERALL, OVERALL, name, reason, {"n_excluded": int(n)})
    recs += rows("sets", OVERALL, OVERALL, "SCREENED", "", {"n": len(adsl)})
    return frame(recs)


def derive_disposition_status(adsl: pd.DataFrame, ds: pd.DataFrame | None) -> pd.Series:
    """Status at the data cut per enrolled subject: the latest end-of-study/treatment
    disposition term (DS), or ONGOING when there is none."""
    status = pd.Series("ONGOING", index=adsl["USUBJID"].values, dtype="string")
    if ds is not None and len(ds):
        from analysis import dates
        d = ds.copy()
        d["_dec"] = d["DSDECOD"].astype("string").str.strip().str.upper()
        d = d[~d["_dec"].isin(["SCREEN FAILURE", "INFORMED CONSENT OBTAINED", "ENROLLED", "RANDOMIZED"])]
        d["_dt"], _ = dates.impute_dtc(d["DSSTDTC"], how="first")
        # Death outranks any other end-of-study term.
        d["_rank"] = (d["_dec"] == "DEATH").astype(int)
        last = d.sort_values(["USUBJID", "_rank", "_dt"]).groupby("USUBJID").tail(1)
        status.update(pd.Series(last["_dec"].values, index=last["USUBJID"].values))
    return status


def ard_disposition(adsl: pd.DataFrame, ds: pd.DataFrame | None, levels: list[str]) -> pd.DataFrame:
    """`disp`: enrolled subjects by status at the data cut, overall and per dose level."""
    status = derive_disposition_status(adsl, ds).reindex(adsl["USUBJID"].values)
    status.index = adsl.index
    enrolled = adsl["ENRLFL"].eq("Y")
    recs = rows("disp", OVERALL, OVERALL, "SCREENING", "SCREEN FAILURE",
                {"n": int((~enrolled).sum())})
    for g, gl, m in dose_groups(adsl, enrolled, levels):
        recs += rows("disp", g, gl, "ENROLLED", "", {"n": int(m.sum())})
        for term, n in sorted(status[m].value_counts().items()):
            recs += rows("disp", g, gl, "DSDECOD", term, {"n": int(n)})
    return frame(recs)


def ard_datacut(ingest_meta: dict) -> pd.DataFrame:
    """`datacut`: records read and excluded by the data cut per domain, and the domains
    absent from the export (from ingest.json), so that reports can say so."""
    recs = []
    for dom, r in sorted(ingest_meta.get("records", {}).items()):
        recs += rows("datacut", OVERALL, OVERALL, dom, "", {
            "n_read": int(r.get("read", 0)), "n_excluded": int(r.get("excluded_by_data_cut", 0))})
    recs += rows("datacut", OVERALL, OVERALL, "DM", "DTHDTC", {
        "n_deaths_after_cut_blanked": int(ingest_meta.get("deaths_after_cut_blanked", 0))})
    for dom in sorted(ingest_meta.get("domains_absent", [])):
        recs += rows("datacut", OVERALL, OVERALL, dom, "", {"absent": "Y"})
    return frame(recs)


def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One ARD from its parts, in a stable order, refusing duplicate statistics."""
    ard = pd.concat(parts, ignore_index=True)[COLUMNS].astype("string").fillna("")
    key = ["analysis", "group", "group_level", "variable", "variable_level", "stat"]
    dup = ard[ard.duplicated(key, keep=False)]
    if len(dup):
        raise ValueError(f"ARD has duplicate statistics:\n{dup.head(20).to_string()}")
    return ard.reset_index(drop=True)


def write_ard(ard: pd.DataFrame, parquet: Path, csv: Path) -> None:
    with atomic_path(parquet) as tmp:
        ard.to_parquet(tmp, index=False)
    with atomic_path(csv) as tmp:
        ard.to_csv(tmp, index=False, lineterminator="\n")


class ARD:
    """Read access to an ARD: `ard.get(...)` returns the value text of one statistic."""

    def __init__(self, df: pd.DataFrame):
        self.df = df.astype("string").fillna("")
        key = ["analysis", "group", "group_level", "variable", "variable_level", "stat"]
        self._ix = {tuple(r[:6]): r[6] for r in self.df[COLUMNS].itertuples(index=False, name=None)}
        # rows of each analysis (positions in order): select() filters one analysis's
        # rows instead of scanning the whole ARD's string columns at every call
        self._rows = {k: v for k, v in self.df.groupby("analysis", sort=False).indices.items()}
        self._analyses = set(self._rows)

    @classmethod
    def read(cls, path) -> "ARD":
        """The ARD file, or the ARD parts a step reads (a list of part files): a table
        reads only the parts it shows, so it reruns only when they change."""
        if isinstance(path, (str, Path)):
            return cls(pd.read_parquet(path))
        return cls(combine([pd.read_parquet(p) for p in path]))

    def _require(self, analysis) -> None:
        """A missing statistic of an analysis the ARD does not hold at all is most likely
        a step whose rule does not read the ARD part that holds it: say so."""
        if analysis not in self._analyses:
            raise KeyError(f"ARD has no analysis {analysis!r}: does the step's rule read the "
                           f"ARD part that holds it? (the parts read hold {sorted(self._analyses)})")

    def get(self, analysis, variable, stat, group=OVERALL, group_level=OVERALL, variable_level="") -> str:
        k = (analysis, group, group_level, variable, variable_level, stat)
        if k not in self._ix:
            self._require(analysis)
            raise KeyError(f"ARD has no statistic {k}")
        return self._ix[k]

    def num(self, *a, **k) -> float:
        v = self.get(*a, **k)
        return float(v) if v != "" else math.nan

    def int(self, *a, **k) -> int:
        return int(float(self.get(*a, **k)))

    def select(self, **eq) -> pd.DataFrame:
        df = self.df
        if "analysis" in eq:
            eq = dict(eq)
            df = df.iloc[self._rows.get(eq.pop("analysis"), [])]
        m = pd.Series(True, index=df.index)
        for c, v in eq.items():
            m &= df[c].eq(v)
        return df[m]
