"""Eligibility audit (SAP §2): criteria metadata, each threshold just inside / at / just
outside, ULN-relative and sex-specific thresholds, Cockcroft-Gault against a value worked
by hand, optional domains, the last value on or before the first infusion, the ARD and
outputs; and on the demo export, exactly the planted deviations.

Hand-worked values
------------------
Cockcroft-Gault, woman, 60 y, 55 kg, creatinine 110 µmol/L:
    110 / 88.4 = 1.24434 mg/dL; (140 - 60) x 55 = 4400; 72 x 1.24434 = 89.593;
    4400 / 89.593 = 49.111; x 0.85 = 41.74 mL/min  -> 41.7
Man, 45 y, 85 kg, creatinine 170 µmol/L (ULN 111: 170 / 111 = 1.53 x ULN):
    170 / 88.4 = 1.92308; 95 x 85 = 8075; 72 x 1.92308 = 138.46; 8075 / 138.46 = 58.32 mL/min
x ULN limits: bilirubin ULN 21 -> 1.5 x 21 = 31.5; ALT ULN 40 -> 5 x 40 = 200;
    amylase ULN 135 -> 202.5; lipase ULN 60 -> 90; INR ULN 1.2 -> 1.8 (1.5 * 1.2 is
    1.7999999999999998 in floating point: 1.8 must still be met); creatinine ULN 81 -> 121.5.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import eligibility as E
from analysis import eligibility_outputs as O
from analysis.ard import ARD
from hand_subjects import frame

FIRST = "2026-03-10T10:00"   # first infusion of every synthetic subject
SCREEN = "2026-03-01"

# (criterion, value, sex, ULN or None, expected) -- one synthetic subject each.
CASES = [
    # absolute lower limits (>=): just inside, at, just outside
    ("IN7a-WBC", 1.51, "M", None, E.MET), ("IN7a-WBC", 1.5, "M", None, E.MET), ("IN7a-WBC", 1.49, "M", None, E.NOT_MET),
    ("IN7a-PLT", 61, "M", None, E.MET), ("IN7a-PLT", 60, "M", None, E.MET), ("IN7a-PLT", 59, "M", None, E.NOT_MET),
    ("IN7a-HGB", 81, "F", None, E.MET), ("IN7a-HGB", 80, "F", None, E.MET), ("IN7a-HGB", 79, "F", None, E.NOT_MET),
    ("IN7a-LYM", 0.41, "M", None, E.MET), ("IN7a-LYM", 0.4, "M", None, E.MET), ("IN7a-LYM", 0.39, "M", None, E.NOT_MET),
    # strict lower limits (>): the threshold itself is not met
    ("IN8-LVEF", 46, "M", None, E.MET), ("IN8-LVEF", 45, "M", None, E.NOT_MET), ("IN8-LVEF", 44, "M", None, E.NOT_MET),
    ("EX9-SPO2", 96, "F", None, E.MET), ("EX9-SPO2", 95, "F", None, E.NOT_MET), ("EX9-SPO2", 94, "F", None, E.NOT_MET),
    # strict upper limits (<): blood pressure below 140/90
    ("EX5-SBP", 139, "M", None, E.MET), ("EX5-SBP", 140, "M", None, E.NOT_MET), ("EX5-SBP", 141, "M", None, E.NOT_MET),
    ("EX5-DBP", 89, "M", None, E.MET), ("EX5-DBP", 90, "M", None, E.NOT_MET), ("EX5-DBP", 91, "M", None, E.NOT_MET),
    # ECOG 0-1
    ("IN6-ECOG", 0, "M", None, E.MET), ("IN6-ECOG", 1, "M", None, E.MET), ("IN6-ECOG", 2, "M", None, E.NOT_MET),
    # x ULN (<=)
    ("IN7b-BILI", 31.4, "M", 21, E.MET), ("IN7b-BILI", 31.5, "M", 21, E.MET), ("IN7b-BILI", 31.6, "M", 21, E.NOT_MET),
    ("IN7b-ALT", 199, "M", 40, E.MET), ("IN7b-ALT", 200, "M", 40, E.MET), ("IN7b-ALT", 201, "M", 40, E.NOT_MET),
    ("IN7b-AST", 199, "F", 40, E.MET), ("IN7b-AST", 200, "F", 40, E.MET), ("IN7b-AST", 201, "F", 40, E.NOT_MET),
    ("IN7b-AMYLASE", 202, "M", 135, E.MET), ("IN7b-AMYLASE", 202.5, "M", 135, E.MET), ("IN7b-AMYLASE", 203, "M", 135, E.NOT_MET),
    ("IN7b-LIPASE", 89, "M", 60, E.MET), ("IN7b-LIPASE", 90, "M", 60, E.MET), ("IN7b-LIPASE", 91, "M", 60, E.NOT_MET),
    ("EX7-INR", 1.79, "M", 1.2, E.MET), ("EX7-INR", 1.8, "M", 1.2, E.MET), ("EX7-INR", 1.81, "M", 1.2, E.NOT_MET),
    ("IN7b-CREAT", 121, "F", 81, E.MET), ("IN7b-CREAT", 121.5, "F", 81, E.MET),
    # sex-specific QTc: <= 450 ms men, <= 470 ms women
    ("EX6c-QTC", 449, "M", None, E.MET), ("EX6c-QTC", 450, "M", None, E.MET), ("EX6c-QTC", 451, "M", None, E.NOT_MET),
    ("EX6c-QTC", 469, "F", None, E.MET), ("EX6c-QTC", 470, "F", None, E.MET), ("EX6c-QTC", 471, "F", None, E.NOT_MET),
    ("EX6c-QTC", 460, "F", None, E.MET), ("EX6c-QTC", 460, "M", None, E.NOT_MET),
    # urine protein dipstick below 2+
    ("IN7c-PROT", "TRACE", "M", None, E.MET), ("IN7c-PROT", "1+", "M", None, E.MET),
    ("IN7c-PROT", "2+", "M", None, E.NOT_MET), ("IN7c-PROT", "3+", "M", None, E.NOT_MET),
    # age 18-75 inclusive
    ("IN1-AGE", 17, "M", None, E.NOT_MET), ("IN1-AGE", 18, "M", None, E.MET), ("IN1-AGE", 19, "M", None, E.MET),
    ("IN1-AGE", 74, "F", None, E.MET), ("IN1-AGE", 75, "F", None, E.MET), ("IN1-AGE", 76, "F", None, E.NOT_MET),
]

SOURCE = {  # criterion -> (domain, test variable, test code, value variable)
    "IN6-ECOG": ("QS", "QSCAT", "ECOG", "QSSTRESN"),
    "IN8-LVEF": ("CV", "CVTESTCD", "LVEF", "CVSTRESN"),
    "EX6c-QTC": ("EG", "EGTESTCD", "QTCF", "EGSTRESN"),
    "EX5-SBP": ("VS", "VSTESTCD", "SYSBP", "VSSTRESN"),
    "EX5-DBP": ("VS", "VSTESTCD", "DIABP", "VSSTRESN"),
    "EX9-SPO2": ("VS", "VSTESTCD", "OXYSAT", "VSSTRESN"),
}
ALL = {"DM", "EX", "LB", "VS", "QS", "EG", "CV"}


class Data:
    """Synthetic ADSL + domains built subject by subject."""

    def __init__(self):
        self.adsl, self.ex = [], []
        self.rec = {d: [] for d in ("LB", "VS", "QS", "EG", "CV")}

    def subject(self, u, sex="M", age=60.0, first=FIRST):
        self.adsl.append(dict(USUBJID=u, SUBJID=u, SEX=sex, AGE=float(age), SAFFL="Y",
                              TRTSDT=pd.Timestamp(first[:10]), DOSELVL="DL2"))
        self.ex.append(dict(USUBJID=u, EXSEQ=1.0, EXTRT="NKG2D CAR-NK", EXSTDTC=first))

    def value(self, u, cid, value, uln=None, dtc=SCREEN):
        if cid.startswith("IN7") or cid == "EX7-INR":
            code = cid.split("-", 1)[1]
            row = dict(USUBJID=u, LBTESTCD=code, LBDTC=dtc, LBSTNRHI=uln,
                       LBSTRESN=None if code == "PROT" else float(value),
                       LBSTRESC=str(value))
            self.rec["LB"].append(row)
        else:
            dom, tv, tc, vv = SOURCE[cid]
            self.rec[dom].append({"USUBJID": u, tv: tc, vv: float(value), f"{dom}DTC": dtc})

    def weight(self, u, kg, dtc=SCREEN):
        self.rec["VS"].append(dict(USUBJID=u, VSTESTCD="WEIGHT", VSSTRESN=float(kg), VSDTC=dtc))

    def build(self):
        cols = {"LB": ["USUBJID", "LBTESTCD", "LBSTRESN", "LBSTRESC", "LBSTNRHI", "LBDTC"],
                "VS": ["USUBJID", "VSTESTCD", "VSSTRESN", "VSDTC"], "QS": ["USUBJID", "QSCAT", "QSSTRESN", "QSDTC"],
                "EG": ["USUBJID", "EGTESTCD", "EGSTRESN", "EGDTC"], "CV": ["USUBJID", "CVTESTCD", "CVSTRESN", "CVDTC"]}
        doms = {d: frame(cols[d], [[r.get(c) for c in cols[d]] for r in recs]) for d, recs in self.rec.items()}
        for d, df in doms.items():
            for c in df.columns:
                if c.endswith(("STRESN", "STNRHI")):
                    df[c] = df[c].astype(float)
        doms["EX"] = frame(["USUBJID", "EXSEQ", "EXTRT", "EXSTDTC"],
                           [[r["USUBJID"], r["EXSEQ"], r["EXTRT"], r["EXSTDTC"]] for r in self.ex])
        adsl = pd.DataFrame(self.adsl)
        adsl["SEX"] = adsl["SEX"].astype("string")
        return adsl, doms


def run(data: Data, present=ALL, criteria=None) -> pd.DataFrame:
    adsl, doms = data.build()
    crit = E.read_criteria() if criteria is None else criteria
    return E.derive_adelig(adsl, doms, present, crit).set_index(["USUBJID", "CRITID"])


@pytest.fixture(scope="module")
def cases():
    d = Data()
    for i, (cid, value, sex, uln, _exp) in enumerate(CASES):
        u = f"C{i:02d}"
        d.subject(u, sex=sex, age=value if cid == "IN1-AGE" else 60)
        if cid != "IN1-AGE":
            d.value(u, cid, value, uln)
    return run(d)


# --------------------------------------------------------------------------- metadata

def test_criteria_metadata_is_versioned_and_complete():
    c = E.read_criteria()
    assert E.criterion_ids(c) == [
        "IN1-AGE", "IN6-ECOG", "IN7a-WBC", "IN7a-PLT", "IN7a-HGB", "IN7a-LYM", "IN7b-CREAT", "IN7b-BILI",
        "IN7b-ALT", "IN7b-AST", "IN7b-AMYLASE", "IN7b-LIPASE", "IN7c-PROT", "IN8-LVEF", "EX5-SBP",
        "EX5-DBP", "EX6c-QTC", "EX7-INR", "EX9-SPO2"]
    assert (c["version"] != "").all() and (c["protocol_text"] != "").all()
    qtc = c[c["criterion_id"] == "EX6c-QTC"].set_index("sex")["threshold"].to_dict()
    assert qtc == {"M": "450", "F": "470"}
    # SAP §2 where it differs from the registry text
    line = c.drop_duplicates("criterion_id").set_index("criterion_id")
    assert line.loc["IN7b-ALT", ["comparison", "threshold", "threshold_basis"]].tolist() == ["<=", "5", "ULN"]
    assert line.loc["IN7b-AST", "threshold"] == "5"
    assert line.loc["IN7a-HGB", ["threshold", "unit"]].tolist() == ["80", "g/L"]
    assert line.loc["EX5-DBP", ["comparison", "threshold"]].tolist() == ["<", "90"]
    assert line.loc["IN7b-CREAT", ["alternative", "alt_comparison", "alt_threshold"]].tolist() == \
        ["COCKCROFT_GAULT", ">", "50"]


def test_an_amendment_changes_one_line(tmp_path):
    src = E.CRITERIA_PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(k for k, line in enumerate(src) if line.startswith("IN7a-PLT,"))
    src[i] = src[i].replace(",>=,60,", ",>=,50,").replace(",1.0,", ",2.0,")
    amended = tmp_path / "criteria.csv"
    amended.write_text("".join(src), encoding="utf-8")
    d = Data()
    d.subject("A")
    d.value("A", "IN7a-PLT", 55)
    assert run(d).loc[("A", "IN7a-PLT"), "ELIGRES"] == E.NOT_MET
    r = run(d, criteria=E.read_criteria(amended)).loc[("A", "IN7a-PLT")]
    assert r["ELIGRES"] == E.MET and r["CRITVER"] == "2.0" and r["CRIT"] == "≥ 50×10⁹/L"


def test_malformed_metadata_is_refused():
    c = E.read_criteria()
    bad = c.copy()
    bad.loc[3, "comparison"] = "=>"
    bad.loc[4, "threshold"] = "sixty"
    with pytest.raises(E.CriteriaError, match="comparison '=>'.*\n.*threshold 'sixty'"):
        E.check_criteria(bad)


# --------------------------------------------------------------------------- thresholds

@pytest.mark.parametrize("i", range(len(CASES)),
                         ids=[f"{c}={v}{'/' + str(u) + 'ULN' if u else ''}-{s}" for c, v, s, u, _ in CASES])
def test_threshold(cases, i):
    cid, value, sex, uln, expected = CASES[i]
    r = cases.loc[(f"C{i:02d}", cid)]
    assert r["ELIGRES"] == expected, (cid, value, sex, uln, r["REASON"])
    if uln:
        assert r["ULN"] == uln and r["XULN"] == pytest.approx(float(value) / uln)


def test_not_met_record_carries_value_date_and_threshold(cases):
    i = next(k for k, c in enumerate(CASES) if c[:2] == ("EX6c-QTC", 451))
    r = cases.loc[(f"C{i:02d}", "EX6c-QTC")]
    assert r["AVAL"] == 451 and r["AVALC"] == "451 ms" and r["ADTC"] == SCREEN
    assert r["CRIT"] == "≤ 450 ms (men)"
    i = next(k for k, c in enumerate(CASES) if c[:2] == ("EX7-INR", 1.81))
    r = cases.loc[(f"C{i:02d}", "EX7-INR")]
    assert r["CRIT"] == "≤ 1.5 × ULN" and r["AVALC"] == "1.81 (1.51 × ULN)"


# --------------------------------------------------------------------------- Cockcroft-Gault

def test_cockcroft_gault_worked_by_hand():
    assert round(E.cockcroft_gault(60, 55, 110, "F"), 1) == 41.7
    assert E.cockcroft_gault(60, 55, 110, "F") == pytest.approx(41.744, abs=1e-3)
    assert round(E.cockcroft_gault(60, 55, 110, "M"), 1) == 49.1
    assert round(E.cockcroft_gault(45, 85, 170, "M"), 2) == 58.32


def test_creatinine_alternative():
    d = Data()
    # woman 60 y, 55 kg, creatinine 110 µmol/L above 1.5 x ULN 70 (= 105): CrCl 41.7 -> not met
    d.subject("W", sex="F", age=60)
    d.value("W", "IN7b-CREAT", 110, uln=70)
    d.weight("W", 55)
    # man 45 y, 85 kg, creatinine 170 = 1.53 x ULN 111: CrCl 58.3 > 50 -> met by the alternative
    d.subject("M", sex="M", age=45)
    d.value("M", "IN7b-CREAT", 170, uln=111)
    d.weight("M", 90, dtc="2026-02-01")
    d.weight("M", 85, dtc="2026-03-10T08:00")     # last weight before the first infusion
    d.weight("M", 60, dtc="2026-03-10T12:00")     # after the infusion: not used
    # above 1.5 x ULN and no weight: cannot be decided
    d.subject("N", sex="M", age=45)
    d.value("N", "IN7b-CREAT", 170, uln=111)
    res = run(d)
    w = res.loc[("W", "IN7b-CREAT")]
    assert w["ELIGRES"] == E.NOT_MET and w["METALTFL"] == "N"
    assert round(w["ALTVAL"], 1) == 41.7 and "41.7 mL/min, not > 50 mL/min" in w["REASON"]
    m = res.loc[("M", "IN7b-CREAT")]
    assert m["ELIGRES"] == E.MET and m["METALTFL"] == "Y" and m["WEIGHT"] == 85
    assert round(m["ALTVAL"], 2) == 58.32 and round(m["XULN"], 2) == 1.53
    n = res.loc[("N", "IN7b-CREAT")]
    assert n["ELIGRES"] == E.NOT_ASSESSABLE and "no weight" in n["REASON"]
    # VS absent from the export: the alternative is not assessable, never met
    res = run(d, present=ALL - {"VS"})
    assert res.loc[("M", "IN7b-CREAT"), "ELIGRES"] == E.NOT_ASSESSABLE
    assert "VS domain not in the export" in res.loc[("M", "IN7b-CREAT"), "REASON"]


# --------------------------------------------------------------------------- data

def test_missing_optional_domain_is_not_assessable():
    d = Data()
    for u in ("A", "B"):
        d.subject(u)
        d.value(u, "EX6c-QTC", 500)      # would not be met, but EG is not in the export
        d.value(u, "EX9-SPO2", 99)
    res = run(d, present=ALL - {"EG"})
    for u in ("A", "B"):
        assert res.loc[(u, "EX6c-QTC"), "ELIGRES"] == E.NOT_ASSESSABLE
        assert res.loc[(u, "EX6c-QTC"), "REASON"] == "EG domain not in the export"
        assert res.loc[(u, "EX9-SPO2"), "ELIGRES"] == E.MET
        # present domain, no record of the subject: not assessable either
        assert res.loc[(u, "IN8-LVEF"), "ELIGRES"] == E.NOT_ASSESSABLE
        assert res.loc[(u, "IN8-LVEF"), "REASON"] == "no value on or before the first infusion"
    ard = ARD(E.ard_eligibility(res.reset_index(), E.read_criteria()))
    assert ard.int("eligibility", "EX6c-QTC", "n_not_assessable") == 2
    assert ard.int("eligibility", "EX6c-QTC", "n_assessed") == 0
    assert ard.int("eligibility", "EX9-SPO2", "n_assessed") == 2


def test_last_value_on_or_before_the_first_infusion():
    d = Data()
    d.subject("A")                                   # screening 50, day-0 pre-dose 65 -> 65, met
    d.value("A", "IN7a-PLT", 50)
    d.value("A", "IN7a-PLT", 65, dtc="2026-03-10T07:30")
    d.subject("B")                                   # screening 65; 50 after the infusion ignored
    d.value("B", "IN7a-PLT", 65)
    d.value("B", "IN7a-PLT", 50, dtc="2026-03-10T11:00")
    d.subject("C")                                   # only a value after the first infusion
    d.value("C", "IN7a-PLT", 50, dtc="2026-03-11")
    d.subject("D")                                   # a partial date cannot be placed: not used
    d.value("D", "IN7a-PLT", 50, dtc="2026-02")
    res = run(d)
    a = res.loc[("A", "IN7a-PLT")]
    assert a["ELIGRES"] == E.MET and a["AVAL"] == 65 and a["ADTC"] == "2026-03-10T07:30"
    assert res.loc[("B", "IN7a-PLT"), "AVAL"] == 65
    assert res.loc[("C", "IN7a-PLT"), "ELIGRES"] == E.NOT_ASSESSABLE
    assert res.loc[("D", "IN7a-PLT"), "ELIGRES"] == E.NOT_ASSESSABLE


def test_unassessable_records_say_why():
    d = Data()
    d.subject("Z1", sex=" ")                         # sex not recorded: QTc has only sex-specific lines
    d.value("Z1", "EX6c-QTC", 440)
    d.value("Z1", "IN7b-BILI", 30)                   # no ULN on the record: x ULN cannot be computed
    d.value("Z1", "IN7c-PROT", "5+")                 # not on the dipstick scale
    d.subject("Z2", sex="f")                         # lower-case sex and a blank-padded dipstick value
    d.value("Z2", "EX6c-QTC", 465)                   # <= 470 ms for women
    d.value("Z2", "IN7b-BILI", 30, uln=20)           # 1.5 x ULN: 30 <= 30
    d.value("Z2", "IN7c-PROT", " trace ")
    res = run(d)
    z1 = res.loc["Z1"]
    assert z1.at["EX6c-QTC", "ELIGRES"] == E.NOT_ASSESSABLE
    assert z1.at["EX6c-QTC", "REASON"] == "sex not recorded (sex-specific threshold)"
    assert pd.isna(z1.at["EX6c-QTC", "AVAL"]) and pd.isna(z1.at["IN1-AGE", "SEX"])
    assert z1.at["IN7b-BILI", "REASON"] == "no upper limit of normal on the record"
    assert z1.at["IN7b-BILI", "AVALC"] == "30 µmol/L" and pd.isna(z1.at["IN7b-BILI", "XULN"])
    assert z1.at["IN7c-PROT", "REASON"] == "value '5+' not on the scale NEGATIVE|TRACE|1+|2+|3+|4+"
    assert z1.at["IN7c-PROT", "AVALC"] == "5+"
    z2 = res.loc["Z2"]
    assert z2.at["IN1-AGE", "SEX"] == "F" and z2.at["EX6c-QTC", "CRIT"] == "≤ 470 ms (women)"
    assert z2.at["EX6c-QTC", "ELIGRES"] == E.MET and z2.at["EX6c-QTC", "AVALC"] == "465 ms"
    assert z2.at["IN7b-BILI", "ELIGRES"] == E.MET and z2.at["IN7b-BILI", "AVALC"] == "30 µmol/L (1.50 × ULN)"
    assert z2.at["IN7c-PROT", "ELIGRES"] == E.MET and z2.at["IN7c-PROT", "AVALC"] == "TRACE"


def test_untreated_subjects_are_not_audited():
    d = Data()
    d.subject("A")
    d.value("A", "IN7a-PLT", 50)
    adsl, doms = d.build()
    adsl = pd.concat([adsl, pd.DataFrame([dict(USUBJID="SF", SUBJID="SF", SEX="M", AGE=50.0, SAFFL="N",
                                               TRTSDT=pd.NaT, DOSELVL=None)])], ignore_index=True)
    out = E.derive_adelig(adsl, doms, ALL, E.read_criteria())
    assert set(out["USUBJID"]) == {"A"} and len(out) == 19


# --------------------------------------------------------------------------- demo export

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from analysis.adsl import derive_adsl
    from analysis.config import load_config
    from analysis.demo import generate_export
    from analysis.ingest import ingest
    from analysis.pipeline import load_sdtm
    from analysis.steps_eligibility import load_domains

    base = tmp_path_factory.mktemp("elig_demo")
    generate_export(base / "export")
    ingest(base / "export", "2026-10-31", base / "out")
    meta = base / "out" / "sdtm" / "ingest.json"
    sdtm, present_all = load_sdtm(meta)
    adsl = derive_adsl(sdtm, load_config(overrides={"data_cut": "2026-10-31"}), present_all)
    domains, present = load_domains(meta)
    criteria = E.read_criteria()
    adelig = E.derive_adelig(adsl, domains, present, criteria)
    yield adelig, ARD(E.ard_eligibility(adelig, criteria)), criteria
    shutil.rmtree(base, ignore_errors=True)


def test_demo_lists_exactly_the_planted_deviations(demo):
    adelig, _, _ = demo
    dev = adelig[adelig["ELIGRES"] == E.NOT_MET]
    assert sorted(zip(dev["SUBJID"], dev["CRITID"])) == [
        ("0006", "IN7a-PLT"), ("0009", "IN7c-PROT"), ("0014", "EX9-SPO2"), ("0017", "EX6c-QTC")]
    v = dev.set_index("SUBJID")
    assert v.loc["0006", "AVAL"] == 57 and v.loc["0006", "ADTC"].startswith("2026-02-23T")  # day 0, pre-dose
    assert v.loc["0009", "AVALC"] == "2+"
    assert v.loc["0014", "AVAL"] == 95
    assert v.loc["0017", "AVAL"] == 462 and v.loc["0017", "SEX"] == "M" and v.loc["0017", "CRIT"] == "≤ 450 ms (men)"
    assert (adelig["ELIGRES"] != E.NOT_ASSESSABLE).all()
    assert adelig["USUBJID"].nunique() == 17   # treated: 19 in DM minus 2 screen failures


def test_demo_creatinine_met_by_cockcroft_gault(demo):
    adelig, _, _ = demo
    r = adelig[(adelig["SUBJID"] == "0011") & (adelig["CRITID"] == "IN7b-CREAT")].iloc[0]
    assert r["ELIGRES"] == E.MET and r["METALTFL"] == "Y"
    assert r["AVAL"] == 170 and round(r["XULN"], 2) == 1.53
    # hand: (140 - 45) x weight / (72 x 170 / 88.4), male
    assert r["ALTVAL"] == pytest.approx(95 * r["WEIGHT"] / (72 * 170 / 88.4))
    assert 55 < r["ALTVAL"] < 60 and 80 < r["WEIGHT"] < 90
    assert adelig["METALTFL"].eq("Y").sum() == 1


def test_demo_ard_and_outputs(demo, tmp_path):
    adelig, ard, criteria = demo
    assert ard.int("eligibility", "ANY", "n_subjects") == 17
    assert ard.int("eligibility", "ANY", "n_not_met") == 4
    assert ard.int("eligibility", "ANY", "n_not_assessable") == 0
    for cid in E.criterion_ids(criteria):
        assert ard.int("eligibility", cid, "n_assessed") + ard.int("eligibility", cid, "n_not_assessable") == 17
        exp = 1 if cid in ("IN7a-PLT", "IN7c-PROT", "EX9-SPO2", "EX6c-QTC") else 0
        assert ard.int("eligibility", cid, "n_not_met") == exp, cid
    assert ard.int("eligibility", "IN7b-CREAT", "n_met_by_alternative") == 1
    assert ard.get("eligibility", "IN7a-PLT", "version") == "1.0"

    t = O.table_elig(ard, criteria)
    plt_row = next(r for r in t.rows if r[0].strip() == "IN7a-PLT")
    assert plt_row[2:] == ["≥ 60×10⁹/L", "LB\u00a0PLT", "17", "1", "0"]
    assert t.rows[-1][-2:] == ["4", "0"]
    lst = O.listing_elig(adelig, criteria)
    assert [r[0] for r in lst.rows] == ["0006", "0009", "0014", "0017"]
    assert lst.rows[0][4:6] == ["57×10⁹/L", "2026-02-23 07:30"]
    assert any("0011 IN7b-CREAT" in f for f in lst.footnotes)
    O.write_aligned(t, tmp_path)
    md = (tmp_path / "T-ELIG.md").read_text(encoding="utf-8")
    assert "{#tbl-elig}" in md and md.splitlines()[1] == "|:---|:---|:---|:---|---:|---:|---:|"

    text = O.eligibility_paragraph(ard, criteria)
    assert "for the 17 treated subjects" in text and "4 subjects did not meet at least one criterion" in text
    assert "platelets (IN7a-PLT, 1 subject)" in text and "@tbl-l-elig" in text
    summary = O.eligibility_summary(ard, criteria)
    assert "4 of 17 subjects (23.5%)" in summary and "@tbl" not in summary
