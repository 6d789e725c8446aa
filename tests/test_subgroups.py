"""Subgroup analyses (SAP §8): exact tests, Cox hazard ratios, the ARD rows, T-SUBGRP,
T-DEMO, the forest plots and the paragraph -- on hand-made subjects with hand-worked
answers, then in the workflow on the demo export.

Hand-worked answers:
  Fisher 3/4 vs 0/4: tables with 3 responders among 8, P(x1) = C(4,x1) C(4,3-x1) / C(8,3)
    = 4, 24, 24, 4 (/56) for x1 = 0..3; p = (4 + 4) / 56 = 1/7 = 0.1429.
  Freeman-Halton 2/2, 0/2, 0/2 (2 responders among 6): the tables (2,0,0), (0,2,0),
    (0,0,2) have probability 1/15 each, (1,1,0), (1,0,1), (0,1,1) 4/15 each; p = 3/15 = 0.2.
  Cox, Efron ties: level A = one subject, event at day 2; reference = events at days 2 and
    7, censored at day 5. At day 2 both levels have an event, m = 3 reference subjects at
    risk: L(b) = u / ((u + m)(u/2 + m - 1/2)), u = exp(b) (the event at day 7 has only
    reference subjects at risk: factor 1). Score 0 <=> u^2 = 2m^2 - m: HR = sqrt(15) =
    3.8730; information I = u m / (u + m)^2 + (u/2)(m - 1/2) / (u/2 + m - 1/2)^2.
"""
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

from analysis import ard as A
from analysis import readiness as RD
from analysis import subgroup_figures as F
from analysis import subgroup_outputs as O
from analysis import subgroups as SG
from analysis.config import load_config


@pytest.fixture(scope="module")
def cfg():
    return load_config()


# --------------------------------------------------------------------------- exact tests

def test_fisher_hand_worked_2x2():
    r = SG.fisher_test([3, 0], [4, 4], ["a", "b"])
    assert r.p == pytest.approx(1 / 7, rel=1e-12)
    assert round(r.p, 4) == 0.1429
    assert r.method.startswith("Fisher")
    assert SG.freeman_halton([3, 0], [4, 4]) == pytest.approx(1 / 7, rel=1e-12)


def test_freeman_halton_hand_worked_3x2():
    assert SG.freeman_halton([2, 0, 0], [2, 2, 2]) == pytest.approx(0.2, rel=1e-12)
    r = SG.fisher_test([2, 0, 0], [2, 2, 2], ["a", "b", "c"])
    assert r.p == pytest.approx(0.2) and "Freeman" in r.method


def _brute_force(x, n):
    """Independent enumeration of every r x 2 table with the observed margins."""
    K = sum(x)

    def prob(t):
        return math.prod(math.comb(m, k) for m, k in zip(n, t)) / math.comb(sum(n), K)
    p_obs = prob(x)
    return sum(prob(t) for t in itertools.product(*[range(m + 1) for m in n])
               if sum(t) == K and prob(t) <= p_obs * (1 + 1e-7))


@pytest.mark.parametrize("x,n", [([1, 3, 0], [5, 4, 6]), ([0, 2, 1, 4], [3, 5, 2, 6]), ([3, 1], [7, 9]),
                                 ([5, 0, 2], [6, 6, 6])])
def test_freeman_halton_equals_brute_force_and_scipy(x, n):
    assert SG.freeman_halton(x, n) == pytest.approx(_brute_force(x, n), rel=1e-9)
    if len(n) == 2:
        table = [[x[0], n[0] - x[0]], [x[1], n[1] - x[1]]]
        assert SG.freeman_halton(x, n) == pytest.approx(fisher_exact(table).pvalue, rel=1e-9)


def test_fisher_degenerate_tables_give_reasons_not_numbers():
    one = SG.fisher_test([2, 0], [5, 0], ["High", "Low"])
    assert one.p is None and "fewer than two levels" in one.reason and "High" in one.reason
    none = SG.fisher_test([0, 0], [4, 3], ["a", "b"])
    assert none.p is None and "no responder" in none.reason
    allr = SG.fisher_test([4, 3], [4, 3], ["a", "b"])
    assert allr.p is None and "every subject responded" in allr.reason
    # All responders in one level (complete separation of the 2x2): Fisher is exact and finite.
    sep = SG.fisher_test([3, 0], [3, 3], ["a", "b"])
    assert sep.p == pytest.approx(0.1)


