"""Reading an export: the three formats, SUPP-- folding, row numbers, broken files."""
import hashlib

import pandas as pd
import pytest

from analysis.io import ROW_COL, read_export
from analysis.validate import validate
from export_fixtures import base_frames, write_export, write_frame


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def rules(problems):
    return [p.rule for p in problems]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    base = tmp_path_factory.mktemp("formats")
    return {fmt: write_export(base / fmt, fmt=fmt) for fmt in ("csv", "xpt", "parquet")}


def test_each_format_gives_the_same_frame(exports):
    read = {fmt: read_export(folder) for fmt, folder in exports.items()}
    for fmt, (domains, problems, files) in read.items():
        assert problems == [], fmt
        assert list(domains) == ["DM", "EX", "AE", "LB", "TU", "TR", "RS", "DS"]
        assert len(files) == 10 and all(name.endswith(fmt) for name in files)
    csv_domains = read["csv"][0]
    for fmt in ("xpt", "parquet"):
        for code, df in csv_domains.items():
            pd.testing.assert_frame_equal(read[fmt][0][code], df, obj=f"{fmt} {code}")
    ex = csv_domains["EX"]
    # numbers read from XPT/Parquet doubles come back as the CSV's text
    assert ex["EXDOSE"].tolist()[:3] == ["1000000000", "2000000000", "15000000"]
    assert all(str(t) in ("string", "string[python]", "string[pyarrow]") for t in ex.drop(columns=ROW_COL).dtypes)


def test_files_are_hashed_and_export_untouched(exports):
    folder = exports["csv"]
    before = snapshot(folder)
    _, _, files = read_export(folder)
    assert files == before
    assert snapshot(folder) == before


def test_supp_folding_subject_and_record_level(exports):
    domains, _, _ = read_export(exports["csv"])
    dm = domains["DM"].set_index("USUBJID")
    assert dm.loc["NK01-001", "PHASE"] == "IA" and dm.loc["NK01-002", "COHORT"] == "GC"
    assert pd.isna(dm.loc["NK01-003", "PHASE"]) and pd.isna(dm.loc["NK01-001", "NKSRC"])
    ae = domains["AE"]
    assert ae["AEDLT"].fillna("").tolist() == ["", "N", "N", ""]
    assert ae.at[1, "AEGRSCL"] == "ASTCT 2019" and pd.isna(ae.at[0, "AEGRSCL"])
    # the parent's row numbers are kept after folding
    assert ae[ROW_COL].tolist() == [1, 2, 3, 4] and ae.columns[-1] == ROW_COL
    assert domains["AE"].attrs["supp_qnams"] == ["AEDLT", "AEGRSCL"]
    assert domains["DM"].attrs["source_file"] == "dm.csv"


def test_supp_record_level_on_xpt_numeric_seq(exports):
    # XPT holds AESEQ as a number and IDVARVAL as text: "2" matches 2.0
    domains, problems, _ = read_export(exports["xpt"])
    assert problems == [] and domains["AE"].at[1, "AEDLT"] == "N"


def test_supp_problems_point_at_the_supp_row(tmp_path):
    f = base_frames()
    f["ae"]["AEDLT"] = ["", "Y", "N", ""]  # already a parent column: kept, SUPP fills blanks only
    f["suppae"].loc[2, "IDVARVAL"] = "7"  # no AESEQ 7 for NK01-002
    f["suppae"] = pd.concat([f["suppae"], pd.DataFrame([{
        "STUDYID": "NK01", "RDOMAIN": "AE", "USUBJID": "NK01-002", "IDVAR": "AESEQ", "IDVARVAL": "2",
        "QNAM": "AEDLT", "QLABEL": "Dose-limiting toxicity", "QVAL": "N"}])], ignore_index=True)
    domains, problems, _ = read_export(write_export(tmp_path / "e", f))
    by_rule = {p.rule: p for p in problems}
    assert set(by_rule) == {"supp_conflicts_parent", "supp_unmatched"}
    conflict = by_rule["supp_conflicts_parent"]
    assert (conflict.file, conflict.row, conflict.variable, conflict.value) == ("suppae.csv", 1, "AEDLT", "N")
    unmatched = by_rule["supp_unmatched"]
    assert (unmatched.file, unmatched.row, unmatched.value) == ("suppae.csv", 3, "7")
    # the parent's values are kept (rows 2, 3); SUPP fills the parent's blank (row 4)
    assert domains["AE"]["AEDLT"].fillna("").tolist() == ["", "Y", "N", "N"]


