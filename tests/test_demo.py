"""Tests of analysis.demo, the seeded synthetic export of NCT07021534.

The export is read back with plain pandas / pyreadstat (not with the project's reader), and
every planted fact is checked from the files themselves, independently of the generator's
own summary.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from analysis.demo import generate_export

CUT = "2026-10-31"
REQUIRED = ("dm", "ex", "ae", "lb", "tu", "tr", "rs", "ds")
FORMATS = ("csv", "xpt", "parquet")
LEVELS = {"15000000": "DL1", "30000000": "DL2", "50000000": "DL3", "70000000": "DL4"}


def _read(folder: Path, code: str) -> pd.DataFrame:
    """One domain as text (empty cell = ''), whatever its format."""
    csv, xpt = folder / f"{code}.csv", folder / f"{code}.xpt"
    if csv.exists():
        return pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8")
    df, _meta = pyreadstat.read_xport(str(xpt))
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        if df[c].dtype.kind == "f":
            out[c] = [("" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))) for v in df[c]]
        else:
            out[c] = df[c].fillna("").astype(str)
    return out


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("p1a") / "export"
    generate_export(out)
    return out


@pytest.fixture(scope="module")
def dom(export):
    cache: dict[str, pd.DataFrame] = {}

    def get(code: str) -> pd.DataFrame:
        if code not in cache:
            cache[code] = _read(export, code)
        return cache[code]

    return get


@pytest.fixture(scope="module")
def car_t_level(dom) -> pd.Series:
    """USUBJID -> dose level of the first CAR-T infusion actually given (EX)."""
    ex = dom("ex")
    t = ex[ex["EXTRT"] == "NKG2D CAR-T"].sort_values(["USUBJID", "EXSTDTC"])
    return t.drop_duplicates("USUBJID").set_index("USUBJID")["EXDOSE"].map(LEVELS)


# --- files -----------------------------------------------------------------------------------

def test_every_domain_in_exactly_one_format(export):
    names = sorted(p.name for p in export.iterdir())
    assert all(n == n.lower() for n in names)
    for code in REQUIRED + ("suppdm", "suppae", "mi", "pc", "cm", "ss", "vs", "qs", "eg", "cv"):
        present = [f for f in FORMATS if (export / f"{code}.{f}").exists()]
        assert len(present) == 1, (code, present)
    assert len([n for n in names if n.endswith(".xpt")]) >= 2
    assert not [p for p in export.parent.iterdir() if p.name.startswith(".")], "temporary folder left behind"


def test_xpt_files_are_sas_transport_v5_with_short_names(export):
    for path in sorted(export.glob("*.xpt")):
        raw = path.read_bytes()
        assert raw.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")  # v5 (v8 says LIBV8)
        df, meta = pyreadstat.read_xport(str(path))
        assert len(df) > 0
        assert meta.table_name == path.stem.upper() and len(meta.table_name) <= 8
        assert all(len(c) <= 8 for c in df.columns), path.name
        assert b"31OCT26:00:00:00" in raw[:800]  # header dates fixed to the data cut, not "now"


def test_same_seed_same_bytes_and_other_seed_differs(export, tmp_path):
    again = tmp_path / "again"
    generate_export(again)
    other = tmp_path / "other"
    generate_export(other, seed=7)
    names = sorted(p.name for p in export.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for n in names:
        assert (export / n).read_bytes() == (again / n).read_bytes(), n
    assert (export / "lb.csv").read_bytes() != (other / "lb.csv").read_bytes()
    assert (export / "dm.csv").read_bytes() != (other / "dm.csv").read_bytes()
    # the design does not depend on the seed: same subjects, same dose levels
    assert list(_read(export, "dm")["ARMCD"]) == list(_read(other, "dm")["ARMCD"])


def test_refuses_to_replace_a_folder_with_other_files(tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_export(out)
    assert (out / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError):
        generate_export(tmp_path / "y", n_subjects=50)  # n_subjects is for size="load"


def test_every_usubjid_is_in_dm(dom, export):
    dm = dom("dm")
    assert dm["USUBJID"].is_unique
    ids = set(dm["USUBJID"])
    for p in sorted(export.iterdir()):
        code = p.stem
        df = dom(code)
        assert set(df["USUBJID"]) <= ids, code
        assert (df["STUDYID"] == "NCT07021534").all(), code
    assert dm["USUBJID"].str.fullmatch(r"NCT07021534-01-\d{4}").all()
    assert (dm["USUBJID"].str[-4:] == dm["SUBJID"]).all() and (dm["SITEID"] == "01").all()


def test_direct_identifiers_are_present_to_be_stripped(dom):
    dm = dom("dm")
    assert (dm["BRTHDTC"].str.len() == 10).all()
    assert (dm["SUBJINIT"].str.fullmatch(r"[A-Z]{2,3}")).all()
    ages = dm["AGE"].astype(int)
    assert ages.between(18, 75).all()
    assert set(dm["SEX"]) <= {"M", "F"} and (dm["RACE"] == "ASIAN").mean() > 0.8


# --- controlled terms --------------------------------------------------------------------------

def test_controlled_terms(dom):
    ex, ae, supp, rs, tr, tu, ds = (dom(c) for c in ("ex", "ae", "suppae", "rs", "tr", "tu", "ds"))
    assert set(ex["EXROUTE"]) == {"INTRA-ARTERIAL", "INTRAVENOUS"}
    pairs = set(zip(ex["EXTRT"], ex["EXDOSU"], ex["EXROUTE"]))
    assert pairs == {("NKG2D CAR-NK", "cells", "INTRA-ARTERIAL"), ("NKG2D CAR-T", "cells/kg", "INTRAVENOUS")}
    assert set(ex.loc[ex["EXTRT"] == "NKG2D CAR-T", "EXSCAT"]) == {"CYCLE 1", "CYCLE 2"}
    assert set(ae["AETOXGR"]) <= {"1", "2", "3", "4", "5"}
    assert set(ae["AEREL"]) <= {"RELATED", "PROBABLY RELATED", "POSSIBLY RELATED", "UNLIKELY RELATED", "NOT RELATED"}
    assert set(ae["AESER"]) <= {"Y", "N"} and (ae["AEBODSYS"] != "").all()
    crs = ae[ae["AEDECOD"] == "Cytokine release syndrome"]
    assert len(crs) > 0 and (ae["AEDECOD"] == "Immune effector cell-associated neurotoxicity syndrome").sum() in (1, 2)
    assert set(crs["AEBODSYS"]) == {"Immune system disorders"}
    terms = {"AEDLT": {"Y", "N"}, "AERELPRD": {"CAR-NK", "CAR-T", "BOTH", "PROCEDURE"},
             "AEGRSCL": {"CTCAE V5.0", "ASTCT 2019"}}
    for qnam, allowed in terms.items():
        assert set(supp.loc[supp["QNAM"] == qnam, "QVAL"]) <= allowed, qnam
    gr = supp[supp["QNAM"] == "AEGRSCL"].merge(ae, left_on=["USUBJID", "IDVARVAL"], right_on=["USUBJID", "AESEQ"])
    assert (gr.loc[gr["AEDECOD"] == "Cytokine release syndrome", "QVAL"] == "ASTCT 2019").all()
    assert set(rs["RSSTRESC"]) <= {"CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"}
    assert set(rs["RSCAT"]) == {"RECIST 1.1"} and set(rs["RSEVAL"]) == {"INVESTIGATOR"}
    assert set(tr["TRTESTCD"]) == {"LDIAM", "SAXIS", "TUMSTATE"}
    assert set(tr.loc[tr["TRTESTCD"] == "TUMSTATE", "TRSTRESC"]) <= {"PRESENT", "ABSENT", "UNEQUIVOCAL PROGRESSION"}
    assert set(tu["TUORRES"]) == {"TARGET", "NON-TARGET", "NEW"} and set(tu["TUTESTCD"]) == {"TUMIDENT"}
    assert "LIVER" in set(tu["TULOC"])
    assert {"SCREEN FAILURE", "DEATH", "PROGRESSIVE DISEASE", "COMPLETED"} <= set(ds["DSDECOD"])
    sdm = dom("suppdm")
    assert set(sdm.loc[sdm["QNAM"] == "PHASE", "QVAL"]) == {"IA"}
    assert set(sdm.loc[sdm["QNAM"] == "COHORT", "QVAL"]) == {"CRC", "GC", "EC", "OTHER"}
    assert set(sdm.loc[sdm["QNAM"] == "NKSRC", "QVAL"]) == {"CORD BLOOD", "AUTOLOGOUS PB"}


def test_lb_units_and_ranges(dom):
    lb = dom("lb")
    units = {"WBC": "10^9/L", "NEUT": "10^9/L", "LYM": "10^9/L", "PLT": "10^9/L", "HGB": "g/L", "ALT": "U/L",
             "AST": "U/L", "BILI": "µmol/L", "CREAT": "µmol/L", "AMYLASE": "U/L", "LIPASE": "U/L", "ALB": "g/L",
             "CEA": "ng/mL", "CA199": "U/mL", "IL6": "pg/mL", "IFNG": "pg/mL", "IL10": "pg/mL", "TNFA": "pg/mL",
             "IL2": "pg/mL", "CRP": "mg/L", "FERRITIN": "ng/mL", "INR": "", "PROT": ""}
    assert set(lb["LBTESTCD"]) == set(units)
    for code, unit in units.items():
        assert set(lb.loc[lb["LBTESTCD"] == code, "LBSTRESU"]) == {unit}, code
    cyto = lb[lb["LBCAT"] == "CYTOKINE"]
    assert set(cyto["LBTESTCD"]) == {"IL6", "IFNG", "IL10", "TNFA", "IL2", "CRP", "FERRITIN"}
    num = lb[lb["LBTESTCD"] != "PROT"]
    v = num["LBSTRESN"].astype(float)
    assert (v >= 0).all() and (num["LBSTNRHI"].astype(float) > num["LBSTNRLO"].astype(float)).all()
    prot = lb[lb["LBTESTCD"] == "PROT"]
    assert (prot["LBSTRESN"] == "").all() and set(prot["LBSTRESC"]) <= {"NEGATIVE", "TRACE", "1+", "2+", "3+", "4+"}
    # LBSEQ unique within subject
    assert not lb.duplicated(["USUBJID", "LBSEQ"]).any()


# --- escalation and DLTs -------------------------------------------------------------------------

def test_dose_escalation_shape(dom, car_t_level):
    dm, ex = dom("dm"), dom("ex")
    counts = car_t_level.value_counts().to_dict()
    assert counts == {"DL1": 1, "DL2": 6, "DL3": 3, "DL4": 6}
    sf = dm.loc[dm["ARMCD"] == "SCRNFAIL", "USUBJID"]
    assert 1 <= len(sf) <= 2 and not set(sf) & set(ex["USUBJID"])
    assert 16 <= len(dm) <= 20
    nk_only = dm.loc[dm["ACTARMCD"] == "NOTASSGN", "USUBJID"].tolist()
    assert len(nk_only) == 1
    assert set(ex.loc[ex["USUBJID"] == nk_only[0], "EXTRT"]) == {"NKG2D CAR-NK"}
    assert dm.loc[dm["USUBJID"] == nk_only[0], "ARMCD"].item() in ("DL1", "DL2", "DL3", "DL4")
    # the first CAR-T level is the one planned in DM
    treated = dm.set_index("USUBJID").loc[car_t_level.index]
    assert (treated["ARMCD"] == car_t_level).all() and (treated["ACTARMCD"] == car_t_level).all()
    # cohorts in order of first CAR-T: DL1, then DL2 x6, DL3 x3, DL4 x6 (never back down)
    first = ex[ex["EXTRT"] == "NKG2D CAR-T"].groupby("USUBJID")["EXSTDTC"].min().sort_values()
    seq = [car_t_level[u] for u in first.index]
    assert seq == sorted(seq) and seq[0] == "DL1"


def _dlt_window(ex: pd.DataFrame) -> pd.DataFrame:
    nk = ex[ex["EXTRT"] == "NKG2D CAR-NK"].groupby("USUBJID")["EXSTDTC"].min().str[:10]
    ct = ex[ex["EXTRT"] == "NKG2D CAR-T"].groupby("USUBJID")["EXSTDTC"].min().str[:10]
    end = ct.map(lambda d: (date.fromisoformat(d) + timedelta(days=28)).isoformat())
    return pd.DataFrame({"start": nk, "end": end}).dropna()


def test_dlts_per_level_and_trigger_events(dom, car_t_level):
    ae, supp, ex = dom("ae"), dom("suppae"), dom("ex")
    q = supp.pivot_table(index=["USUBJID", "IDVARVAL"], columns="QNAM", values="QVAL", aggfunc="first").reset_index()
    a = ae.merge(q, left_on=["USUBJID", "AESEQ"], right_on=["USUBJID", "IDVARVAL"], how="left")
    a["level"] = a["USUBJID"].map(car_t_level)
    dlt = a[a["AEDLT"] == "Y"]
    assert dlt.groupby("level")["USUBJID"].nunique().to_dict() == {"DL2": 1, "DL4": 1}
    assert (dlt["AETOXGR"].astype(int) >= 3).all()
    w = _dlt_window(ex)
    a = a.join(w, on="USUBJID")
    a["in_window"] = (a["AESTDTC"].str[:10] >= a["start"]) & (a["AESTDTC"].str[:10] <= a["end"])
    assert dlt.merge(a[["USUBJID", "AESEQ", "in_window"]])["in_window"].all()
    g = a["AETOXGR"].astype(int)
    related = a["AEREL"].isin(["RELATED", "PROBABLY RELATED", "POSSIBLY RELATED"])
    trigger = a["in_window"] & (g >= 2) & (related | (a["AEDECOD"] == "Cytokine release syndrome"))
    # accelerated titration: the DL1 patient had no trigger event; 3+3 levels have some
    assert not trigger[a["level"] == "DL1"].any()
    assert trigger[a["level"].isin(["DL2", "DL3", "DL4"])].any()
    assert ((a["AEDECOD"] == "Cytokine release syndrome") & (g == 2)).any()
    # exactly one serious AE in phase IA; no grade 5 event
    assert (ae["AESER"] == "Y").sum() == 1 and not (g == 5).any()


def test_infusion_schedule(dom):
    ex = dom("ex")
    ex = ex.assign(day=ex["EXSTDTC"].str[:10].map(date.fromisoformat), dose=ex["EXDOSE"].astype(float))
    missed_c2 = 0
    for uid, g in ex.sort_values("EXSTDTC").groupby("USUBJID"):
        nk = g[g["EXTRT"] == "NKG2D CAR-NK"]
        assert list(nk["dose"]) == [1e9, 2e9], uid
        assert (nk["day"].iloc[1] - nk["day"].iloc[0]).days == 1
        assert set(nk["EXROUTE"]) == {"INTRA-ARTERIAL"}
        t = g[g["EXTRT"] == "NKG2D CAR-T"]
        if t.empty:
            continue
        assert 7 <= (t["day"].iloc[0] - nk["day"].iloc[0]).days <= 14, uid
        assert t["dose"].nunique() == 1
        for cyc in ("CYCLE 1", "CYCLE 2"):
            c = t[t["EXSCAT"] == cyc]
            if c.empty:
                assert cyc == "CYCLE 2"
                missed_c2 += 1
                continue
            assert len(c) == 2 and (c["day"].iloc[1] - c["day"].iloc[0]).days == 1, (uid, cyc)
        c1, c2 = t[t["EXSCAT"] == "CYCLE 1"], t[t["EXSCAT"] == "CYCLE 2"]
        if len(c2):
            assert 12 <= (c2["day"].iloc[0] - c1["day"].iloc[0]).days <= 17
    assert missed_c2 in (1, 2)


# --- dates and the data cut --------------------------------------------------------------------

def test_dates_before_the_cut_except_planted_records(dom, export):
    after: dict[str, int] = {}
    for p in sorted(export.iterdir()):
        df = dom(p.stem)
        for col in [c for c in df.columns if c.endswith("DTC") and c != "DSDTC"]:
            d = df[col].str[:10]
            n = int(((d.str.len() == 10) & (d > CUT)).sum())
            if n:
                after[p.stem] = after.get(p.stem, 0) + n
    assert after == {"lb": 3, "ae": 1}
    dm = dom("dm")
    assert dm["RFSTDTC"].replace("", None).dropna().min()[:7] == "2025-11"


def test_partial_dates_and_deaths(dom):
    ae, rs, dm, ds, ss = dom("ae"), dom("rs"), dom("dm"), dom("ds"), dom("ss")
    assert (ae["AESTDTC"].str.len() == 7).sum() >= 2
    assert (ae["AEENDTC"] != "").sum() > len(ae) // 2
    ovr = rs[rs["RSTESTCD"] == "OVRLRESP"]
    assert 1 <= (ovr["RSDTC"].str.len() == 7).sum() <= 2
    dead = dm.loc[dm["DTHFL"] == "Y", "USUBJID"]
    assert 2 <= len(dead) <= 3
    assert set(ds.loc[ds["DSDECOD"] == "DEATH", "USUBJID"]) == set(dead)
    assert set(ss.loc[ss["SSSTRESC"] == "DEAD", "USUBJID"]) == set(dead)
    assert set(ss["SSTESTCD"]) == {"SURVSTAT"} and set(ss["SSSTRESC"]) <= {"ALIVE", "DEAD", "UNKNOWN"}


# --- tumour response -----------------------------------------------------------------------------

def _recompute(tu: pd.DataFrame, tr: pd.DataFrame) -> dict[tuple[str, str], str]:
    """RECIST 1.1 timepoint response from the measurements (tenths of mm, integers)."""
    out = {}
    for uid, t in tr.groupby("USUBJID"):
        lesions = tu[(tu["USUBJID"] == uid)]
        targets = lesions.loc[lesions["TUORRES"] == "TARGET", "TULNKID"].tolist()
        base_rows = t[(t["VISIT"] == "SCREENING") & t["TRLNKID"].isin(targets)]
        base = sum(round(float(x) * 10) for x in base_rows["TRSTRESN"])
        nadir = base
        for visit, v in sorted(t[t["VISIT"] != "SCREENING"].groupby("VISIT"), key=lambda kv: kv[1]["TRDTC"].iloc[0]):
            tv = v[v["TRLNKID"].isin(targets)]
            vals = [None if x == "" else round(float(x) * 10) for x in tv["TRSTRESN"]]
            nt = v[v["TRLNKID"].str.startswith("NT")]
            new = ((lesions["TUORRES"] == "NEW") & (lesions["VISIT"] == visit)).any()
            ntpd = (nt["TRSTRESC"] == "UNEQUIVOCAL PROGRESSION").any()
            got = [x for x in vals if x is not None]
            s = sum(got)
            pd_ = (s - nadir) >= 50 and (s - nadir) * 5 >= nadir
            if len(got) < len(vals):
                resp = "PD" if pd_ else "NE"
            elif pd_:
                resp = "PD"
            elif s * 10 <= base * 7:
                resp = "PR"
            else:
                resp = "SD"
            if new or ntpd:
                resp = "PD"
            if len(got) == len(vals):
                nadir = min(nadir, s)
            out[(uid, visit)] = resp
    return out


def test_investigator_response_agrees_with_measurements_but_twice(dom):
    tu, tr, rs = dom("tu"), dom("tr"), dom("rs")
    calc = _recompute(tu, tr)
    inv = rs[rs["RSTESTCD"] == "OVRLRESP"].set_index(["USUBJID", "VISIT"])["RSSTRESC"].to_dict()
    assert set(calc) == set(inv)
    diff = {k: (inv[k], calc[k]) for k in inv if inv[k] != calc[k]}
    assert len(diff) == 2, diff
    assert sorted(diff.values()) == [("PD", "SD"), ("PR", "SD")]
    assert {"PR", "SD", "PD", "NE"} <= set(inv.values())
    # new lesions appear in TU when progression is by a new lesion
    new = tu[tu["TUORRES"] == "NEW"]
    assert len(new) >= 1 and new["TULNKID"].str.fullmatch(r"NEW\d\d").all()
    assert all(inv[(u, v)] == "PD" for u, v in zip(new["USUBJID"], new["VISIT"]))
    # every screened-in subject has a liver lesion; targets measured by LDIAM, nodes by SAXIS
    scr = tu[tu["VISIT"] == "SCREENING"]
    assert scr.groupby("USUBJID")["TULOC"].apply(lambda s: "LIVER" in set(s)).all()
    trt = tr.merge(scr[["USUBJID", "TULNKID", "TULOC"]], left_on=["USUBJID", "TRLNKID"],
                   right_on=["USUBJID", "TULNKID"])
    nodes = trt[(trt["TULOC"] == "LYMPH NODE") & trt["TRLNKID"].str.startswith("T")]
    assert len(nodes) and set(nodes["TRTESTCD"]) == {"SAXIS"}


def test_confirmed_and_unconfirmed_pr(dom):
    rs = dom("rs")
    ovr = rs[rs["RSTESTCD"] == "OVRLRESP"].copy()
    ovr["d"] = ovr["RSDTC"].map(lambda s: date.fromisoformat(s if len(s) == 10 else s + "-28"))
    confirmed = unconfirmed = 0
    for _, g in ovr.sort_values("d").groupby("USUBJID"):
        r = list(zip(g["RSSTRESC"], g["d"]))
        prs = [i for i, (x, _) in enumerate(r) if x == "PR"]
        if not prs:
            continue
        i = prs[0]
        if any(x == "PR" and (d - r[i][1]).days >= 28 for x, d in r[i + 1:]):
            confirmed += 1
        else:
            unconfirmed += 1
    assert confirmed >= 2 and unconfirmed >= 1


# --- labs, biomarkers, kinetics ------------------------------------------------------------------

def _baseline(lb: pd.DataFrame, ex: pd.DataFrame, code: str) -> pd.Series:
    first = ex.groupby("USUBJID")["EXSTDTC"].min()
    x = lb[lb["LBTESTCD"] == code].copy()
    x = x[x["LBDTC"] <= x["USUBJID"].map(first).fillna("")]
    return x.sort_values("LBDTC").groupby("USUBJID").last()["LBSTRESN" if code != "PROT" else "LBSTRESC"]


def test_lab_signals_and_eligibility_deviations(dom):
    lb, ex, vs, eg, ae = dom("lb"), dom("ex"), dom("vs"), dom("eg"), dom("ae")
    v = lb["LBSTRESN"].replace("", None).astype(float)
    hi = lb["LBSTNRHI"].replace("", None).astype(float)
    post = lb["LBDTC"] > lb["USUBJID"].map(ex.groupby("USUBJID")["EXSTDTC"].min()).fillna("9999")
    assert ((lb["LBTESTCD"] == "NEUT") & (v < 1.0) & post).any()  # grade 3 neutropenia
    assert ((lb["LBTESTCD"] == "ALT") & (v > 3 * hi) & post).any()  # ALT > 3 x ULN
    # IL-6 peaks higher in subjects with CRS grade >= 2 than in subjects without CRS
    crs = ae[ae["AEDECOD"] == "Cytokine release syndrome"].groupby("USUBJID")["AETOXGR"].max().astype(int)
    il6 = lb[(lb["LBTESTCD"] == "IL6") & post].assign(v=v).groupby("USUBJID")["v"].max()
    cart = ex.loc[ex["EXTRT"] == "NKG2D CAR-T", "USUBJID"].unique()
    severe = il6[il6.index.isin(crs[crs >= 2].index)]
    none = il6[il6.index.isin(cart) & ~il6.index.isin(crs.index)]
    assert len(severe) and len(none) and severe.median() > 5 * none.median()
    # planted eligibility deviations among treated subjects (last value before the first infusion)
    plt = _baseline(lb, ex, "PLT").astype(float)
    assert (plt < 60).sum() == 1
    prot = _baseline(lb, ex, "PROT")
    assert prot.isin(["2+", "3+", "4+"]).sum() == 1
    first = ex.groupby("USUBJID")["EXSTDTC"].min()
    spo2 = vs[(vs["VSTESTCD"] == "OXYSAT") & (vs["VSDTC"] <= vs["USUBJID"].map(first).fillna(""))]
    assert (spo2.sort_values("VSDTC").groupby("USUBJID").last()["VSSTRESN"].astype(float) <= 95).sum() == 1
    assert (eg["EGSTRESN"].astype(float) > 450).sum() == 1
    # LBBLFL: one baseline record per treated subject and test
    bl = lb[lb["LBBLFL"] == "Y"]
    assert not bl.duplicated(["USUBJID", "LBTESTCD"]).any()
    assert set(bl["USUBJID"]) == set(ex["USUBJID"])


def test_mi_pc_cm(dom):
    mi, pc, cm, dm, ex = dom("mi"), dom("pc"), dom("cm"), dom("dm"), dom("ex")
    h = mi.assign(v=mi["MISTRESN"].astype(float))
    assert h["v"].between(0, 300).all() and set(h["MITESTCD"]) == {"MICA", "MICB"} | {f"ULBP{i}" for i in range(1, 7)}
    assert set(h["MISPEC"]) == {"TUMOR TISSUE"} and set(h["MIMETHOD"]) == {"IHC"}
    top = h.groupby("USUBJID")["v"].max()
    assert (top >= 100).sum() >= 3 and (top < 100).sum() >= 3
    treated = set(ex["USUBJID"])
    assert len(treated - set(mi["USUBJID"])) == 1
    # kinetics: both products distinguishable, BLQ convention, tissue within 3 days of blood
    assert set(pc["PCREFID"]) == {"CAR-NK", "CAR-T"} and set(pc["PCTESTCD"]) == {"CARDNA", "CARNK", "CART"}
    blq = pc[pc["PCORRES"].isin(["BLQ", "<LLOQ"])]
    assert len(blq) and (blq["PCSTRESN"] == "").all() and (blq["PCLLOQ"] != "").all()
    q = pc[pc["PCSTRESN"] != ""]
    assert (q["PCSTRESN"].astype(float) >= q["PCLLOQ"].astype(float)).all()
    tissue = pc[pc["PCSPEC"].isin(["TUMOR TISSUE", "ASCITES"])]
    assert len(tissue) >= 2
    blood = pc[(pc["PCSPEC"] == "BLOOD") & (pc["PCTESTCD"] == "CARDNA")]
    for _, r in tissue.iterrows():
        d = date.fromisoformat(r["PCDTC"][:10])
        days = blood.loc[blood["USUBJID"] == r["USUBJID"], "PCDTC"].str[:10].map(date.fromisoformat)
        assert ((days - d).map(lambda x: abs(x.days)) <= 3).any()
    # CAR-T expansion peaks 1-2 weeks after the first CAR-T infusion
    ct = pc[(pc["PCREFID"] == "CAR-T") & (pc["PCTESTCD"] == "CARDNA") & (pc["PCSPEC"] == "BLOOD") & (pc["PCSTRESN"] != "")]
    tmax = ct.assign(v=ct["PCSTRESN"].astype(float)).sort_values("v").groupby("USUBJID").last()["PCTPT"]
    days = tmax.str.extract(r"DAY (\d+)")[0].astype(float)
    assert days.between(5, 21).mean() >= 0.8
    # prior regimens 1-5 per treated subject; CRS management at CRS onset; subsequent therapy
    prior = cm[cm["CMCAT"] == "PRIOR CANCER THERAPY"].groupby("USUBJID")["CMGRPID"].nunique()
    assert prior.between(1, 5).all() and set(prior.index) == set(dm["USUBJID"])
    assert {"TOCILIZUMAB", "DEXAMETHASONE"} <= set(cm.loc[cm["CMCAT"] == "CRS MANAGEMENT", "CMDECOD"])
    assert 1 <= cm.loc[cm["CMCAT"] == "SUBSEQUENT CANCER THERAPY", "USUBJID"].nunique() <= 2


# --- larger sizes ----------------------------------------------------------------------------------

def test_phase1b_adds_four_expansion_cohorts(dom, tmp_path):
    out = tmp_path / "p1b"
    summary = generate_export(out, size="phase1b")
    dm = _read(out, "dm")
    assert len(dm) == len(dom("dm")) + 72
    sdm = _read(out, "suppdm")
    ib = sdm.loc[(sdm["QNAM"] == "PHASE") & (sdm["QVAL"] == "IB"), "USUBJID"]
    assert len(ib) == 72
    coh = sdm[(sdm["QNAM"] == "COHORT") & sdm["USUBJID"].isin(ib)]["QVAL"].value_counts().to_dict()
    assert coh == {"CRC": 18, "GC": 18, "EC": 18, "OTHER": 18}
    assert set(dm.loc[dm["USUBJID"].isin(ib), "ARMCD"]) == {"DL4"}
    assert summary["dlt_per_level"] == {"DL1": 0, "DL2": 1, "DL3": 0, "DL4": 1}
    ex = _read(out, "ex")
    assert set(ex["USUBJID"]) <= set(dm["USUBJID"])


def test_small_load_export_is_consistent(tmp_path):
    out = tmp_path / "load"
    summary = generate_export(out, size="load", n_subjects=120, seed=3)
    dm = _read(out, "dm")
    assert len(dm) == 120 == summary["n_subjects_dm"]
    ids = set(dm["USUBJID"])
    for code in ("ex", "ae", "lb", "tr", "rs", "pc"):
        assert set(_read(out, code)["USUBJID"]) <= ids
    lb = _read(out, "lb")
    assert not lb.duplicated(["USUBJID", "LBSEQ"]).any() and len(lb) > 120 * 150
