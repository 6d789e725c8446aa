"""NCA of one profile (analysis.nca) on hand-worked profiles, and the geometric statistics.

Times in days. Every expected value is worked out in the comment next to it; the
log trapezoid of a falling interval is (C1 - C2) / ln(C1 / C2) * dt."""
import math

import numpy as np
import pytest

from analysis.nca import auc, compute_nca, describe, geometric_stats, interpolate, prepare_profile

NAN = float("nan")


def nca(times, values, auc_end=28.0):
    """values: a number, or None for a BLQ sample."""
    v = [NAN if x is None else x for x in values]
    blq = [x is None for x in values]
    return compute_nca(times, v, blq, auc_end)


def test_linear_up_log_down():
    # (0, BLQ->0), (1, 100), (3, 400), (7, 100)
    r = nca([0, 1, 3, 7], [None, 100, 400, 100])
    # 0-1 rising: (0 + 100)/2 * 1 = 50; 1-3 rising: (100 + 400)/2 * 2 = 500
    # 3-7 falling: (400 - 100)/ln 4 * 4 = 216.40426 * 4 = 865.61702
    assert r.values["AUCLST"] == pytest.approx(50 + 500 + 865.61702, abs=1e-4)
    assert r.values["AUCLST"] == pytest.approx(1415.61702, abs=1e-4)
    # the linear trapezoid would give 50 + 500 + 1000 on the falling interval: not used
    assert (r.values["CMAX"], r.values["TMAX"], r.values["CLAST"], r.values["TLAST"]) == (400, 3, 100, 7)
    # sampling ended on day 7 with a quantifiable value: AUC0-28 missing with the reason
    assert math.isnan(r.values["AUC028"])
    assert "sampling ended before day 28" in r.reasons["AUC028"]


def test_blq_before_and_after_tmax():
    # days 0, 1: BLQ before the first quantifiable value -> 0; day 14 and 28: BLQ after it -> missing
    r = nca([0, 1, 3, 7, 14, 21, 28], [None, None, 50, 200, None, 80, None])
    p = prepare_profile([0, 1, 3, 7, 14, 21, 28], [NAN, NAN, 50, 200, NAN, 80, NAN],
                        [True, True, False, False, True, False, True])
    assert list(p.t) == [0, 1, 3, 7, 21] and list(p.c) == [0, 0, 50, 200, 80]
    # 0-1: 0; 1-3: (0 + 50)/2 * 2 = 50; 3-7: (50 + 200)/2 * 4 = 500;
    # 7-21 falling, the day-14 BLQ skipped: (200 - 80)/ln 2.5 * 14 = 130.96278 * 14 = 1833.4789
    assert r.values["AUCLST"] == pytest.approx(50 + 500 + 1833.4789, abs=1e-3)
    # had the day-14 BLQ counted as 0: 1400 + 560 = 1960 instead of 1833.5
    assert (r.values["TMAX"], r.values["CMAX"], r.values["TLAST"], r.values["CLAST"]) == (7, 200, 21, 80)
    # Tlast 21 < 28 and the later samples (to day 28) were BLQ: AUC0-28 = area to Tlast, with a note
    assert r.values["AUC028"] == r.values["AUCLST"]
    assert "AUC028" not in r.reasons and "below LLOQ" in r.notes["AUC028"]


def test_single_quantifiable_point():
    r = nca([0, 7, 14], [None, 300, None])
    assert (r.values["CMAX"], r.values["TMAX"], r.values["CLAST"], r.values["TLAST"]) == (300, 7, 300, 7)
    for k in ("AUCLST", "AUC028"):
        assert math.isnan(r.values[k])
        assert r.reasons[k] == "fewer than 2 quantifiable samples"


def test_no_quantifiable_sample():
    r = nca([0, 7, 14], [None, None, None])
    assert all(math.isnan(v) for v in r.values.values())
    assert set(r.reasons.values()) == {"no quantifiable sample"}


def test_profile_ending_before_day_28():
    # quantifiable at the last sample (day 14): the area to day 28 is unknown -> missing
    r = nca([0, 1, 3, 7, 14], [None, 10, 100, 50, 20])
    assert math.isnan(r.values["AUC028"])
    assert r.reasons["AUC028"] == "sampling ended before day 28 with a quantifiable value (last sample on day 14)"
    # AUClast still: 0-1: 5; 1-3: 110; 3-7: 50/ln 2 * 4 = 288.53901; 7-14: 30/ln 2.5 * 7 = 32.74070 * 7 = 229.18489
    assert r.values["AUCLST"] == pytest.approx(5 + 110 + 288.53901 + 229.18489, abs=1e-4)
    # the same profile ending below LLOQ on day 21 (last sample): area to Tlast
    r2 = nca([0, 1, 3, 7, 14, 21], [None, 10, 100, 50, 20, None])
    assert r2.values["AUC028"] == pytest.approx(r.values["AUCLST"])