# --------------------------------------------------------------------------- Cox

def test_cox_hand_worked_efron_tie():
    t = [2, 2, 5, 7]
    e = [1, 1, 0, 1]
    x = [1, 0, 0, 0]
    r = SG.cox_hr(t, e, x, "A", "ref")
    m = 3
    u = math.sqrt(2 * m * m - m)
    info = u * m / (u + m) ** 2 + (u / 2) * (m - 0.5) / (u / 2 + m - 0.5) ** 2
    se = 1 / math.sqrt(info)
    assert r.reason is None
    assert r.hr == pytest.approx(math.sqrt(15), rel=1e-6)
    assert round(r.hr, 4) == 3.873
    assert r.lcl == pytest.approx(u * math.exp(-1.959963984540054 * se), rel=1e-5)
    assert r.ucl == pytest.approx(u * math.exp(1.959963984540054 * se), rel=1e-5)


def test_cox_matches_statsmodels_phreg_efron():
    from statsmodels.duration.hazard_regression import PHReg
    t = np.array([1, 2, 2, 3, 4, 4, 5, 6, 6, 8, 9, 12.0])
    e = np.array([1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1])
    x = np.array([0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1])
    r = SG.cox_hr(t, e, x, "A", "ref")
    ref = PHReg(t, x[:, None].astype(float), status=e, ties="efron").fit()
    assert r.hr == pytest.approx(math.exp(ref.params[0]), rel=1e-6)
    lo, hi = np.exp(ref.conf_int()[0])
    assert r.lcl == pytest.approx(lo, rel=1e-5) and r.ucl == pytest.approx(hi, rel=1e-5)
    assert r.p == pytest.approx(ref.pvalues[0], rel=1e-4)


def test_cox_not_estimable_with_reasons():
    # A level with no PFS event: never a number.
    r = SG.cox_hr([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], "High", "Low")
    assert r.hr is None and r.lcl is None and r.p is None
    assert r.reason == "not estimable: no PFS event in High"
    # Both levels have events, but those of level B all occur after the reference A left
    # follow-up: monotone likelihood (the MLE of the HR is 0), caught before any fit.
    r = SG.cox_hr([1, 2, 3, 10, 11], [1, 1, 0, 1, 1], [0, 0, 0, 1, 1], "B", "A")
    assert r.hr is None and r.p is None
    assert r.reason == ("not estimable: monotone likelihood (separation) \u2014 no PFS event in B while a "
                        "subject of A was at risk")
    r = SG.cox_hr([1, 2], [1, 0], [1, 1], "B", "A")
    assert r.reason == "not estimable: no subject in A"


def test_monotone_likelihood_directions():
    assert SG.monotone_likelihood([1, 2, 3, 10, 11], [1, 1, 0, 1, 1], [1, 1, 1, 0, 0]) == 1
    assert SG.monotone_likelihood([1, 2, 3, 10, 11], [1, 1, 0, 1, 1], [0, 0, 0, 1, 1]) == -1
    assert SG.monotone_likelihood([2, 2, 5, 7], [1, 1, 0, 1], [1, 0, 0, 0]) == 0


