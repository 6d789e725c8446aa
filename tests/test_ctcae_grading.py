"""NCI-CTCAE v5.0 lab grading (SAP §5): the criteria table analysis/metadata/ctcae_v5_lab.csv
checked against the admiral metadata it was translated from (never run: its R text is
parsed here as text), and grades at each cut-off (just below, at, just above), relative to
the ULN/LLN and to baseline where the criterion uses it. Expected grades worked by hand."""
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.adlb import grade_values, load_criteria

ADMIRAL = Path(__file__).resolve().parents[2] / "shared/reference/pharmaverse/metadata/atoxgr_criteria_ctcv5.csv"
if not ADMIRAL.exists():  # CI lays shared/ beside the clone
    ADMIRAL = Path("/work/shared/reference/pharmaverse/metadata/atoxgr_criteria_ctcv5.csv")
REQUIRED = {"HGB": "Anemia", "WBC": "White blood cell decreased", "NEUT": "Neutrophil count decreased",
            "LYM": "Lymphocyte count decreased", "PLT": "Platelet count decreased",
            "ALT": "Alanine aminotransferase increased", "AST": "Aspartate aminotransferase increased",
            "BILI": "Blood bilirubin increased", "CREAT": "Creatinine increased",
            "AMYLASE": "Serum amylase increased", "LIPASE": "Lipase increased", "INR": "INR increased"}


@pytest.fixture(scope="module")
def crit():
    return load_criteria()


@pytest.fixture(scope="module")
def admiral():
    if not ADMIRAL.exists():
        pytest.skip("admiral reference metadata not available")
    return pd.read_csv(ADMIRAL, dtype=str, keep_default_na=False).set_index("TERM")


def test_required_terms_are_covered(crit):
    have = crit.drop_duplicates("paramcd").set_index("paramcd")["term"].to_dict()
    for cd, term in REQUIRED.items():
        assert have.get(cd) == term


# ---- the R text of admiral's GRADE_CRITERIA_CODE, parsed (not run) -------------------------

def _split_top(s: str, sep: str) -> list[str]:
    out, depth, cur, i = [], 0, "", 0
    while i < len(s):
        ch = s[i]
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and s.startswith(sep, i):
            out.append(cur.strip())
            cur, i = "", i + len(sep)
            continue
        cur += ch
        i += 1
    out.append(cur.strip())
    return out


_CMP = re.compile(r"^signif\(AVAL, signif_dig\) (<=|>=|<|>) (?:signif\((?:([\d.]+)\*)?(ANRLO|ANRHI|BASE|[\d.]+), "
                  r"signif_dig\)|([\d.]+))$")
_REF = {"ANRLO": "LLN", "ANRHI": "ULN", "BASE": "BASE"}


def parse_admiral(code: str) -> list[tuple]:
    """Clauses of case_when() as ('NA', var) and ('G', grade, op, factor, reference, condition)."""
    body = code.strip()
    assert body.startswith("case_when(") and body.endswith(")")
    out = []
    for clause in _split_top(body[len("case_when("):-1], ","):
        lhs, rhs = (x.strip() for x in clause.rsplit("~", 1))
        if rhs == "NA_character_":
            for var in re.findall(r"is\.na\((\w+)\)", lhs):
                if var != "AVAL":
                    out.append(("NA", var))
            continue
        grade = int(rhs.strip('"'))
        if lhs == "TRUE":
            continue
        cond, cmp_ = "", None
        for term in _split_top(lhs, "&"):
            if term == "!(BNRIND %in% high_indicator)":
                cond = "BASELINE_NORMAL"
            elif term == "BNRIND %in% high_indicator":
                cond = "BASELINE_HIGH"
            elif re.fullmatch(r"!is\.na\(\w+\)", term):
                continue  # a guard: a missing reference skips the clause
            else:
                m = _CMP.match(term)
                assert m, f"unparsed admiral clause: {term}"
                op, factor, ref, literal = m.groups()
                if literal is not None:
                    cmp_ = (op, float(literal), "ABSOLUTE")
                elif ref in _REF:
                    cmp_ = (op, float(factor or 1), _REF[ref])
                else:
                    cmp_ = (op, float(ref), "ABSOLUTE")
        out.append(("G", grade, *cmp_, cond))
    return out


