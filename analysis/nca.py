"""Non-compartmental analysis of one concentration-time profile (SAP §9) and the
geometric summary statistics of its parameters.

Conventions (the rules QC reprograms; tests/test_nca.py works them by hand):

- **Profile.** Times are days since the reference infusion. Samples taken before the
  infusion count as time 0 (only the last of them is used); when a profile has no sample
  at time 0, C(0) = 0 is assumed (no CAR cells before the first infusion).
- **Below LLOQ** (SAP §9): 0 before the first quantifiable value, missing (dropped) after
  it. Samples not done are not samples.
- **Cmax / Tmax:** the highest quantifiable value and the time of its *first* occurrence.
  **Clast / Tlast:** the last quantifiable value and its time.
- **AUC:** linear-up log-down trapezoid: an interval whose concentration falls between
  two positive values uses the log trapezoid ``(C1 - C2) / ln(C1 / C2) * dt``; every
  other interval (rising, flat, or touching 0) the linear one. AUCs need at least two
  quantifiable values; with fewer they are missing with that reason.
- **AUC0-end** (``end`` = 28 days by default, PARAMCD ``AUC028``):
    * Tlast >= end: area from 0 to ``end``, the concentration at ``end`` interpolated
      between the samples around it (log-linear when falling, else linear);
    * Tlast < end and the profile had ended below LLOQ: a sample at or after ``end``,
      or a below-LLOQ sample after Tlast as the last sample taken: area from 0 to Tlast
      (the samples after Tlast are below LLOQ, which the SAP counts as missing, not 0,
      so no area is added after Tlast), with a note;
    * Tlast < end and the last sample taken, before ``end``, was quantifiable (sampling
      stopped mid-profile: data cut, death, the product's sampling schedule): missing,
      with the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PARAMS = ("CMAX", "TMAX", "AUC028", "AUCLST", "CLAST", "TLAST")


@dataclass
class Profile:
    """A profile ready for NCA: times (days, ascending) and concentrations with the BLQ
    rule applied (0 before the first quantifiable value; later BLQ samples dropped)."""
    t: np.ndarray
    c: np.ndarray
    n_quant: int
    last_sample: float  # time of the last sample done (quantifiable or BLQ); nan if none


@dataclass
class NCAResult:
    values: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # why a parameter is missing
    notes: dict[str, str] = field(default_factory=dict)    # how a present value was obtained


def prepare_profile(times, values, blq) -> Profile:
    """Apply the time-0 and BLQ conventions to raw samples.

    ``times``: days since the reference infusion (negative = before it); ``values``: the
    quantifiable concentrations (NaN where BLQ); ``blq``: True where the sample was below
    LLOQ. Samples that were not done must not be passed in.
    """
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    b = np.asarray(blq, dtype=bool)
    if not (len(t) == len(v) == len(b)):
        raise ValueError("times, values and blq must have the same length")
    ok = ~np.isnan(t) & (b | ~np.isnan(v))
    t, v, b = t[ok], v[ok], b[ok]
    # a quantifiable sample must be a positive number; 0 or less is below LLOQ
    b = b | ~(v > 0)
    order = np.argsort(t, kind="stable")
    t, v, b = t[order], v[order], b[order]
    last_sample = float(t[-1]) if len(t) else math.nan
    # pre-dose samples: only the last one, at time 0
    pre = np.flatnonzero(t <= 0)
    if len(pre) > 1:
        keep = np.ones(len(t), dtype=bool)
        keep[pre[:-1]] = False
        t, v, b = t[keep], v[keep], b[keep]
    t = np.where(t < 0, 0.0, t)
    q = np.flatnonzero(~b)
    if len(q) == 0:
        return Profile(np.array([]), np.array([]), 0, last_sample)
    first = q[0]
    keep = np.zeros(len(t), dtype=bool)
    keep[:first] = True          # BLQ before the first quantifiable value -> 0
    keep[q] = True               # quantifiable values
    c = np.where(b, 0.0, v)[keep]
    t = t[keep]
    if t[0] > 0:                 # no sample at time 0: C(0) = 0
        t = np.concatenate([[0.0], t])
        c = np.concatenate([[0.0], c])
    return Profile(t, c, len(q), last_sample)


def _is_log(c1: float, c2: float) -> bool:
    return c2 < c1 and c1 > 0 and c2 > 0


def segment_auc(t1: float, c1: float, t2: float, c2: float) -> float:
    """Area of one interval by the linear-up log-down rule."""
    dt = t2 - t1
    if _is_log(c1, c2):
        return (c1 - c2) / math.log(c1 / c2) * dt
    return (c1 + c2) / 2.0 * dt


def interpolate(t1: float, c1: float, t2: float, c2: float, t: float) -> float:
    """Concentration at t inside [t1, t2]: log-linear when falling between positive
    values, else linear (the same rule as the area)."""
    if t2 == t1:
        return c2
    f = (t - t1) / (t2 - t1)
    if _is_log(c1, c2):
        return c1 * math.exp(f * math.log(c2 / c1))
    return c1 + f * (c2 - c1)


def auc(t: np.ndarray, c: np.ndarray, end: float | None = None) -> float:
    """Linear-up log-down area from t[0] to ``end`` (default the last time)."""
    total = 0.0
    for i in range(len(t) - 1):
        t1, t2, c1, c2 = t[i], t[i + 1], c[i], c[i + 1]
        if end is not None and t2 > end:
            if end > t1:
                total += segment_auc(t1, c1, end, interpolate(t1, c1, t2, c2, end))
            break
        total += segment_auc(t1, c1, t2, c2)
    return total


def compute_nca(times, values, blq, auc_end: float = 28.0) -> NCAResult:
    """CMAX, TMAX, AUC028 (0 to ``auc_end``), AUCLST, CLAST, TLAST of one profile; a
    parameter that cannot be computed is NaN with its reason (module docstring)."""
    p = prepare_profile(times, values, blq)
    r = NCAResult()
    if p.n_quant == 0:
        for k in PARAMS:
            r.values[k] = math.nan
            r.reasons[k] = "no quantifiable sample"
        return r
    q = p.c > 0
    tq, cq = p.t[q], p.c[q]
    imax = int(np.argmax(cq))  # first occurrence of the maximum
    r.values["CMAX"] = float(cq[imax])
    r.values["TMAX"] = float(tq[imax])
    r.values["CLAST"] = float(cq[-1])
    r.values["TLAST"] = float(tq[-1])
    tlast = float(tq[-1])
    if p.n_quant < 2:
        for k in ("AUC028", "AUCLST"):
            r.values[k] = math.nan
            r.reasons[k] = "fewer than 2 quantifiable samples"
        return r
    # the profile up to Tlast (its last point is the last quantifiable value)
    upto = p.t <= tlast
    t, c = p.t[upto], p.c[upto]
    r.values["AUCLST"] = auc(t, c)
    if tlast >= auc_end:
        r.values["AUC028"] = auc(t, c, end=auc_end)
    elif p.last_sample > tlast:
        r.values["AUC028"] = r.values["AUCLST"]
        r.notes["AUC028"] = (f"area to Tlast (day {tlast:g}): the later samples (to day "
                             f"{p.last_sample:g}) were below LLOQ")
    else:
        r.values["AUC028"] = math.nan
        r.reasons["AUC028"] = (f"sampling ended before day {auc_end:g} with a quantifiable "
                               f"value (last sample on day {p.last_sample:g})")
    return r


# --------------------------------------------------------------------------- summaries

@dataclass
class GeoStats:
    n: int
    geomean: float
    geocv: float  # percent; NaN when n < 2


def geometric_stats(x) -> GeoStats:
    """Geometric mean and geometric CV% (100 * sqrt(exp(s^2) - 1), s = SD of the natural
    logs, n - 1 denominator). Missing values are ignored; a value of 0 or less is refused
    with a ValueError naming it, never dropped silently."""
    a = np.asarray([v for v in np.asarray(x, dtype=float) if not math.isnan(v)])
    if len(a) == 0:
        raise ValueError("geometric statistics need at least one value (none given)")
    bad = a[a <= 0]
    if len(bad):
        listed = ", ".join(f"{v:g}" for v in bad[:5])
        raise ValueError(f"geometric statistics are undefined for values <= 0: {len(bad)} of "
                         f"{len(a)} values are <= 0 ({listed})")
    logs = np.log(a)
    gm = float(np.exp(logs.mean()))
    if len(a) < 2:
        return GeoStats(len(a), gm, math.nan)
    s2 = float(np.var(logs, ddof=1))
    return GeoStats(len(a), gm, float(100.0 * math.sqrt(math.expm1(s2))))


def describe(x, geometric: bool = True) -> tuple[dict[str, float | int | None], dict[str, str]]:
    """n, geomean, geocv, median, min, max of the non-missing values, and the reasons of
    the statistics that are missing (stat -> reason)."""
    a = np.asarray([v for v in np.asarray(x, dtype=float) if not math.isnan(v)])
    stats: dict[str, float | int | None] = {"n": int(len(a))}
    reasons: dict[str, str] = {}
    if len(a) == 0:
        for k in ("geomean", "geocv", "median", "min", "max"):
            stats[k] = None
        reasons["all"] = "no subject with a value"
        return stats, reasons
    if not geometric:
        stats["geomean"] = stats["geocv"] = None
        reasons["geomean"] = reasons["geocv"] = "time parameter: median and range only"
    else:
        try:
            g = geometric_stats(a)
            stats["geomean"] = g.geomean
            stats["geocv"] = None if math.isnan(g.geocv) else g.geocv
            if math.isnan(g.geocv):
                reasons["geocv"] = "fewer than 2 values"
        except ValueError as err:
            stats["geomean"] = stats["geocv"] = None
            reasons["geomean"] = reasons["geocv"] = str(err)
    stats["median"] = float(np.median(a))
    stats["min"] = float(a.min())
    stats["max"] = float(a.max())
    return stats, reasons
