"""Dose-escalation rule replay (SAP §1, §4) on hand-built cohort sequences, one per branch
of the rules; exact CIs of the DLT rate; the pool-adjacent-violators fit. Expected values
worked out by hand from the SAP's rules."""
import pandas as pd
import pytest

from analysis import escalation as esc
from analysis.config import load_config
from analysis.safety_ard import ard_dlt, ard_isotonic
from analysis.stats import compute_clopper_pearson


@pytest.fixture(scope="module")
def rules():
    return esc.Rules.from_config(load_config())


def seq(*cohorts, gap_days=40):
    """Subjects from cohorts written as (level, "outcomes"): one letter per subject,
    '.' no DLT, 'D' DLT, 'T' trigger event without DLT, 'n' not evaluable, 'p' window open.
    Subjects are treated `gap_days` apart (DLT windows of 28 days never overlap)."""
    recs, k, day = [], 0, pd.Timestamp("2026-01-01")
    for level, outcomes in cohorts:
        for o in outcomes:
            k += 1
            recs.append({"USUBJID": f"S{k:02d}", "DOSELVL": level, "CARTSDT": day,
                         "DLTEVLFL": "N" if o in "np" else "Y", "DLTFL": "Y" if o == "D" else "N",
                         "TRIGFL": "Y" if o in "TD" else "N", "PENDFL": "Y" if o == "p" else "N",
                         "WINENDT": day + pd.Timedelta(days=28)})
            day += pd.Timedelta(days=gap_days)
    return pd.DataFrame(recs)


def run(rules, *cohorts, **kw):
    table, status = esc.replay(seq(*cohorts, **kw), rules)
    return table, status


def cols(table, *names):
    return [tuple(r) for r in table[list(names)].itertuples(index=False)]


def test_titration_passed_then_0_of_3_escalates(rules):
    t, st = run(rules, ("DL1", "."), ("DL2", "..."), ("DL3", "..."))
    assert cols(t, "level", "mode", "n", "decision", "rule_next_level", "actual_next_level") == [
        ("DL1", "titration", 1, "escalate", "DL2", "DL2"),
        ("DL2", "3+3", 3, "escalate", "DL3", "DL3"),
        ("DL3", "3+3", 3, "escalate", "DL4", "")]
    assert not t["deviation"].any()
    assert st["mtd"] == esc.NOT_REACHED and st["highest"] == "DL3" and not st["stop"]


def test_titration_switched_by_trigger_event(rules):
    # The DL1 patient has a trigger event: 3+3 at DL1, the patient counts as the first of 3.
    t, st = run(rules, ("DL1", "T"), ("DL1", ".."), ("DL2", "..."))
    assert cols(t, "level", "kind", "n", "decision", "cum_n_evaluable", "cum_n_dlt", "rule_next_level",
                "actual_next_level") == [
        ("DL1", "titration", 1, "switch_to_3+3", 1, 0, "DL1", "DL1"),
        ("DL1", "3+3", 2, "escalate", 3, 0, "DL2", "DL2"),
        ("DL2", "3+3", 3, "escalate", 3, 0, "DL3", "")]
    assert not t["deviation"].any()


def test_titration_with_a_dlt_also_switches_and_a_non_evaluable_patient_is_replaced(rules):
    t, _ = run(rules, ("DL1", "n"), ("DL1", "D"), ("DL1", ".."))
    assert cols(t, "kind", "decision", "rule_next_level") == [
        ("titration", "stay", "DL1"), ("titration", "switch_to_3+3", "DL1"), ("3+3", "expand", "DL1")]
    # the non-evaluable patient takes no place: the 3+3 cohort is S02 (DLT), S03, S04: 1/3
    assert cols(t, "n", "cum_n_evaluable", "cum_n_dlt")[-1] == (2, 3, 1)


def test_1_of_3_expands_to_6_and_1_of_6_escalates(rules):
    t, st = run(rules, ("DL1", "."), ("DL2", ".D."), ("DL2", "..."), ("DL3", "..."))
    assert cols(t, "level", "kind", "cum_n_evaluable", "cum_n_dlt", "decision", "rule_next_level") == [
        ("DL1", "titration", 1, 0, "escalate", "DL2"),
        ("DL2", "3+3", 3, 1, "expand", "DL2"),
        ("DL2", "expansion", 6, 1, "escalate", "DL3"),
        ("DL3", "3+3", 3, 0, "escalate", "DL4")]
    assert not t["deviation"].any()