def ours(rows: pd.DataFrame) -> list[tuple]:
    """Our rows in the same canonical form: a row with if_missing=na is preceded by the NA
    check of its reference (once); ON_ANTICOAGULATION rows are admiral's unconditional ones."""
    out, checked = [], set()
    for r in rows.itertuples(index=False):
        var = {"ULN": "ANRHI", "LLN": "ANRLO", "BASE": "BASE"}.get(r.relative_to)
        if r.if_missing == "na" and var and var not in checked:
            out.append(("NA", var))
            checked.add(var)
        if r.comparison == "any":
            continue
        cond = "" if r.condition == "ON_ANTICOAGULATION" else r.condition
        out.append(("G", r.grade, r.comparison, float(r.factor), r.relative_to, cond))
    return out


@pytest.mark.parametrize("paramcd", sorted(REQUIRED) + ["ALB"])
def test_table_matches_admiral_code(crit, admiral, paramcd):
    rows = crit[crit["paramcd"] == paramcd]
    term = rows["term"].iloc[0]
    ref = admiral.loc[term]
    assert ours(rows) == parse_admiral(ref["GRADE_CRITERIA_CODE"])
    assert set(rows["direction"]) == {ref["DIRECTION"]}
    for r in rows.itertuples(index=False):
        if r.relative_to == "ABSOLUTE" and ref["UNIT_CHECK"]:
            assert r.unit == ref["UNIT_CHECK"]


@pytest.mark.parametrize("paramcd", sorted(REQUIRED) + ["ALB"])
def test_table_matches_admiral_grade_text(crit, admiral, paramcd):
    rows = crit[(crit["paramcd"] == paramcd) & (crit["grade"] > 0)]
    ref = admiral.loc[rows["term"].iloc[0]]
    for r in rows.itertuples(index=False):
        text = ref[f"GRADE_{r.grade}"]
        assert r.source_criterion == text  # verbatim
        numbers = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", text.replace(",", ""))}
        if r.relative_to == "LLN":
            assert "<LLN" in text
        elif r.relative_to == "ULN" and r.factor == 1:
            assert ">ULN" in text
        else:
            assert float(r.factor) in numbers, (r.term, r.grade, r.factor, text)
        if r.relative_to == "BASE":
            assert "baseline" in text
        if r.relative_to == "ULN" and r.factor != 1:
            assert "ULN" in text


# ---- grades at the cut-offs -------------------------------------------------------------------

