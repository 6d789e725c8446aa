"""The efficacy stage end to end on the five hand-written subjects (tests/hand_subjects.py),
without the workflow: ADaM -> ARD -> tables, text and figures, also with no tumour
assessment at all and without the optional CM domain.

Worked answers (study day 1 = first CAR-NK infusion):
  S1: investigator PR on 2026-03-01 (day 56 >= 42, not confirmed) -> BOR PR, CBOR SD;
      recomputed: target T02 (node) not measured -> NE; liver only: T01 40 -> 28 mm
      = -30% -> PR, unconfirmed -> HBOR SD. PFS censored at that assessment, AVAL 56.
  S2: no assessment, death 2026-03 (-> 2026-03-31, day 59, within the 112-day window)
      -> CBOR MISSING, PFS event (death) AVAL 59, OS event AVAL 59.
  S5: only an independent assessor's record -> no investigator assessment -> PFS
      censored at day 1 (CNSR 4).
"""
import pandas as pd
import pytest

from analysis import ard as A
from analysis import efficacy as E
from analysis import efficacy_figures as F
from analysis import efficacy_outputs as O
from analysis.adsl import derive_adsl
from analysis.config import load_config
from hand_subjects import hand_domains

LEVELS = ["DL1", "DL2", "DL3", "DL4"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(overrides={"data_cut": "2026-10-31"})


def run(cfg, variant: str):
    d = hand_domains()
    present = set(d)
    if variant == "no_assessment_no_cm":
        d["RS"], d["TR"] = d["RS"].iloc[:0], d["TR"].iloc[:0]
        d.pop("CM")
        present.discard("CM")
    adsl = derive_adsl(d, cfg, present)
    out = E.derive_efficacy_adam(adsl, d, present, cfg)
    ard = A.combine([E.ard_response(adsl, out["adrs"], LEVELS), E.ard_concordance(out["adrs"]),
                     E.ard_km(adsl, out["adtte"], LEVELS), E.ard_logrank(adsl, out["adtte"], LEVELS)])
    return adsl, out, A.ARD(ard), d


@pytest.fixture(scope="module")
def full(cfg):
    return run(cfg, "full")


def test_worked_answers(full):
    _, out, _, _ = full
    r = out["adrs"].set_index(["PARAMCD", "USUBJID"])
    assert r.loc[("BOR", "S1"), "AVALC"] == "PR" and r.loc[("CBOR", "S1"), "AVALC"] == "SD"
    assert r.loc[("OVRCALC", "S1"), "AVALC"] == "NE" and r.loc[("HOVR", "S1"), "AVALC"] == "PR"
    assert r.loc[("HBOR", "S1"), "AVALC"] == "SD"
    assert r.loc[("CBOR", "S2"), "AVALC"] == "MISSING" and pd.isna(r.loc[("CBOR", "S2"), "ADT"])
    t = out["adtte"].set_index(["PARAMCD", "USUBJID"])
    assert (t.loc[("PFS", "S1"), "AVAL"], t.loc[("PFS", "S1"), "CNSR"]) == (56, 1)
    assert (t.loc[("PFS", "S2"), "AVAL"], t.loc[("PFS", "S2"), "CNSR"]) == (59, 0)
    assert (t.loc[("OS", "S2"), "AVAL"], t.loc[("OS", "S2"), "CNSR"]) == (59, 0)
    assert (t.loc[("PFS", "S5"), "AVAL"], t.loc[("PFS", "S5"), "CNSR"]) == (1, 4)
    assert "S3" not in t.index.get_level_values("USUBJID")          # screen failure: no origin


def test_ard_response_counts(full):
    _, _, a, _ = full
    # Efficacy set S1, S2: confirmed BOR SD (S1) and MISSING (S2).
    assert a.int("bor", "CBOR", "n_total") == 2
    assert a.int("bor", "CBOR", "n", variable_level="SD") == 1
    assert a.int("bor", "CBOR", "n", variable_level="MISSING") == 1
    assert a.int("orr", "BOR", "n_resp") == 1 and a.int("orr", "CBOR", "n_resp") == 0
    assert a.int("dcr", "CBOR", "n_resp") == 1
    # A dose level without efficacy subjects: n 0, empty estimate, a reason row.
    assert a.int("orr", "CBOR", "n", "DOSELVL", "DL1") == 0
    assert a.get("orr", "CBOR", "estimate", "DOSELVL", "DL1") == ""
    assert "no efficacy-evaluable subject" in a.get("orr", "CBOR", "reason", "DOSELVL", "DL1")
    assert a.get("rules", "NEW_THERAPY_CUT", "applied") == "Y"
    # Only one dose level (DL2) in the efficacy set: no log-rank test, with the reason.
    assert a.get("logrank", "PFS", "p", "DOSELVL", "all") == ""
    assert "fewer than two dose levels" in a.get("logrank", "PFS", "reason", "DOSELVL", "all")


@pytest.mark.parametrize("variant", ["full", "no_assessment_no_cm"])
def test_tables_text_and_figures_build(cfg, tmp_path, variant):
    adsl, out, a, d = run(cfg, variant)
    for t in (O.table_bor(a, cfg), O.table_orr(a, cfg), O.table_concordance(a),
              O.listing_concordance(out["adrs"]), O.table_tte(a, cfg)):
        assert t.rows
    conc = O.table_concordance(a)       # investigator (rows) x recomputed (columns, spanned)
    assert conc.columns[0] == "Investigator" and conc.columns[-1] == "Total"
    assert conc.spanners == ([("Recomputed from the measurements", 1, len(conc.columns) - 2)]
                             if len(conc.columns) > 2 else [])     # no pairs: no response columns
    text = O.efficacy_paragraph(a, cfg)
    assert "objective response rate" in text
    if variant != "full":
        assert any("NOT taken into account (CM domain not in the export)" in f
                   for f in O.table_bor(a, cfg).footnotes)
        assert O.listing_concordance(out["adrs"]).rows == [["No disagreement"] + [""] * 9]
    if variant == "full":
        return                     # the demo run draws the full figures (test_efficacy_outputs)
    figs = {
        "w": F.waterfall_plot(F.waterfall_data(out["adtr"], out["adrs"], adsl), 2),
        "k": F.km_plot(a, "PFS", "PFS", LEVELS),
    }
    bars, ev = F.swimmer_data(adsl, out["adrs"], d["EX"], cfg["data_cut"])
    figs["s"] = F.swimmer_plot(bars, ev, LEVELS)
    for name, p in figs.items():
        F.save_figure(p, tmp_path / f"{name}.png", tmp_path / f"{name}.svg", 5, 3)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_new_therapy_rule_can_be_switched_off():
    cfg = load_config(overrides={"data_cut": "2026-10-31", "efficacy": {"new_therapy_cut": False}})
    _, out, a, _ = run(cfg, "full")
    assert a.get("rules", "NEW_THERAPY_CUT", "applied") == "N"
    assert "switched off" in a.get("rules", "NEW_THERAPY_CUT", "reason")
    assert out["adrs"]["NACTDT"].isna().all()