def test_2_of_3_exceeds_and_the_lower_level_is_expanded_for_the_mtd(rules):
    # DL2 0/3 -> DL3 2/3: MTD exceeded; DL2 has only 3 evaluable: expand DL2 to 6;
    # DL2 then 0/6 -> MTD = DL2, stop.
    t, st = run(rules, ("DL1", "."), ("DL2", "..."), ("DL3", "DD."), ("DL2", "..."))
    assert cols(t, "level", "kind", "decision", "rule_next_level", "actual_next_level") == [
        ("DL1", "titration", "escalate", "DL2", "DL2"),
        ("DL2", "3+3", "escalate", "DL3", "DL3"),
        ("DL3", "3+3", "mtd_exceeded", "DL2", "DL2"),
        ("DL2", "expansion", "escalate", "", "")]
    assert t["decision_text"].iloc[2] == "MTD exceeded: de-escalate, expand DL2 to 6"
    assert t["decision_text"].iloc[3] == "stop: MTD = DL2 (DL3 exceeded)"
    assert not t["deviation"].any()
    assert st["mtd"] == "DL2" and st["exceeded"] == ["DL3"] and st["stop"] and st["highest"] == "DL3"


def test_2_of_6_exceeds_with_6_evaluable_below(rules):
    # DL2 1/3 -> 1/6 (6 evaluable) -> DL3 1/3 -> expansion 2/6: MTD exceeded, MTD = DL2.
    t, st = run(rules, ("DL1", "."), ("DL2", "D.."), ("DL2", "..."), ("DL3", "..D"), ("DL3", "D.."))
    assert cols(t, "cum_n_evaluable", "cum_n_dlt", "decision", "rule_next_level")[-2:] == [
        (3, 1, "expand", "DL3"), (6, 2, "mtd_exceeded", "")]
    assert t["decision_text"].iloc[-1] == "MTD exceeded: stop, MTD = DL2"
    assert st["mtd"] == "DL2" and st["stop"]


def test_2_of_2_exceeds_before_the_cohort_is_complete(rules):
    t, st = run(rules, ("DL1", "."), ("DL2", "DD"))
    assert cols(t, "cum_n_evaluable", "cum_n_dlt", "decision", "rule_next_level")[-1] == (2, 2, "mtd_exceeded", "DL1")
    assert st["mtd"] is None and "DL1 has 1 evaluable" in st["mtd_reason"]


def test_exceeded_at_the_lowest_level_stops(rules):
    t, st = run(rules, ("DL1", "D"), ("DL1", "D."))
    assert t["decision"].iloc[-1] == "mtd_exceeded" and t["rule_next_level"].iloc[-1] == ""
    assert st["mtd"] is None and st["stop"] and "lowest level DL1" in st["stop_reason"]


def test_dl4_reached_without_mtd(rules):
    t, st = run(rules, ("DL1", "."), ("DL2", "..."), ("DL3", "..."), ("DL4", "D.."), ("DL4", "..."))
    assert cols(t, "level", "decision", "rule_next_level")[-2:] == [("DL4", "expand", "DL4"), ("DL4", "escalate", "")]
    assert t["decision_text"].iloc[-1] == "stop: highest level done, MTD not reached"
    assert st["mtd"] == esc.NOT_REACHED and st["highest"] == "DL4" and st["stop"]
    assert "highest level DL4 completed with 1/6" in st["stop_reason"]
    # DL4 at 0/3 only: the rules ask for 6 there before stopping.
    t, st = run(rules, ("DL1", "."), ("DL2", "..."), ("DL3", "..."), ("DL4", "..."))
    assert cols(t, "decision_text", "rule_next_level")[-1] == ("highest level: expand to 6", "DL4")
    assert not st["stop"]


def test_escalation_against_the_rules_is_a_deviation(rules):
    # DL2 1/3 asks for expansion, but the next cohort went to DL3.
    t, _ = run(rules, ("DL1", "."), ("DL2", ".D."), ("DL3", "..."))
    row = t.iloc[1]
    assert (row["decision"], row["rule_next_level"], row["actual_next_level"]) == ("expand", "DL2", "DL3")
    assert row["deviation"] and row["deviation_text"] == "escalated to DL3 against the rules (rule: DL2)"
    assert t["deviation"].sum() == 1
    # After a trigger event in titration, a jump to DL2 is a deviation too; DL2 is then 3+3.
    t, _ = run(rules, ("DL1", "T"), ("DL2", "..."))
    assert t["deviation"].tolist() == [True, False] and t["mode"].tolist() == ["titration", "3+3"]