def test_cox_flat_likelihood_is_fitted_with_a_shorter_step():
    """One event in the level, tied with a reference event and then no level subject at
    risk (the demo's 'Other' cohort): lifelines' default step overshoots; the result
    must be the analytic MLE HR = sqrt(2m^2 - m), here m = 12."""
    t = [41, 45, 45, 45, 58, 101, 101, 101, 101, 157, 157, 214, 269, 269]
    e = [0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    x = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    r = SG.cox_hr(t, e, x, "Other", "Colorectal")
    assert r.reason is None
    assert r.hr == pytest.approx(math.sqrt(2 * 144 - 12), rel=1e-6)


# --------------------------------------------------------------------------- ARD

def hand_adsl(n=8) -> pd.DataFrame:
    ids = [f"S-{i:02d}" for i in range(1, n + 1)]
    return pd.DataFrame({
        "USUBJID": ids, "SAFFL": "Y", "EFFFL": "Y",
        "DOSELVL": pd.array(["DL1", "DL1", "DL2", "DL2", "DL3", "DL3", "DL4", None][:n], dtype="string"),
        "COHORT": pd.array(["CRC"] * 4 + ["GC"] * 4, dtype="string")[:n],
        "HISTOL": pd.array(["colon adenocarcinoma"] * 4 + ["gastric adenocarcinoma"] * 4, dtype="string")[:n],
        "NKGLHS": [150.0, 160, 170, 180, 20, 30, 40, 50][:n],
        "NKGLGR": pd.array(["HIGH"] * 4 + ["LOW"] * 4, dtype="string")[:n],
        "PRIORREG": [1.0, 2, 1, 2, 3, 4, 3, 5][:n],
        "PRIORGR": pd.array(["<=2"] * 4 + [">=3"] * 4, dtype="string")[:n],
        "BSLD": [10.0, 20, 30, 40, 50, 60, 70, 80][:n], "BSLDCUT": 45.0,
        "BSLDGR": pd.array(["<=cut-off"] * 4 + [">cut-off"] * 4, dtype="string")[:n],
        "CEABL": [10.0] * n, "CEAGR": pd.array([">ULN"] * n, dtype="string"),
        "CA199BL": [5.0, np.nan, 50, 60, 5, 6, 70, 80][:n],
        "CA199GR": pd.array(["<=ULN", None, ">ULN", ">ULN", "<=ULN", "<=ULN", ">ULN", ">ULN"][:n], dtype="string"),
        "GLRBL": [1.0, 2, 4, 5, 1, 2, 4, 5][:n],
        "GLRGR": pd.array(["<3", "<3", ">=3", ">=3", "<3", "<3", ">=3", ">=3"][:n], dtype="string"),
        "METSITES": [1.0, 1, 3, 3, 1, 2, 3, 4][:n],
        "SITESGR": pd.array(["1-2", "1-2", ">=3", ">=3", "1-2", "1-2", ">=3", ">=3"][:n], dtype="string"),
        "LIVONLY": pd.array(["Y", "Y", "N", "N", "Y", "N", "N", "N"][:n], dtype="string"),
        "AGE": [50.0, 60, 70, 40, 55, 65, 45, 35][:n],
        "SEX": pd.array(["F", "M"] * (n // 2), dtype="string"),
        "RACE": pd.array(["ASIAN"] * n, dtype="string"),
    })


def hand_adrs(adsl, responders) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "CBOR",
                         "AVALC": ["PR" if u in responders else "SD" for u in adsl["USUBJID"]]})


def hand_adtte(adsl, time, cnsr) -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": adsl["USUBJID"], "PARAMCD": "PFS", "AVAL": np.asarray(time, float),
                         "CNSR": np.asarray(cnsr, int)})


@pytest.fixture(scope="module")
def hand_ard(cfg):
    adsl = hand_adsl()
    # Responders S-01..S-03, all in NKGLGR HIGH / PRIORGR <=2 (complete separation).
    adrs = hand_adrs(adsl, {"S-01", "S-02", "S-03"})
    # PFS events only in the GC cohort / LOW ligand level: no event in CRC / HIGH.
    adtte = hand_adtte(adsl, [100, 120, 140, 160, 20, 30, 40, 50], [1, 1, 1, 1, 0, 0, 0, 0])
    return SG.ard_subgroups(adsl, adrs, adtte, cfg, set()), adsl


def _a(df):
    return A.ARD(df)


def test_ard_orr_rows_per_level_in_contract_shape(hand_ard):
    ard, adsl = hand_ard
    a = _a(ard)
    for g, levels in (("COHORT", ["CRC", "GC"]), ("NKGLGR", ["LOW", "HIGH"]), ("LIVONLY", ["Y", "N"])):
        for lvl in levels:
            for an in ("orr", "dcr"):
                for stat in ("n_resp", "n", "estimate", "lcl", "ucl"):
                    a.get(an, "CBOR", stat, g, lvl)
    assert a.int("orr", "CBOR", "n_resp", "NKGLGR", "HIGH") == 3 and a.int("orr", "CBOR", "n", "NKGLGR", "HIGH") == 4
    assert a.num("orr", "CBOR", "ucl", "NKGLGR", "LOW") == pytest.approx(1 - 0.025 ** (1 / 4))
    # The efficacy stage writes orr/dcr for overall and DOSELVL: none here (no duplicate keys).
    assert not len(ard[(ard.analysis.isin(["orr", "dcr"])) & ard.group.isin(["overall", "DOSELVL"])])
    assert a.get("subgroup", "FACTOR", "analysable", "DOSELVL", "all") == "Y"
    assert len(ard[(ard.analysis == "cox") & (ard.group == "DOSELVL")])
    key = ["analysis", "group", "group_level", "variable", "variable_level", "stat"]
    assert not ard.duplicated(key).any()