N, H = "NORMAL", "HIGH"
NA = None
CASES = [
    # paramcd, AVAL, ANRLO, ANRHI, BASE, BNRIND, expected grade
    *[("HGB", v, 120, 160, None, None, g) for v, g in
      [(79.9, 3), (80, 2), (80.1, 2), (99.9, 2), (100, 1), (100.1, 1), (119.9, 1), (120, 0), (120.1, 0)]],
    ("HGB", 100, None, 160, None, None, NA), ("HGB", 79, None, 160, None, None, 3),
    *[("WBC", v, 3.5, 9.5, None, None, g) for v, g in
      [(0.99, 4), (1.0, 3), (1.01, 3), (1.99, 3), (2.0, 2), (2.99, 2), (3.0, 1), (3.49, 1), (3.5, 0)]],
    *[("NEUT", v, 1.8, 6.3, None, None, g) for v, g in
      [(0.49, 4), (0.5, 3), (0.51, 3), (0.99, 3), (1.0, 2), (1.49, 2), (1.5, 1), (1.79, 1), (1.8, 0)]],
    *[("LYM", v, 1.1, 3.2, None, None, g) for v, g in
      [(0.19, 4), (0.2, 3), (0.21, 3), (0.49, 3), (0.5, 2), (0.79, 2), (0.8, 1), (1.09, 1), (1.1, 0)]],
    *[("PLT", v, 125, 350, None, None, g) for v, g in
      [(24.9, 4), (25, 3), (25.1, 3), (49.9, 3), (50, 2), (74.9, 2), (75, 1), (124.9, 1), (125, 0)]],
    *[("ALB", v, 40, 55, None, None, g) for v, g in [(19.9, 3), (20, 2), (29.9, 2), (30, 1), (39.9, 1), (40, 0)]],
    # ALT, baseline normal (ULN 40): >1, >3, >5, >20 x ULN
    *[("ALT", v, 7, 40, 30, N, g) for v, g in
      [(40, 0), (40.1, 1), (120, 1), (120.1, 2), (200, 2), (200.1, 3), (800, 3), (800.1, 4)]],
    # ALT, baseline above ULN (BASE 100): >=1.5, >3, >5, >20 x baseline
    *[("ALT", v, 7, 40, 100, H, g) for v, g in
      [(149.9, 0), (150, 1), (300, 1), (300.1, 2), (500, 2), (500.1, 3), (2000, 3), (2000.1, 4)]],
    ("ALT", 120.1, 7, None, 30, N, NA), ("ALT", 500.1, 7, 40, 100, None, 3),  # missing baseline = normal
    *[("AST", v, 13, 35, 20, N, g) for v, g in
      [(35, 0), (35.1, 1), (105, 1), (105.1, 2), (175, 2), (175.1, 3), (700, 3), (700.1, 4)]],
    *[("AST", v, 13, 35, 50, H, g) for v, g in [(74.9, 0), (75, 1), (150.1, 2), (250.1, 3), (1000.1, 4)]],
    # bilirubin, baseline normal (ULN 21): >1, >1.5, >3, >10 x ULN; above ULN (BASE 30): >1, >1.5, >3, >10 x BASE
    *[("BILI", v, 0, 21, 10, N, g) for v, g in
      [(21, 0), (21.1, 1), (31.5, 1), (31.6, 2), (63, 2), (63.1, 3), (210, 3), (210.1, 4)]],
    *[("BILI", v, 0, 21, 30, H, g) for v, g in
      [(30, 0), (30.1, 1), (45, 1), (45.1, 2), (90, 2), (90.1, 3), (300, 3), (300.1, 4)]],
    # creatinine (ULN 100, BASE 80): >ULN 1; >1.5 x BASE or >1.5 x ULN 2; >3 x BASE or >3 x ULN 3; >6 x ULN 4
    *[("CREAT", v, 50, 100, 80, N, g) for v, g in
      [(100, 0), (100.1, 1), (120, 1), (120.1, 2), (240, 2), (240.1, 3), (600, 3), (600.1, 4)]],
    ("CREAT", 119, 50, 100, 60, N, 2),                    # below 1.5 x ULN, above 1.5 x BASE (90)
    *[("CREAT", v, 50, 100, None, None, g) for v, g in [(149.9, 1), (150.1, 2), (300.1, 3)]],
    ("CREAT", 240.1, 50, None, 80, N, 3), ("CREAT", 100, 50, None, 80, N, NA),
    *[("AMYLASE", v, 35, 135, 50, N, g) for v, g in
      [(135, 0), (135.1, 1), (202.5, 1), (202.6, 2), (270, 2), (270.1, 3), (675, 3), (675.1, 4)]],
    *[("LIPASE", v, 13, 60, 20, N, g) for v, g in
      [(60, 0), (60.1, 1), (90, 1), (90.1, 2), (120, 2), (120.1, 3), (300, 3), (300.1, 4)]],
    ("LIPASE", 300.1, 13, None, 20, N, NA),
    # INR without the anticoagulation assumption (default): >1.2, >1.5, >2.5
    *[("INR", v, 0.8, 1.2, 1.0, N, g) for v, g in
      [(1.2, 0), (1.21, 1), (1.5, 1), (1.51, 2), (2.5, 2), (2.51, 3)]],
    ("INR", 1.1, 0.8, 1.2, 0.9, N, 0), ("INR", 1.0, 0.8, 1.2, None, None, 0),
]


@pytest.mark.parametrize("cd, aval, lo, hi, base, bnrind, expected", CASES)
def test_grade_at_cut_offs(crit, cd, aval, lo, hi, base, bnrind, expected):
    g = grade_values(crit[crit["paramcd"] == cd], [aval], [lo], [hi], [base], pd.Series([bnrind], dtype="string"))
    got = g.iloc[0]
    assert (pd.isna(got) and expected is None) or got == expected


@pytest.mark.parametrize("aval, base, expected", [
    (0.8, 0.8, 0), (0.81, 0.8, 1), (1.2, 0.8, 1),   # 1.5 x 0.8 = 1.2000000000000002: not above (signif 15)
    (1.21, 0.8, 2), (2.0, 0.8, 2), (2.01, 0.8, 3),
    (1.0, None, None), (1.3, None, 1)])               # no baseline, not above 1.2: not gradable
def test_inr_with_the_anticoagulation_assumption(crit, aval, base, expected):
    g = grade_values(crit[crit["paramcd"] == "INR"], [aval], [0.8], [1.2], [base], None, anticoagulation=True).iloc[0]
    assert (pd.isna(g) and expected is None) or g == expected


def test_absolute_cut_offs_need_the_declared_unit(crit):
    rows = crit[crit["paramcd"] == "HGB"]
    g = grade_values(rows, [7.5, 75], [12, 120], [16, 160], None, None, unit=["g/dL", "g/L"])
    assert pd.isna(g.iloc[0]) and g.iloc[1] == 3
    assert pd.isna(grade_values(rows, [None], [120], [160]).iloc[0])
