"""The efficacy stage in the workflow (demo export, one session run): ADaM variables of
the results contract, ARD rows `bor`, `orr`, `dcr`, `km` in the contract's shape,
tables and text carrying the ARD's numbers, figures written."""
import math

import pandas as pd
import pytest

from analysis import ard as A
from analysis import efficacy_outputs as O
from analysis.config import load_config


@pytest.fixture(scope="module")
def res(demo_run):
    return demo_run[1]


@pytest.fixture(scope="module")
def ard(res):
    return pd.read_parquet(res / "ard/ard.parquet")


def test_adam_datasets_have_contract_variables(res):
    adsl = pd.read_parquet(res / "adam/adsl.parquet")
    adrs = pd.read_parquet(res / "adam/adrs.parquet")
    adtr = pd.read_parquet(res / "adam/adtr.parquet")
    adtte = pd.read_parquet(res / "adam/adtte.parquet")
    assert {"USUBJID", "PARAMCD", "AVALC", "ADT"} <= set(adrs.columns)
    assert {"OVR", "OVRCALC", "BOR", "CBOR", "HBOR"} <= set(adrs["PARAMCD"])
    for p in ("BOR", "CBOR", "HBOR"):       # one record per ADSL subject, MISSING without assessment
        sub = adrs[adrs["PARAMCD"] == p]
        assert sorted(sub["USUBJID"]) == sorted(adsl["USUBJID"])
        assert sub["AVALC"].notna().all()
    assert {"USUBJID", "PARAMCD", "ADT", "AVAL", "BASE", "PCHG", "NADIR"} <= set(adtr.columns)
    assert set(adtr["PARAMCD"]) == {"SDIAM"}
    assert {"USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC"} <= set(adtte.columns)
    assert set(adtte["PARAMCD"]) <= {"PFS", "OS", "DOR"} and {"PFS", "OS"} <= set(adtte["PARAMCD"])
    assert ((adtte["ADT"] - adtte["STARTDT"]).dt.days + 1 == adtte["AVAL"]).all()
    assert set(adtte["CNSR"]) <= {0, 1, 2, 3, 4}


def test_ard_rows_in_the_contract_shape(ard):
    a = A.ARD(ard)
    n_eff = a.int("sets", "EFFEVAL", "n")
    for analysis in ("orr", "dcr"):
        assert a.int(analysis, "CBOR", "n") == n_eff
        for stat in ("n_resp", "n", "estimate", "lcl", "ucl"):
            a.get(analysis, "CBOR", stat, "DOSELVL", "DL2")
    cats = ard[(ard.analysis == "bor") & (ard.variable == "CBOR") & (ard.group == "overall")
               & (ard.variable_level != "") & (ard.stat == "n")]
    assert cats["value"].astype(int).sum() == n_eff
    for v in ("PFS", "OS", "DOR"):
        for stat in ("n", "events", "median", "median_lcl", "median_ucl", "surv_91", "surv_91_lcl",
                     "surv_91_ucl", "surv_183", "surv_183_lcl", "surv_183_ucl"):
            a.get("km", v, stat)
    # A missing estimate is an empty value with the reason in a `reason` row.
    km = ard[(ard.analysis == "km") & (ard.stat != "reason")]
    empty = km[km["value"] == ""]
    assert len(empty)
    for r in empty.drop_duplicates(["group", "group_level", "variable"]).itertuples():
        why = a.get("km", r.variable, "reason", r.group, r.group_level)
        assert r.stat in O.parse_reasons(why), (r, why)


def test_logrank_between_dose_levels(ard):
    a = A.ARD(ard)
    for v in ("PFS", "OS"):
        p = a.num("logrank", v, "p", "DOSELVL", "all")
        assert math.isnan(p) or 0 <= p <= 1
        if math.isnan(p):
            a.get("logrank", v, "reason", "DOSELVL", "all")


def test_orr_is_the_clopper_pearson_of_the_bor_counts(ard):
    from analysis.stats import compute_clopper_pearson
    a = A.ARD(ard)
    cr, pr = (a.int("bor", "CBOR", "n", variable_level=c) for c in ("CR", "PR"))
    p = compute_clopper_pearson(cr + pr, a.int("bor", "CBOR", "n_total"))
    assert a.int("orr", "CBOR", "n_resp") == cr + pr
    assert a.num("orr", "CBOR", "lcl") == p.lcl and a.num("orr", "CBOR", "ucl") == p.ucl


def test_tables_and_text_carry_the_ard_numbers(res, ard):
    a = A.ARD(ard)
    k, n = a.int("orr", "CBOR", "n_resp"), a.int("orr", "CBOR", "n")
    cell = f"{k}/{n} ({100 * k / n:.1f})"
    assert cell in (res / "tables/T-ORR.md").read_text(encoding="utf-8")
    text = (res / "text/efficacy.md").read_text(encoding="utf-8")
    assert f"{100 * a.num('orr', 'CBOR', 'estimate'):.1f}% ({k}/{n}; 95% CI" in text
    med = a.num("km", "PFS", "median")
    tte = (res / "tables/T-TTE.md").read_text(encoding="utf-8")
    assert (f"{med / 30.4375:.1f} (" if not math.isnan(med) else "NR (") in tte
    html = (res / "reports/interim-report.html").read_text(encoding="utf-8")
    for token in ("T-BOR", "T-ORR", "T-CONC", "L-CONC", "T-TTE", "F-WATERFALL", "F-KM-PFS", "F-KM-OS"):
        assert token in html, token


def test_tables_read_only_the_ard(ard):
    """Change one ARD value: the table changes with it (no second computation)."""
    cfg = load_config()
    mod = ard.copy()
    m = (mod.analysis == "orr") & (mod.variable == "CBOR") & (mod.group == "overall") & (mod.stat == "estimate")
    mod.loc[m, "value"] = "0.5"
    t = O.table_orr(A.ARD(mod), cfg)
    assert any("(50.0)" in c for c in t.rows[0])


def test_figures_written(res):
    for fid in ("F-WATERFALL", "F-SPIDER", "F-SWIMMER", "F-KM-PFS", "F-KM-OS"):
        png = (res / f"figures/{fid}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        assert (res / f"figures/{fid}.svg").stat().st_size > 1000


def test_concordance_lists_every_disagreement(res, ard):
    a = A.ARD(ard)
    n_dis = a.int("conc", "OVR->OVRCALC", "n_pairs") - a.int("conc", "OVR->OVRCALC", "n_agree")
    listing = pd.read_csv(res / "tables/L-CONC.csv", dtype=str)
    assert len(listing) == max(n_dis, 1)
    if n_dis:
        assert (listing["Investigator"] != listing["Recomputed"]).all()