def test_complete_separation_fisher_and_no_event_level(hand_ard):
    a = _a(hand_ard[0])
    # 3/4 responders in HIGH vs 0/4 in LOW: p = 1/7.
    assert a.num("fisher", "CBOR", "p", "NKGLGR", "all") == pytest.approx(1 / 7)
    # No PFS event in HIGH (reference LOW has all the events): not estimable, no number.
    assert a.get("subgroup", "FACTOR", "reference", "NKGLGR", "all") == "LOW"
    assert a.get("cox", "PFS", "hr", "NKGLGR", "HIGH") == ""
    assert "no PFS event in High" in a.get("cox", "PFS", "reason", "NKGLGR", "HIGH")
    # The KM median of a level without events is 'not reached', with its reason.
    assert a.get("subgroup_km", "PFS", "median", "NKGLGR", "HIGH") == ""
    assert "not reached" in a.get("subgroup_km", "PFS", "reason", "NKGLGR", "HIGH")


def test_factor_with_all_subjects_in_one_level_and_an_empty_level(hand_ard):
    a = _a(hand_ard[0])
    assert a.int("subgroup", "LEVEL", "n", "CEAGR", ">ULN") == 8
    assert a.int("subgroup", "LEVEL", "n", "CEAGR", "<=ULN") == 0          # empty level shown
    assert a.get("orr", "CBOR", "estimate", "CEAGR", "<=ULN") == ""
    assert "no efficacy-evaluable subject" in a.get("orr", "CBOR", "reason", "CEAGR", "<=ULN")
    assert a.get("fisher", "CBOR", "p", "CEAGR", "all") == ""
    assert "fewer than two levels" in a.get("fisher", "CBOR", "reason", "CEAGR", "all")
    assert a.get("subgroup", "FACTOR", "reference", "CEAGR", "all") == ">ULN"
    assert "no subject in \u2264ULN" in a.get("cox", "PFS", "reason", "CEAGR", "<=ULN")


def test_missing_values_form_their_own_level_left_out_of_tests(hand_ard):
    a = _a(hand_ard[0])
    assert a.int("subgroup", "LEVEL", "n", "CA199GR", "Missing") == 1
    assert a.get("subgroup", "LEVEL", "missing", "CA199GR", "Missing") == "Y"
    assert a.int("subgroup", "FACTOR", "n_missing", "CA199GR", "all") == 1
    assert a.int("fisher", "CBOR", "n_levels", "CA199GR", "all") == 2
    with pytest.raises(KeyError):
        a.get("cox", "PFS", "hr", "CA199GR", "Missing")
    # DOSELVL: the subject without CAR-T is the level NONE (a real group, tested).
    assert a.get("subgroup", "LEVEL", "label", "DOSELVL", "NONE") == "No CAR-T"
    assert a.int("fisher", "CBOR", "n_levels", "DOSELVL", "all") == 5


def test_histology_levels_and_detail(hand_ard, cfg):
    ard, _ = hand_ard
    a = _a(ard)
    levels = ard[(ard.analysis == "subgroup") & (ard.group == "COHORT") & (ard.variable == "LEVEL")]
    assert list(dict.fromkeys(levels.group_level)) == ["CRC", "GC"]     # empty EC, OTHER not shown
    assert a.int("subgroup", "HISTOL", "n", "COHORT", "GC", "gastric adenocarcinoma") == 4


def test_data_driven_cutoff_is_printed(hand_ard):
    a = _a(hand_ard[0])
    assert a.num("subgroup", "FACTOR", "cutoff", "BSLDGR", "all") == 45.0
    assert "45.0 mm" in a.get("subgroup", "FACTOR", "cutoff_text", "BSLDGR", "all")
    assert a.get("subgroup", "LEVEL", "label", "BSLDGR", "<=cut-off") == "\u226445.0 mm"