def test_escalating_before_the_dlt_windows_end_is_a_deviation(rules):
    t, _ = run(rules, ("DL1", "."), ("DL2", "..."), gap_days=10)
    assert t["deviation"].iloc[0]
    assert "before the end of this cohort's DLT window (2026-01-29)" in t["deviation_text"].iloc[0]


def test_open_dlt_window_is_pending(rules):
    t, st = run(rules, ("DL1", "."), ("DL2", "..p"))
    assert t["decision"].iloc[-1] == "pending" and not t["deviation"].any()
    # ... unless the DLTs already decide
    t, _ = run(rules, ("DL1", "."), ("DL2", "DDp"))
    assert t["decision"].iloc[-1] == "mtd_exceeded"


def test_decision_table_is_data():
    cfg = load_config(overrides={"escalation": {"decision_table": {"3/0": "escalate", "3/1": "stay",
                                                                   "*/2+": "mtd_exceeded"}}})
    r = esc.Rules.from_config(cfg)
    assert r.lookup(3, 1) == "stay" and r.lookup(4, 1) is None and r.lookup(4, 3) == "mtd_exceeded"
    with pytest.raises(ValueError, match="decision_table"):
        esc.Rules(levels=("DL1",), decision_table={"3/0": "jump"}).check()


@pytest.mark.parametrize("x, n, lcl, ucl", [(1, 6, 0.0042, 0.6412), (0, 3, 0.0, 0.7076), (2, 6, 0.0433, 0.7772)])
def test_exact_ci(x, n, lcl, ucl):
    p = compute_clopper_pearson(x, n)
    assert p.lcl == pytest.approx(lcl, abs=5e-5) and p.ucl == pytest.approx(ucl, abs=5e-5)


def test_ard_dlt_per_level(rules):
    s = seq(("DL1", "."), ("DL2", ".D."), ("DL2", "..n"))
    a = ard_dlt(s, list(rules.levels))
    get = lambda gl, stat: a[(a.group_level == gl) & (a.stat == stat)].value.iloc[0]  # noqa: E731
    assert (get("DL2", "n_treated"), get("DL2", "n_evaluable"), get("DL2", "n_dlt")) == ("6", "5", "1")
    assert float(get("DL2", "rate")) == pytest.approx(0.2)
    assert float(get("DL1", "ucl")) == pytest.approx(0.975)
    assert get("DL3", "rate") == "" and get("DL3", "reason") == "no subject treated at this level"
    assert get("overall", "n_dlt") == "1"


def test_pava_hand_examples():
    assert esc.pava([0.0, 0.5, 0.2, 0.6], [3, 2, 3, 1]) == pytest.approx([0.0, 0.32, 0.32, 0.6])
    assert esc.pava([0.4, 0.3, 0.1], [1, 1, 2]) == pytest.approx([0.225] * 3)
    assert esc.pava([0.1, 0.2], [1, 1]) == [0.1, 0.2]


def test_ard_isotonic(rules):
    # DL1 0/1, DL2 1/6, DL3 0/3, DL4 none: DL2 and DL3 pool to 1/9.
    s = seq(("DL1", "."), ("DL2", "D.."), ("DL2", "..."), ("DL3", "..."))
    a = ard_isotonic(s, list(rules.levels))
    est = {r.group_level: r.value for r in a[a.stat == "estimate"].itertuples()}
    assert float(est["DL2"]) == pytest.approx(1 / 9) and float(est["DL3"]) == pytest.approx(1 / 9)
    assert est["DL1"] == "0" and est["DL4"] == ""
    assert a[(a.group_level == "DL4") & (a.stat == "reason")].value.iloc[0].startswith("no DLT-evaluable")


def test_a_replaced_subject_joins_the_cohort(rules):
    # S03 left the DLT window without a DLT: replaced by S05; the DL2 cohort holds 4 subjects.
    t, _ = run(rules, ("DL1", "."), ("DL2", ".n.."), ("DL3", "..."))
    assert cols(t, "level", "n", "n_evaluable", "decision", "rule_next_level")[:2] == [
        ("DL1", 1, 1, "escalate", "DL2"), ("DL2", 4, 3, "escalate", "DL3")]
