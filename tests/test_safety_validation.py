"""Bad safety input is refused with a clear message (file, row, variable, value, rule): an AE
grade outside 1-5, an unknown AEREL term, a DLT flagged on a subject without CAR-T."""
import pytest

from analysis.io import read_export
from analysis.validate import validate
from export_fixtures import base_frames, write_export


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    f = base_frames()
    f["ae"].loc[0, "AETOXGR"] = "0"                          # ae row 1: grades are 1-5
    f["ae"].loc[1, "AEREL"] = "DEFINITELY RELATED"           # ae row 2: not a term of the contract
    # NK01-002 called a DLT on its nausea (suppae row 3), but its CAR-T infusions are removed
    f["suppae"].loc[2, "QVAL"] = "Y"
    f["ex"] = f["ex"][~((f["ex"]["USUBJID"] == "NK01-002") & (f["ex"]["EXTRT"] == "NKG2D CAR-T"))]
    folder = write_export(tmp_path_factory.mktemp("bad") / "e", f)
    domains, read_problems, files = read_export(folder)
    return read_problems + validate(domains, files)


def one(problems, rule):
    found = [p for p in problems if p.rule == rule]
    assert len(found) == 1, [(p.rule, p.file, p.row, p.variable, p.value) for p in problems]
    return found[0]


def test_grade_outside_1_to_5(problems):
    p = one(problems, "grade_out_of_range")
    assert (p.severity, p.file, p.row, p.variable, p.value) == ("error", "ae.csv", 1, "AETOXGR", "0")
    assert "1" in p.message and "5" in p.message


def test_unknown_aerel_term(problems):
    p = [p for p in problems if p.rule == "ct_invalid" and p.variable == "AEREL"]
    assert len(p) == 1
    p = p[0]
    assert (p.severity, p.file, p.row, p.value) == ("error", "ae.csv", 2, "DEFINITELY RELATED")
    assert "POSSIBLY RELATED" in p.message and "NOT RELATED" in p.message


def test_dlt_on_a_subject_without_car_t(problems):
    p = one(problems, "dlt_without_car_t")
    assert (p.severity, p.variable, p.value) == ("error", "AEDLT", "Y")
    assert (p.file, p.row) in {("suppae.csv", 3), ("ae.csv", 3)}  # the SUPPAE record, or the AE it qualifies
    assert "NK01-002" in p.message and "CAR-T" in p.message


def test_the_valid_fixture_has_none_of_them(tmp_path):
    domains, read_problems, files = read_export(write_export(tmp_path / "ok"))
    rules = {p.rule for p in read_problems + validate(domains, files)}
    assert not rules & {"grade_out_of_range", "ct_invalid", "dlt_without_car_t"}