def test_absent_data_is_not_analysable_with_reason(cfg):
    adsl = hand_adsl()
    adsl["NKGLGR"] = pd.array([None] * 8, dtype="string")
    adsl["NKGLHS"] = np.nan
    adsl = adsl.drop(columns=["GLRGR"])
    ard = SG.ard_subgroups(adsl, hand_adrs(adsl, {"S-01"}), hand_adtte(adsl, range(1, 9), [0] * 8), cfg, {"MI"})
    a = _a(ard)
    assert a.get("subgroup", "FACTOR", "analysable", "NKGLGR", "all") == "N"
    assert "MI domain is not in the export" in a.get("subgroup", "FACTOR", "reason", "NKGLGR", "all")
    assert a.get("subgroup", "FACTOR", "analysable", "GLRGR", "all") == "N"
    assert "ADSL has no variable GLRGR" in a.get("subgroup", "FACTOR", "reason", "GLRGR", "all")
    # Reported, not dropped: the table and the paragraph name them.
    full = _with_efficacy_rows(ard, adsl, cfg)
    t = O.table_subgroups(full, cfg)
    text = "\n".join(" | ".join(r) for r in t.rows) + "\n".join(t.footnotes)
    assert "NKG2D ligand expression" in text and "MI domain is not in the export" in text
    para = O.subgroup_paragraph(full, cfg)
    assert "not analysable" in para and "8 factors of 10 could be analysed" in para


def _with_efficacy_rows(ard: pd.DataFrame, adsl: pd.DataFrame, cfg) -> A.ARD:
    """The ARD as the workflow joins it: plus the efficacy stage's overall/DOSELVL orr and
    dcr rows (computed here the way it does) and T-DEMO's rows."""
    from analysis.stats import compute_clopper_pearson
    recs = []
    for an in ("orr", "dcr"):
        for g, gl in [("overall", "overall")] + [("DOSELVL", x) for x in list(cfg["dose_levels"]) + ["NONE"]]:
            sub = ard[(ard.analysis == "subgroup") & (ard.group == "DOSELVL") & (ard.group_level == gl)
                      & (ard.stat == "n")]
            n = int(sub.value.iloc[0]) if g == "DOSELVL" and len(sub) else len(adsl)
            p = compute_clopper_pearson(min(1, n), n)
            recs += A.rows(an, g, gl, "CBOR", "", {"n_resp": p.n_resp, "n": n, "estimate": p.estimate,
                                                   "lcl": p.lcl, "ucl": p.ucl})
    return A.ARD(A.combine([ard, A.frame(recs), SG.ard_demog(adsl, cfg)]))


def test_tables_text_and_figures_build(hand_ard, cfg, tmp_path):
    ard, adsl = hand_ard
    full = _with_efficacy_rows(ard, adsl, cfg)
    t = O.table_subgroups(full, cfg)
    assert t.id == "T-SUBGRP" and len(t.columns) == len(O.SUBGRP_COLUMNS)
    cells = {r[0].strip("\u2003*"): r for r in t.rows}
    assert cells["High"][2] == "3 (75.0) [19.4\u201399.4]"
    assert cells["High"][6].startswith("NE (")
    assert any("Fisher p = 0.143" in c for r in t.rows for c in r)
    assert any("exploratory" in f.lower() and "multiplicity" in f for f in t.footnotes)
    demo = O.table_demo(full, cfg)
    flat = [c for r in demo.rows for c in r]
    assert "**Age, years** (AGE)" in [r[0] for r in demo.rows]
    assert "52.5 (35\u201370)" in flat                                  # overall median age (min-max)
    for var in ("COHORT", "NKGLGR", "PRIORGR", "BSLDGR", "CEAGR", "CA199GR", "GLRGR", "SITESGR", "LIVONLY",
                "NKGLHS", "PRIORREG", "BSLD", "CEABL", "CA199BL", "GLRBL", "METSITES", "HISTOL"):
        assert any(f"({var})" in r[0] for r in demo.rows), var
    para = O.subgroup_paragraph(full, cfg)
    assert para.startswith("**These subgroup analyses are exploratory and unadjusted.**")
    assert "75.0% (3/4) in high" in para
    O.write_table_nobreak(t, tmp_path)
    assert "\u2060" in (tmp_path / "T-SUBGRP.md").read_text() and "\u2060" not in (tmp_path / "T-SUBGRP.csv").read_text()
    F.write_forest_plots(full, cfg, tmp_path)
    for fid in ("F-FOREST-ORR", "F-FOREST-PFS"):
        assert (tmp_path / f"{fid}.png").stat().st_size > 10_000
        assert b"<svg" in (tmp_path / f"{fid}.svg").read_bytes()[:500]
    rows = F.forest_rows(O.read_factors(full), "pfs")
    high = rows[rows.label.str.strip() == "High"].iloc[0]
    assert math.isnan(high.est) and high.c2 == "NE: no event in High"


