"""Kaplan-Meier estimates checked against values worked out by hand.

Method (SAS PROC LIFETEST defaults, SAP §7):
  Ŝ(t) = Π (1 - d_j/n_j); Greenwood sum G(t) = Σ d_j / (n_j (n_j - d_j));
  log(-log) 95% band: Ŝ^exp(+z·√G/|ln Ŝ|) (lower) and Ŝ^exp(-z·√G/|ln Ŝ|) (upper), z = 1.959964;
  median = first event time with Ŝ < 0.5 (midpoint to the next event time when Ŝ = 0.5);
  Brookmeyer-Crowley CI = event times whose band contains 0.5: lower limit = the first
  one, upper limit = the event time where the set ends (missing if it never ends).

Data set A (n = 10; "+" censored): 2, 3, 4+, 5, 6, 6, 8+, 9, 11, 12+

  t   n  d   Ŝ                      G                          lower     upper
  2  10  1   0.9                    1/90          = 0.011111   0.473009  0.985281
  3   9  1   0.8                    + 1/72        = 0.025000   0.408691  0.945873
  5   7  1   0.8·6/7   = 0.685714   + 1/42        = 0.048810   0.304585  0.887148
  6   6  2   ·4/6      = 0.457143   + 2/24        = 0.132143   0.142982  0.729779
  9   3  1   ·2/3      = 0.304762   + 1/6         = 0.298810   0.053534  0.617368
 11   2  1   ·1/2      = 0.152381   + 1/2         = 0.798810   0.008450  0.476405

  e.g. t = 2: |ln 0.9| = 0.105361, √G = 0.105409, z·√G/|ln Ŝ| = 1.960876, e^1.960876 = 7.1055,
  lower = 0.9^7.1055 = 0.4730, upper = 0.9^(1/7.1055) = 0.9853.
  Median: Ŝ first < 0.5 at t = 6 -> 6. Band contains 0.5 at t = 2, 3, 5, 6, 9 (upper >= 0.5,
  lower <= 0.5), not at 11 (upper 0.476) -> CI = [2, 11].
  Ŝ(5.5) = 0.685714 (0.304585, 0.887148).
  Reverse KM (censorings as events): 4 (n 8) -> 7/8; 8 (n 4) -> 7/8·3/4 = 0.65625;
  12 (n 1) -> 0: median follow-up = 12.

Data set B (Ŝ = 0.5 exactly): 1, 2, 3+, 4 -> Ŝ = 0.75, 0.5 (t = 2), 0 (t = 4): median = (2 + 4) / 2 = 3.
Data set C (median not reached): 10, 20+, 30+, 40+ -> Ŝ = 0.75 after t = 10; median missing
  with a reason, lower limit 10 (band 0.1279-0.9605 contains 0.5), upper limit missing.
"""
import math

import numpy as np
import pandas as pd
import pytest

from analysis import survival as S
from analysis.efficacy import km_stats, parse_reasons

A_T = [2, 3, 4, 5, 6, 6, 8, 9, 11, 12]
A_E = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0]
HAND = pd.DataFrame({
    "time": [2, 3, 5, 6, 9, 11],
    "surv": [0.9, 0.8, 0.8 * 6 / 7, 0.8 * 6 / 7 * 4 / 6, 0.8 * 6 / 7 * 4 / 6 * 2 / 3, 0.8 * 6 / 7 * 4 / 6 * 2 / 3 / 2],
    "gw": np.cumsum([1 / 90, 1 / 72, 1 / 42, 2 / 24, 1 / 6, 1 / 2]),
    "lcl": [0.473009, 0.408691, 0.304585, 0.142982, 0.053534, 0.008450],
    "ucl": [0.985281, 0.945873, 0.887148, 0.729779, 0.617368, 0.476405],
})


def test_km_table_matches_the_hand_calculation():
    tab = S.km_table(A_T, A_E)
    ev = tab[tab["n_event"] > 0].reset_index(drop=True)
    assert list(ev["time"]) == list(HAND["time"])
    assert list(ev["n_risk"]) == [10, 9, 7, 6, 3, 2]
    np.testing.assert_allclose(ev["surv"], HAND["surv"], rtol=1e-12)
    np.testing.assert_allclose(ev["gw"], HAND["gw"], rtol=1e-12)
    np.testing.assert_allclose(ev["lcl"], HAND["lcl"], atol=5e-7)
    np.testing.assert_allclose(ev["ucl"], HAND["ucl"], atol=5e-7)


def test_loglog_band_agrees_with_lifelines():
    from lifelines import KaplanMeierFitter
    kmf = KaplanMeierFitter().fit(A_T, A_E)
    ci = kmf.confidence_interval_survival_function_
    tab = S.km_table(A_T, A_E).set_index("time")
    np.testing.assert_allclose(tab["lcl"], ci.iloc[:, 0].reindex(tab.index), rtol=1e-10)
    np.testing.assert_allclose(tab["ucl"], ci.iloc[:, 1].reindex(tab.index), rtol=1e-10)


def test_median_and_brookmeyer_crowley_ci():
    est = S.km_median(S.km_table(A_T, A_E))
    assert (est.value, est.lcl, est.ucl) == (6.0, 2.0, 11.0)


def test_median_at_exactly_half_is_the_midpoint():
    est = S.km_median(S.km_table([1, 2, 3, 4], [1, 1, 0, 1]))
    assert est.value == 3.0


def test_median_not_reached_is_missing_with_a_reason():
    est = S.km_median(S.km_table([10, 20, 30, 40], [1, 0, 0, 0]))
    assert est.value is None and "not reached" in est.reason
    assert est.lcl == 10.0 and est.ucl is None and "not reached" in est.ci_reason["ucl"]


def test_survival_at_a_day_and_beyond_follow_up():
    tab = S.km_table(A_T, A_E)
    e = S.km_at(tab, 5.5)
    assert e.value == pytest.approx(0.8 * 6 / 7) and e.lcl == pytest.approx(0.304585, abs=5e-7)
    assert S.km_at(tab, 13).value is None            # follow-up ends at 12 with Ŝ > 0
    one = S.km_at(tab, 1)
    assert one.value == 1.0 and one.lcl is None      # log-log band undefined at Ŝ = 1


def test_reverse_km_median_follow_up():
    assert S.reverse_km_median(A_T, A_E).value == 12.0


def test_km_stats_write_empty_values_and_reasons():
    stats, reasons, _ = km_stats(pd.Series([10.0, 20, 30, 40]), pd.Series([0, 1, 1, 1]), days=(91,))
    assert stats["n"] == 4 and stats["events"] == 1
    assert stats["median"] is None and stats["surv_91"] is None
    why = parse_reasons("; ".join(reasons))
    assert "not reached" in why["median"] and "follow-up ends before day 91" in why["surv_91"]
    assert set(why) >= {"median", "median_ucl", "surv_91", "surv_91_lcl", "surv_91_ucl"}


def test_number_at_risk_and_grid():
    assert S.at_risk(A_T, [0, 5, 12, 13]) == [10, 7, 1, 0]
    grid = S.risk_grid(300.0)
    assert grid[0] == 0 and math.isclose(grid[1], 2 * 30.4375) and grid[-1] >= 300
