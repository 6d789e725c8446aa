"""ISO 8601 partial dates and the SAP's imputation rules, with hand-worked answers."""
import pandas as pd
import pytest

from analysis import dates

T = pd.Timestamp


def one(values):
    return pd.Series(values, dtype="object")


def test_parse_statuses_and_parts():
    p = dates.parse_dtc(one(["2026", "2026-03", "2026-03-15", "2026-03-15T10:30", "2026-03-15T10:30:45",
                             "--03-15", "-----15", None, "", "  ", "15/03/2026", "2026-02-30", "2026-13"]))
    assert p["status"].tolist() == ["partial_month", "partial_day", "full", "full", "full", "no_year", "no_year",
                                    "empty", "empty", "empty", "invalid", "invalid", "invalid"]
    assert p.loc[3, ["year", "month", "day", "hour", "minute"]].tolist() == [2026, 3, 15, 10, 30]
    assert pd.isna(p.loc[2, "hour"]) and pd.isna(p.loc[1, "day"]) and pd.isna(p.loc[0, "month"])
    assert p.loc[5, ["month", "day"]].tolist() == [3, 15] and pd.isna(p.loc[5, "year"])
    assert p.loc[6, "day"] == 15 and pd.isna(p.loc[6, "month"])
    for col in ("year", "month", "day", "hour", "minute"):
        assert str(p[col].dtype) == "Int64"
    # invalid values carry no parts
    assert p.loc[11, ["year", "month", "day"]].isna().all()


@pytest.mark.parametrize("value, rule", [
    ("2026-02-30", "dtc_impossible_date"),
    ("2026-13", "dtc_impossible_date"),
    ("2026-04-31", "dtc_impossible_date"),
    ("2026-03-15T24:00", "dtc_impossible_date"),
    ("2023-02-29", "dtc_impossible_date"),  # not a leap year
    ("15/03/2026", "dtc_not_iso8601"),
    ("2026-3-5", "dtc_not_iso8601"),
    ("March 2026", "dtc_not_iso8601"),
    ("--03-15", "dtc_missing_year"),
    ("-----15", "dtc_missing_year"),
    ("2024-02-29", None),  # leap year
    ("2000-02-29", None),  # divisible by 400
    ("2026-03", None),
    ("2026", None),
    ("2026-03-15T10:30:45", None),
    ("", None),
])
def test_dtc_problem(value, rule):
    assert dates.dtc_problem(value) == rule


def test_to_date_full_only_and_to_datetime_keeps_time():
    v = one(["2026-03-15T10:30", "2026-03", "2026-03-16", "x"])
    d = dates.to_date(v)
    assert d.dtype == "datetime64[ns]"
    assert d.tolist()[0] == T("2026-03-15") and d.tolist()[2] == T("2026-03-16")
    assert pd.isna(d[1]) and pd.isna(d[3])
    dt = dates.to_datetime(v)
    assert dt[0] == T("2026-03-15 10:30") and dt[2] == T("2026-03-16") and pd.isna(dt[1])
    assert dates.to_datetime(one(["2026-03-15T10:30:45"]))[0] == T("2026-03-15 10:30:45")


def test_earliest_and_latest_possible():
    v = one(["2026", "2026-02", "2024-02", "2026-03-15T08:00", "--03-15", None])
    lo = dates.earliest_possible(v)
    hi = dates.latest_possible(v)
    assert lo[:4].tolist() == [T("2026-01-01"), T("2026-02-01"), T("2024-02-01"), T("2026-03-15")]
    assert hi[:4].tolist() == [T("2026-12-31"), T("2026-02-28"), T("2024-02-29"), T("2026-03-15")]
    assert lo[4:].isna().all() and hi[4:].isna().all()


def test_impute_first_and_last_hand_worked():
    d, f = dates.impute_dtc(one(["2026-03"]), "first")
    assert d[0] == T("2026-03-01") and f[0] == "D"
    d, f = dates.impute_dtc(one(["2026-03"]), "last")
    assert d[0] == T("2026-03-31") and f[0] == "D"
    d, f = dates.impute_dtc(one(["2026"]), "first")
    assert d[0] == T("2026-01-01") and f[0] == "M"
    d, f = dates.impute_dtc(one(["2026"]), "last")
    assert d[0] == T("2026-12-31") and f[0] == "M"
    d, f = dates.impute_dtc(one(["2024-02", "2026-02"]), "last")
    assert d.tolist() == [T("2024-02-29"), T("2026-02-28")]


def test_impute_last_capped_at_cut():
    d, f = dates.impute_dtc(one(["2026", "2026-10", "2026-09", "2026-12-05", "2027"]), "last", cap="2026-10-31")
    assert d[0] == T("2026-10-31") and f[0] == "M"  # cut inside 2026: capped
    assert d[1] == T("2026-10-31") and f[1] == "D"  # last day of the month is the cut itself
    assert d[2] == T("2026-09-30") and f[2] == "D"  # cut after the month: not capped
    assert d[3] == T("2026-12-05") and f[3] == ""  # full dates are never changed
    assert d[4] == T("2027-12-31")  # the cut is before the whole range: nothing to cap
    d, _ = dates.impute_dtc(one(["2026-10"]), "last", cap=pd.Timestamp("2026-10-15"))
    assert d[0] == T("2026-10-15")