def test_demog_counts(cfg):
    adsl = hand_adsl()
    a = _a(SG.ard_demog(adsl, cfg))
    assert a.int("demog", "N", "n") == 8
    assert a.int("demog", "N", "n", "DOSELVL", "NONE") == 1
    assert a.int("demog", "COHORT", "n", variable_level="GC") == 4
    assert a.int("demog", "CA199GR", "n", variable_level="Missing") == 1
    assert a.num("demog", "CA199BL", "median") == 50.0 and a.int("demog", "CA199BL", "n_missing") == 1
    order = a.select(analysis="demog", variable="NKGLGR", group="overall", stat="n")["variable_level"].tolist()
    assert order == ["LOW", "HIGH"]


# --------------------------------------------------------------------------- readiness

def _escalation_rows(rp2d: str | None) -> pd.DataFrame:
    recs = A.rows("escalation", "overall", "overall", "MTD", "", {"level": "NOT REACHED"})
    recs += A.rows("escalation", "overall", "overall", "RP2D", "", {"level": rp2d} if rp2d else
                   {"level": None, "reason": "not declared by the investigators (setting escalation.rp2d)"})
    recs += A.rows("escalation", "overall", "overall", "HIGHEST_TESTED", "", {"level": "DL4"})
    recs += A.rows("escalation", "overall", "overall", "STOP", "", {"holds": "Y", "condition": "MTD not reached"})
    for g, gl, k, n in (("DOSELVL", "DL3", 0, 3), ("DOSELVL", "DL4", 1, 6), ("overall", "overall", 1, 9)):
        recs += A.rows("dlt", g, gl, "DLT", "", {"n_treated": n, "n_evaluable": n, "n_dlt": k, "rate": k / n,
                                                 "lcl": 0.0, "ucl": 0.5})
    for g, gl, n in (("DOSELVL", "DL3", 3), ("DOSELVL", "DL4", 6), ("overall", "overall", 10)):
        for var, k in (("N", n), ("ANY", n), ("G3", 1), ("SER", 0), ("REL", n), ("REL_G3", 1), ("DEATH", 0),
                       ("DLT", 1), ("CRS", 2), ("ICANS", 0)):
            recs += A.rows("teae_ovr", g, gl, var, "", {"n": k})
    return A.frame(recs)


@pytest.mark.parametrize("rp2d", [None, "DL3"])
def test_readiness_level_and_texts(hand_ard, cfg, rp2d):
    ard, adsl = hand_ard
    full = _with_efficacy_rows(ard, adsl, cfg)
    a = A.ARD(A.combine([full.df, _escalation_rows(rp2d)]))
    lvl, basis = RD.chosen_level(a)
    tables, texts = RD.build_all(a, cfg)
    safety = next(t for t in tables if t.id == "T-P1B-SAFETY")
    if rp2d:
        assert (lvl, basis) == ("DL3", "RP2D")
        assert "declared DL3 as the RP2D" in texts["phase-ib-escalation"]
        assert safety.columns[1] == "DL3 (RP2D) (N = 3)"
    else:
        assert (lvl, basis) == ("DL4", "HIGHEST_TESTED")
        assert "No RP2D has been declared" in texts["phase-ib-escalation"]
        assert "highest level tested, DL4, because no RP2D is declared" in texts["phase-ib-escalation"]
        assert safety.columns[1] == "DL4 (highest level tested) (N = 6)"
        assert "Safety at DL4** (the highest level tested" in texts["phase-ib-safety"]
    resp = next(t for t in tables if t.id == "T-P1B-RESP")
    labels = [r[0] for r in resp.rows]
    assert labels[0].startswith("**Tumour histology") and any("NKG2D ligand" in x for x in labels)
    cohorts = next(t for t in tables if t.id == "T-P1B-COHORTS")
    assert [r[1] for r in cohorts.rows[:4]] == ["CRC", "GC", "EC", "OTHER"]
    assert all(r[2] == "9\u201318" for r in cohorts.rows[:4]) and cohorts.rows[4][2] == "36\u201372"
    assert cohorts.rows[0][3] == "4" and cohorts.rows[2][3] == "0"      # treated to date per cohort