def test_subject_level_supp_for_an_unknown_subject(tmp_path):
    f = base_frames()
    f["suppdm"].loc[4, "USUBJID"] = "NK01-009"
    domains, problems, _ = read_export(write_export(tmp_path / "e", f))
    assert [(p.rule, p.file, p.row, p.variable, p.value) for p in problems] == [
        ("supp_unmatched", "suppdm.csv", 5, "IDVARVAL", "")]
    assert "NKSRC" not in domains["DM"].columns  # its only record matched nothing


def test_supp_qualifier_given_twice_with_different_values(tmp_path):
    """A QNAM given twice for one parent record (record or subject level): the later SUPP
    record is reported, the first one is folded; the same value twice is no problem."""
    f = base_frames()
    supp = {"STUDYID": "NK01", "RDOMAIN": "AE", "IDVAR": "AESEQ", "QLABEL": "Dose-limiting toxicity"}
    f["suppae"] = pd.concat([f["suppae"], pd.DataFrame([
        {**supp, "USUBJID": "NK01-001", "IDVARVAL": "2", "QNAM": "AEDLT", "QVAL": "Y"},  # row 4: 'N' in row 1
        {**supp, "USUBJID": "NK01-002", "IDVARVAL": "1", "QNAM": "AEDLT", "QVAL": "N"},  # row 5: as row 3
    ])], ignore_index=True)
    f["suppdm"] = pd.concat([f["suppdm"], pd.DataFrame([{
        "STUDYID": "NK01", "RDOMAIN": "DM", "USUBJID": "NK01-001", "IDVAR": "", "IDVARVAL": "",
        "QNAM": "PHASE", "QLABEL": "Study phase", "QVAL": "IB"}])], ignore_index=True)  # row 6: 'IA' in row 1
    domains, problems, _ = read_export(write_export(tmp_path / "e", f))
    assert sorted((p.rule, p.file, p.row, p.variable, p.value) for p in problems) == [
        ("supp_duplicate", "suppae.csv", 4, "QVAL", "Y"), ("supp_duplicate", "suppdm.csv", 6, "QVAL", "IB")]
    ae = next(p for p in problems if p.file == "suppae.csv")
    assert "AEDLT" in ae.message and "'N' in row 1" in ae.message and "remove" in ae.message
    assert "ae.csv row 2" in ae.message  # the parent record both point at
    assert domains["AE"]["AEDLT"].fillna("").tolist() == ["", "N", "N", ""]  # the first one is folded
    assert domains["DM"].set_index("USUBJID").at["NK01-001", "PHASE"] == "IA"


def test_supp_idvarval_matches_by_value_whatever_the_other_values(tmp_path):
    """IDVARVAL "2.0" next to "2" and "1": each matches its AESEQ by value (a key must not
    depend on the other values of the column)."""
    from analysis.io import _match_key

    key = _match_key(pd.Series(["1", "2.0", " 1.00 ", "T01", None, "1e0"], dtype="string"))
    assert key[0] == key[2] == key[5] == _match_key(pd.Series(["1"], dtype="string"))[0]
    assert key[1] == _match_key(pd.Series(["2"], dtype="string"))[0] != key[0]
    assert key[3] == "T01" and pd.isna(key[4])
    f = base_frames()
    f["suppae"].loc[1, "IDVARVAL"] = "2.0"  # NK01-001 AESEQ 2, AEGRSCL
    domains, problems, _ = read_export(write_export(tmp_path / "e", f))
    assert problems == []
    assert domains["AE"]["AEDLT"].fillna("").tolist() == ["", "N", "N", ""]
    assert domains["AE"].at[1, "AEGRSCL"] == "ASTCT 2019"


def test_supp_without_parent_and_bad_layout(tmp_path):
    f = {"dm": base_frames()["dm"], "suppae": base_frames()["suppae"],
         "suppdm": base_frames()["suppdm"].drop(columns="IDVAR")}
    _, problems, _ = read_export(write_export(tmp_path / "e", f))
    assert sorted(rules(problems)) == ["supp_column_missing", "supp_parent_absent"]