def test_auc028_interpolated_at_day_28():
    # falling across day 28: log-linear C(28) = 1000 * (250/1000)^(14/28) = 500
    assert interpolate(14, 1000, 42, 250, 28) == pytest.approx(500)
    r = nca([0, 14, 42], [None, 1000, 250])
    # 0-14: (0 + 1000)/2 * 14 = 7000; 14-28: (1000 - 500)/ln 2 * 14 = 10098.865
    assert r.values["AUC028"] == pytest.approx(7000 + 10098.865, abs=1e-3)
    # AUClast: 7000 + (1000 - 250)/ln 4 * 28 = 7000 + 15148.298
    assert r.values["AUCLST"] == pytest.approx(7000 + 15148.298, abs=1e-3)
    # rising across day 28: linear C(28) = 250; 0-14: 700; 14-28: (100 + 250)/2 * 14 = 2450
    r = nca([0, 14, 42], [None, 100, 400])
    assert r.values["AUC028"] == pytest.approx(3150)


def test_tmax_ties_take_the_first_occurrence():
    r = nca([0, 3, 7, 14], [None, 500, 500, 100])
    assert r.values["TMAX"] == 3 and r.values["CMAX"] == 500
    # a flat interval is linear: 3-7: 500 * 4 = 2000
    assert r.values["AUCLST"] == pytest.approx(750 + 2000 + 400 / math.log(5) * 7)


def test_time_zero_and_predose_samples():
    # no sample at time 0: C(0) = 0 assumed; 0-7: 350; 7-14: 50/ln 2 * 7 = 72.13475 * 7 = 504.94327
    r = nca([7, 14], [100, 50])
    assert r.values["AUCLST"] == pytest.approx(350 + 504.94327, abs=1e-4)
    # two pre-dose samples (-14, -0.1): only the last, at time 0
    p = prepare_profile([-14, -0.1, 7], [NAN, NAN, 100], [True, True, False])
    assert list(p.t) == [0, 7] and list(p.c) == [0, 100]
    # a value of 0 is not quantifiable
    p = prepare_profile([0, 7, 14], [0.0, 100, 0.0], [False, False, False])
    assert list(p.t) == [0, 7] and p.n_quant == 1


def test_auc_helper_matches_segments():
    t, c = np.array([0.0, 2.0, 4.0]), np.array([0.0, 8.0, 2.0])
    # 0-2: 8; 2-4: 6/ln 4 * 2 = 8.65617
    assert auc(t, c) == pytest.approx(8 + 8.656170, abs=1e-5)
    assert auc(t, c, end=1.0) == pytest.approx(2.0)  # C(1) = 4, (0 + 4)/2 * 1


def test_geometric_statistics():
    g = geometric_stats([1, 10, 100])
    assert g.n == 3 and g.geomean == pytest.approx(10)
    # logs 0, ln10, 2 ln10: s^2 = (ln 10)^2; CV% = 100 sqrt(exp(5.301898) - 1) = 1413.2
    assert g.geocv == pytest.approx(100 * math.sqrt(math.exp(math.log(10) ** 2) - 1))
    assert g.geocv == pytest.approx(1413.2, abs=0.1)
    g = geometric_stats([2, 8])
    assert g.geomean == pytest.approx(4)
    # s^2 = (ln 8 - ln 2)^2 / 2 = 0.960906; CV% = 100 sqrt(e^0.960906 - 1) = 127.05
    assert g.geocv == pytest.approx(127.05, abs=0.01)
    assert math.isnan(geometric_stats([5]).geocv)


def test_geometric_statistics_refuse_zero():
    with pytest.raises(ValueError, match=r"undefined for values <= 0: 1 of 3 values are <= 0 \(0\)"):
        geometric_stats([1, 0, 2])
    with pytest.raises(ValueError, match="<= 0"):
        geometric_stats([3, -1])
    stats, reasons = describe([1, 0, 2])
    assert stats["geomean"] is None and stats["geocv"] is None
    assert "<= 0" in reasons["geomean"]
    assert stats["median"] == 1 and stats["min"] == 0 and stats["n"] == 3
    stats, reasons = describe([NAN, NAN])
    assert stats["n"] == 0 and stats["median"] is None and reasons == {"all": "no subject with a value"}