def test_impute_first_with_floor():
    d, f = dates.impute_dtc(one(["2026-03"]), "first", floor="2026-03-10")
    assert d[0] == T("2026-03-10") and f[0] == "D"  # floor inside the month
    d, f = dates.impute_dtc(one(["2026-03"]), "first", floor="2026-04-02")
    assert d[0] == T("2026-03-01") and f[0] == "D"  # floor after the month: the month can't reach it
    d, f = dates.impute_dtc(one(["2026-03"]), "first", floor="2026-02-20")
    assert d[0] == T("2026-03-01")  # floor before the month
    d, f = dates.impute_dtc(one(["2026"]), "first", floor="2026-03-10")
    assert d[0] == T("2026-03-10") and f[0] == "M"
    # per-row floors (datetimes with time are compared as dates), missing floor -> earliest
    floors = pd.Series([T("2026-03-10 09:30"), pd.NaT, T("2026-05-01")])
    d, f = dates.impute_dtc(one(["2026-03", "2026-03", "2026-03-02"]), "first", floor=floors)
    assert d.tolist() == [T("2026-03-10"), T("2026-03-01"), T("2026-03-02")]
    assert f.tolist() == ["D", "D", ""]


def test_impute_never_imputes_missing_year_or_invalid():
    d, f = dates.impute_dtc(one(["--03-15", "2026-02-30", None, "abc"]), "first", floor="2026-03-01")
    assert d.isna().all() and f.tolist() == ["", "", "", ""]
    d, f = dates.impute_dtc(one(["--03-15"]), "last", cap="2026-10-31")
    assert pd.isna(d[0]) and f[0] == ""
    with pytest.raises(ValueError):
        dates.impute_dtc(one(["2026"]), "middle")


def test_impute_day_last_for_tumour_assessments():
    d, f = dates.impute_day_last(one(["2026-02", "2024-02", "2026-04-14", "2026", "--04-14"]))
    assert d[:3].tolist() == [T("2026-02-28"), T("2024-02-29"), T("2026-04-14")]
    assert f.tolist() == ["D", "D", "", "", ""]
    assert d[3:].isna().all()


def test_index_is_kept():
    v = pd.Series(["2026-03", "2026"], index=[10, 20])
    d, f = dates.impute_dtc(v, "first")
    assert d.index.tolist() == [10, 20] and f.index.tolist() == [10, 20]
    assert dates.parse_dtc(v).index.tolist() == [10, 20]


@pytest.mark.parametrize("value, status, parts", [
    # the layouts read by position: each part, and a wrong separator or width is not ISO 8601
    ("2026-03-05T07:30:09", "full", [2026, 3, 5, 7, 30, 9]),
    ("2026-03-05T07:30", "full", [2026, 3, 5, 7, 30, None]),
    ("0999-03-05", "invalid", [None] * 6),           # impossible: the year is before 1678
    ("2026/03/05", "invalid", [None] * 6),
    ("2026-03-05T07-30", "invalid", [None] * 6),
    ("2026-03-05 07:30", "invalid", [None] * 6),
    ("2026-03-5T07:30", "invalid", [None] * 6),
    ("20260305", "invalid", [None] * 6),
    ("2026-0a", "invalid", [None] * 6),
    # other forms (read by the regular expressions)
    ("2026-03-05T07:30:09.25", "full", [2026, 3, 5, 7, 30, 9]),
    ("2026---05", "partial_month", [2026, None, None, None, None, None]),
])
def test_parts_of_each_layout(value, status, parts):
    p = dates.parse_dtc(one([value])).iloc[0]
    assert p["status"] == status
    assert [None if pd.isna(p[k]) else int(p[k]) for k in ("year", "month", "day", "hour", "minute", "second")] == parts


def test_repeated_values_are_parsed_alike_on_any_index():
    v = pd.Series([" 2026-03", "2026-03", None, "2026-02-30", "2026-03", "", "2026-02-30"], index=[5, 5, 3, 9, 1, 0, 2])
    p = dates.parse_dtc(v)
    assert p.index.tolist() == [5, 5, 3, 9, 1, 0, 2]
    assert p["status"].tolist() == ["partial_day", "partial_day", "empty", "invalid", "partial_day", "empty", "invalid"]
    assert p["problem"].tolist()[3] == "dtc_impossible_date" and pd.isna(p["problem"].iloc[0])
    assert p["month"].tolist()[:2] == [3, 3] and pd.isna(p["day"].iloc[4])
    assert dates.earliest_possible(v).tolist()[:2] == [T("2026-03-01"), T("2026-03-01")]


def test_per_distinct_spreads_each_value():
    calls = []

    def upper(s):
        calls.append(len(s))
        return s.str.upper()

    out = dates.per_distinct(pd.Series(["a", "b", None, "a", "b", "a"], index=list("uvwxyz")), upper)
    assert out.tolist()[:2] == ["A", "B"] and pd.isna(out["w"]) and out.tolist()[3:] == ["A", "B", "A"]
    assert out.index.tolist() == list("uvwxyz") and calls == [3]   # a, b and the missing value