def test_non_utf8_csv_names_file_and_offset(tmp_path):
    folder = write_export(tmp_path / "e")
    data = (folder / "ae.csv").read_bytes()
    offset = data.index(b"Fever")
    (folder / "ae.csv").write_bytes(data[:offset] + "Fièvre".encode("latin-1") + data[offset + 5:])
    domains, problems, files = read_export(folder)
    (p,) = [p for p in problems if p.rule == "file_not_utf8"]
    assert p.file == "ae.csv" and p.severity == "error" and p.value == "0xE8"
    assert f"byte offset {offset + 2}" in p.message and "line 2" in p.message
    assert "AE" not in domains and "ae.csv" in files
    # the domain is not also reported missing: its file is there
    assert [q.rule for q in validate(domains, files) if q.severity == "error"] == []


def _csv_problems(data: bytes):
    from analysis.io import _read_csv

    df, problems = _read_csv(data, "tu.csv")
    return df, [(p.rule, p.file, p.row, p.variable, p.value) for p in problems], problems


def test_csv_with_bare_carriage_returns_or_an_open_quote_in_the_header(tmp_path):
    """Line ends that are bare CR (old Mac programs) or a quote never closed in the header:
    file_unreadable, not a crash."""
    df, got, problems = _csv_problems(b"USUBJID,TULNKID\rNK01-001,T01\rNK01-002,T01\r")
    assert df is None and got == [("file_unreadable", "tu.csv", None, "", "")]
    assert "carriage return" in problems[0].message and "CRLF" in problems[0].message
    df, got, problems = _csv_problems(b'"USUBJID,TULNKID\n' + b"NK01-001,T01\n" * 20_000)
    assert df is None and got == [("file_unreadable", "tu.csv", None, "", "")]
    assert "header" in problems[0].message and "quot" in problems[0].message
    # through read_export: the domain is not read, the other files are
    folder = write_export(tmp_path / "e")
    (folder / "rs.csv").write_bytes((folder / "rs.csv").read_bytes().replace(b"\n", b"\r"))
    domains, problems, _ = read_export(folder)
    assert [(p.rule, p.file) for p in problems] == [("file_unreadable", "rs.csv")]
    assert "RS" not in domains and "TU" in domains


@pytest.mark.parametrize("data, expected", [
    # the first record one field longer (a trailing comma): pandas took the first column as an index
    (b"A,B\n1,2,\n3,4\n", [(1, "")]),
    # two fields more in every record: a two-level index
    (b"A,B\n1,2,3,4\n5,6,7,8\n", [(1, "3,4"), (2, "7,8")]),
    # the same record twice: a duplicated index
    (b"A,B\n1,2,3\n1,2,3\n", [(1, "3"), (2, "3")]),
    # a later record: a blank line is no record, a quoted line break is inside one
    (b'A,B\n1,2\n\n"x\ny",2\n \n3,4,5\r\n6,7\n', [(3, "5")]),
], ids=["first_trailing_comma", "every_two_more", "duplicated", "later_record"])
def test_csv_record_with_more_fields_than_the_header(data, expected):
    df, got, problems = _csv_problems(data)
    assert df is None
    assert got == [("file_unreadable", "tu.csv", row, "", value) for row, value in expected]
    p = problems[0]
    n = len(data.split(b"\n")[0].split(b","))
    assert f"record {p.row} has" in p.message and f"the header has {n}" in p.message
    assert "double quotes" in p.message and "not read" in p.message


def test_csv_header_not_on_the_first_line():
    """A blank first line, or a second byte-order mark that pandas drops and the csv module
    does not: file_unreadable, not a crash (pandas and the header row disagree)."""
    for data in (b"\nA,B\n1,2\n", b"  \r\nA,B\n1,2\n"):
        df, got, problems = _csv_problems(data)
        assert df is None and got == [("file_unreadable", "tu.csv", None, "", "")]
        assert "first line is blank" in problems[0].message and "remove the blank line" in problems[0].message
    df, got, problems = _csv_problems(b"\xef\xbb\xbf\xef\xbb\xbf\r\nA,B\n1,2\n")
    assert df is None and got == [("file_unreadable", "tu.csv", None, "", "")]
    assert "header row reads as 1 or as 2 columns" in problems[0].message


def test_csv_record_with_fewer_fields_is_read():
    df, got, _ = _csv_problems(b"A,B\n1,2\n3\n")
    assert got == [] and df["B"].isna().tolist() == [False, True]


