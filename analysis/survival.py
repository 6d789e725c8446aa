"""Kaplan-Meier estimates as SAS PROC LIFETEST gives them by default (SAP §7).

* Survival Ŝ(t) = Π_{t_j <= t} (1 - d_j / n_j) over the distinct event times t_j.
* Pointwise 95% CI with the log(-log) transform (LIFETEST ``CONFTYPE=LOGLOG``, the
  default): Ŝ(t) ** exp(± z · s(t) / log Ŝ(t)), s(t)² = Σ_{t_j <= t} d_j / (n_j (n_j - d_j))
  (Greenwood). lifelines' KaplanMeierFitter uses the same formula for its bands
  (tests/test_survival.py checks it), but it sets both limits to 1 where Ŝ = 0 and
  reads medians with "<=", so the quantiles below are computed here.
* Median (LIFETEST's quantile rule): the smallest t with Ŝ(t) < 0.5; when Ŝ equals 0.5
  exactly from t_j to the next event time t_{j+1}, the midpoint (t_j + t_{j+1}) / 2.
* Its 95% CI (Brookmeyer and Crowley, 1982, with the log-log transform, as LIFETEST):
  the set of times where |g(Ŝ(t)) - g(0.5)| <= z · s(t) / |log Ŝ(t)|, g(x) = log(-log x)
  -- equivalently where the pointwise log-log band contains 0.5. Lower limit = the
  first event time in the set; upper limit = the event time where the set ends (the
  first later event time outside it), missing when the set runs to the end of
  follow-up.
* Median follow-up: the reverse Kaplan-Meier (censorings counted as events, events
  as censorings), same median rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

METHOD = ("Kaplan-Meier; 95% CI of survival by the log(-log) transform (Greenwood variance); "
          "95% CI of the median by Brookmeyer-Crowley with the log(-log) transform "
          "(as SAS PROC LIFETEST's default)")


@dataclass(frozen=True)
class Estimate:
    value: float | None
    lcl: float | None = None
    ucl: float | None = None
    reason: str | None = None       # why the value is missing
    ci_reason: dict[str, str] | None = None   # why a limit is missing: {"lcl"/"ucl": text}


def km_table(time, event) -> pd.DataFrame:
    """Kaplan-Meier table at every distinct time (events and censorings): n_risk,
    n_event, n_censor, surv, the Greenwood sum (``gw``) and the log-log CI."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    if len(t) == 0:
        return pd.DataFrame(columns=["time", "n_risk", "n_event", "n_censor", "surv", "gw", "lcl", "ucl"])
    df = pd.DataFrame({"t": t, "e": e})
    g = df.groupby("t")["e"].agg(n_event="sum", n="size").reset_index()
    g["n_censor"] = g["n"] - g["n_event"]
    g["n_risk"] = len(t) - g["n"].cumsum().shift(fill_value=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g["surv"] = np.cumprod(1 - g["n_event"] / g["n_risk"])
        term = np.where(g["n_risk"] > g["n_event"], g["n_event"] / (g["n_risk"] * (g["n_risk"] - g["n_event"])), np.nan)
    g["gw"] = np.cumsum(np.nan_to_num(term))
    g.loc[g["surv"] <= 0, "gw"] = np.nan
    lcl, ucl = loglog_ci(g["surv"].to_numpy(), g["gw"].to_numpy())
    g["lcl"], g["ucl"] = lcl, ucl
    return g.rename(columns={"t": "time"})[["time", "n_risk", "n_event", "n_censor", "surv", "gw", "lcl", "ucl"]]


def loglog_ci(surv, gw, level: float = 0.95):
    """Log(-log) pointwise CI. Where Ŝ = 1 the band is [1, 1]; where Ŝ = 0 it is
    undefined (NaN)."""
    z = norm.ppf(1 - (1 - level) / 2)
    s = np.asarray(surv, dtype=float)
    v = np.asarray(gw, dtype=float)
    lcl = np.full(len(s), np.nan)
    ucl = np.full(len(s), np.nan)
    one = s >= 1
    lcl[one] = ucl[one] = 1.0
    mid = (s > 0) & (s < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.log(s[mid])
        k = z * np.sqrt(v[mid]) / ls          # negative
        lcl[mid] = s[mid] ** np.exp(-k)       # exp(+z s/|log S|) > 1 -> smaller
        ucl[mid] = s[mid] ** np.exp(k)
    return lcl, ucl


def _event_rows(tab: pd.DataFrame) -> pd.DataFrame:
    return tab[tab["n_event"] > 0].reset_index(drop=True)


def km_median(tab: pd.DataFrame, level: float = 0.95) -> Estimate:
    """Median and its Brookmeyer-Crowley log-log CI from a ``km_table``."""
    ev = _event_rows(tab)
    if not len(ev):
        return _missing("not reached (no event)")
    s = ev["surv"].to_numpy()
    times = ev["time"].to_numpy()
    below = np.nonzero(s < 0.5 - 1e-12)[0]
    at_half = np.nonzero(np.abs(s - 0.5) <= 1e-12)[0]
    reason = None
    med = None
    if len(at_half) and (not len(below) or at_half[0] < below[0]):
        j = at_half[0]
        if j + 1 < len(times):
            med = float((times[j] + times[j + 1]) / 2)
        else:
            reason = "not reached (survival stays at 50% to the end of follow-up)"
    elif len(below):
        med = float(times[below[0]])
    else:
        reason = "not reached (survival above 50% at the end of follow-up)"
    # Brookmeyer-Crowley: event times whose log-log band contains 0.5.
    lcl_b, ucl_b = loglog_ci(s, ev["gw"].to_numpy(), level)
    inside = (lcl_b <= 0.5 + 1e-12) & (ucl_b >= 0.5 - 1e-12) & (s > 0) & (s < 1)
    idx = np.nonzero(inside)[0]
    ci_reason: dict[str, str] = {}
    lo = hi = None
    if not len(idx):
        why = "not estimable (no event time where the confidence band contains 50%)"
        ci_reason = {"lcl": why, "ucl": why}
    else:
        lo = float(times[idx[0]])
        last = idx[-1]
        if last + 1 < len(times):
            hi = float(times[last + 1])
        else:
            ci_reason["ucl"] = "not reached (the confidence band contains 50% to the end of follow-up)"
    return Estimate(med, lo, hi, reason, ci_reason or None)


def _missing(why: str) -> Estimate:
    return Estimate(None, None, None, why, {"lcl": why, "ucl": why})


def km_at(tab: pd.DataFrame, t: float) -> Estimate:
    """Ŝ(t) with its log-log CI: the estimate at the last time <= t. Missing when
    follow-up ends before t with Ŝ > 0 (no one is observed up to t). Where Ŝ(t) = 1
    (no event yet) or 0 the log-log CI is undefined and left missing."""
    if not len(tab):
        return _missing("no subject")
    if tab["time"].max() < t and tab["surv"].iloc[-1] > 0:
        return _missing(f"not estimable (follow-up ends before day {t:g}, longest {tab['time'].max():g} days)")
    before = tab[tab["time"] <= t]
    if not len(before) or before["surv"].iloc[-1] >= 1:
        why = f"no event up to day {t:g}"
        return Estimate(1.0, None, None, None, {"lcl": why, "ucl": why})
    r = before.iloc[-1]
    if r["surv"] <= 0:
        return Estimate(0.0, None, None, None, {"lcl": f"survival is 0 at day {t:g}", "ucl": f"survival is 0 at day {t:g}"})
    return Estimate(float(r["surv"]), float(r["lcl"]), float(r["ucl"]))


def reverse_km_median(time, event) -> Estimate:
    """Median follow-up by the reverse Kaplan-Meier method (censorings as events)."""
    e = 1 - np.asarray(event, dtype=int)
    est = km_median(km_table(time, e))

    def fu(x):
        return (x.replace("not reached (no event)", "not estimable (no censored subject)")
                .replace("survival", "the reverse KM curve") if x else x)
    return Estimate(est.value, est.lcl, est.ucl, fu(est.reason),
                    {k: fu(v) for k, v in est.ci_reason.items()} if est.ci_reason else None)


def at_risk(time, grid) -> list[int]:
    """Subjects at risk at each grid time (time >= t; AVAL counts day 1 as 1, so all
    subjects are at risk at time 0)."""
    t = np.asarray(time, dtype=float)
    return [int((t >= g).sum()) for g in grid]


def risk_grid(max_time: float, month: float = 30.4375) -> list[float]:
    """Grid of the number-at-risk rows (days): every 1, 2, 3 or 6 months, by length."""
    months = max_time / month if max_time and not math.isnan(max_time) else 0
    step = 1 if months <= 6 else 2 if months <= 18 else 3 if months <= 36 else 6
    n = int(months // step) + 1
    return [k * step * month for k in range(n + 1)]