# --------------------------------------------------------------------------- workflow (demo export)

@pytest.fixture(scope="module")
def res(demo_run):
    return demo_run[1]


def test_demo_run_subgroup_ard_and_outputs(res):
    ard = pd.read_parquet(res / "ard/ard.parquet")
    a = A.ARD(ard)
    adsl = pd.read_parquet(res / "adam/adsl.parquet")
    eff = adsl[adsl.EFFFL == "Y"]
    for var in ("COHORT", "NKGLGR", "PRIORGR", "BSLDGR", "CEAGR", "CA199GR", "GLRGR", "LIVONLY", "SITESGR"):
        levels = ard[(ard.analysis == "orr") & (ard.group == var) & (ard.stat == "n")]
        assert levels.value.astype(int).sum() == len(eff), var         # every subject in one level
        a.get("fisher", "CBOR", "method", var, "all")
    assert a.num("subgroup", "FACTOR", "cutoff", "BSLDGR", "all") == pytest.approx(float(adsl.BSLDCUT.iloc[0]))
    cox = ard[(ard.analysis == "cox") & (ard.stat == "hr") & (ard.value != "")]
    assert len(cox) and (cox.value.astype(float).between(1e-4, 1e4)).all()
    ne = ard[(ard.analysis == "cox") & (ard.stat == "hr") & (ard.value == "")]
    for r in ne.itertuples():
        assert a.get("cox", "PFS", "reason", r.group, r.group_level).startswith("hr, hr_lcl, hr_ucl, p: not estimable")
    for name in ("T-SUBGRP", "T-DEMO", "T-P1B-RESP", "T-P1B-ESC", "T-P1B-SAFETY", "T-P1B-COHORTS", "T-P1B-FACTS"):
        for ext in ("md", "csv", "html", "rtf"):
            assert (res / "tables" / f"{name}.{ext}").stat().st_size > 0
    for fid in ("F-FOREST-ORR", "F-FOREST-PFS"):
        assert (res / "figures" / f"{fid}.png").stat().st_size > 10_000
    text = (res / "text/subgroups.md").read_text(encoding="utf-8")
    assert "exploratory and unadjusted" in text
    p = a.num("fisher", "CBOR", "p", "NKGLGR", "all")
    assert f"p = {p:.3f}" in text


def test_demo_run_readiness_report(res):
    import zipfile
    a = A.ARD.read(res / "ard/ard.parquet")
    for fmt in ("html", "pdf", "docx"):
        assert (res / f"reports/phase-ib-readiness.{fmt}").stat().st_size > 0
    html = " ".join((res / "reports/phase-ib-readiness.html").read_text(encoding="utf-8").split())
    assert "Phase IB readiness summary" in html and "T-P1B-RESP" in html and "Eligibility audit" in html
    n_eff = a.int("sets", "EFFEVAL", "n")
    assert f"efficacy-evaluable set, N = {n_eff}" in html
    k, n = a.int("orr", "CBOR", "n_resp", "COHORT", "CRC"), a.int("orr", "CBOR", "n", "COHORT", "CRC")
    assert f"({k}/{n}) in colorectal" in html
    for tid in RD.TABLES:                                             # every readiness output is in it
        assert tid in html, tid
    interim = " ".join((res / "reports/interim-report.html").read_text(encoding="utf-8").split())
    assert "T-SUBGRP" in interim and "F-FOREST-ORR" in interim and "T-DEMO" in interim
    with zipfile.ZipFile(res / "reports/phase-ib-readiness.docx") as z:
        assert "T-P1B-FACTS" in z.read("word/document.xml").decode("utf-8")
    bundle = next((res / "bundle").glob("*.zip"))
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
    assert any(x.endswith("reports/phase-ib-readiness.pdf") for x in names)
    assert any(x.endswith("reports/phase-ib-readiness.docx") for x in names)