def test_corrupt_and_truncated_xpt_are_problems(tmp_path):
    folder = write_export(tmp_path / "e", fmt="xpt")
    data = (folder / "lb.xpt").read_bytes()
    (folder / "lb.xpt").write_bytes(data[: len(data) - 100])  # cut inside the records
    (folder / "tr.xpt").write_bytes(b"not a transport file\n" * 10)
    domains, problems, _ = read_export(folder)
    bad = {p.file: p.rule for p in problems}
    assert bad == {"lb.xpt": "file_unreadable", "tr.xpt": "file_unreadable"}
    assert "LB" not in domains and "TR" not in domains


def test_latin1_xpt_is_read_with_a_warning(tmp_path):
    folder = write_export(tmp_path / "e", fmt="xpt")
    data = (folder / "lb.xpt").read_bytes()
    assert data.count(b"umol/L") == 1  # the creatinine record
    (folder / "lb.xpt").write_bytes(data.replace(b"umol/L", b"\xb5mol/L"))  # SAS wlatin1 text
    domains, problems, _ = read_export(folder)
    assert [(p.rule, p.file, p.severity) for p in problems] == [("file_encoding_latin1", "lb.xpt", "warning")]
    assert domains["LB"].at[2, "LBSTRESU"] == "µmol/L"


def test_empty_file_duplicate_domain_and_ignored_files(tmp_path):
    folder = write_export(tmp_path / "e")
    (folder / "rs.csv").write_bytes(b"")
    write_frame(base_frames()["tu"], folder / "tu.parquet")
    (folder / "notes.txt").write_text("hello")
    (folder / "mh.csv").write_text("USUBJID\nNK01-001\n")
    domains, problems, files = read_export(folder)
    got = sorted((p.rule, p.file) for p in problems)
    assert got == [("domain_duplicate_file", "tu.csv"), ("file_empty", "rs.csv"),
                   ("file_ignored", "mh.csv"), ("file_ignored", "notes.txt")]
    assert "RS" not in domains and "TU" in domains  # tu.csv (first by name) was still checked
    assert "tu.parquet" in files and "notes.txt" not in files


def test_header_only_file_is_an_empty_domain_and_extension_case(tmp_path):
    folder = write_export(tmp_path / "e")
    (folder / "ds.csv").write_text("USUBJID,DSCAT,DSDECOD,DSSTDTC,EPOCH\n")
    (folder / "rs.csv").rename(folder / "rs.CSV")
    domains, problems, _ = read_export(folder)
    assert problems == []
    assert len(domains["DS"]) == 0 and list(domains["DS"].columns)[:2] == ["USUBJID", "DSCAT"]
    assert len(domains["RS"]) == 2


def test_text_is_not_stripped_or_guessed(tmp_path):
    f = base_frames()
    f["dm"].loc[0, "SEX"] = " m "
    f["dm"].loc[1, "SUBJID"] = "002"
    domains, _, _ = read_export(write_export(tmp_path / "e", f))
    assert domains["DM"].at[0, "SEX"] == " m "  # the validator judges it, the reader keeps it
    assert domains["DM"].at[1, "SUBJID"] == "002"  # leading zeros are text
    assert pd.isna(domains["DM"].at[0, "DTHDTC"])  # empty cell -> <NA>


def test_values_as_text_by_type():
    """Each column type as the reader writes it (XPT and Parquet give typed columns): whole
    numbers without '.0' (also beyond int32 and for float32), other floats as Python's repr,
    booleans Y/N, empty cells and empty text <NA>."""
    import numpy as np

    from analysis.io import _to_text

    def text(values, dtype=None):
        return [None if pd.isna(v) else v for v in _to_text(pd.Series(values, dtype=dtype))]

    assert text([1.0, 2.5, np.nan, 1e16, -0.0, 0.1 + 0.2, 123456789012.0, 1e-05, np.inf]) == \
        ["1", "2.5", None, "1e+16", "0", "0.30000000000000004", "123456789012", "1e-05", "inf"]
    assert text([0.5, 3.0], "float32") == ["0.5", "3"]
    assert text([0, 3_000_000_000, -7], "int64") == ["0", "3000000000", "-7"]
    assert text([True, False]) == ["Y", "N"]
    assert text(["a", "", None, np.nan, " b "], object) == ["a", None, None, None, " b "]
    assert text([1, None], "Int64") == ["1", None]
    assert text(["x", 2.0, b"y"], object) == ["x", "2", "y"]
