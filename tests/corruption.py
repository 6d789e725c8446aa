"""The corruption corpus (issue #8, "Trustworthy under bad input"): realistic ways an export
goes wrong, each as data.

A ``Corruption`` is ``(id, description, corrupt, expect)``: ``corrupt(folder)`` damages a copy of
the demo export (``analysis.demo.generate_export``, default seed, phase1a, cut 2026-10-31) in
place, and ``expect`` lists what ingestion must make of it:

- ``error``: ingestion stops (``ValidationFailed``); the report names the rule, file, row,
  variable and value (``row`` 1-based, header not counted; None for a whole-file problem);
- ``warning``: tolerated; ingestion succeeds and the report lists the warning;
- ``excluded``: records after the data cut, excluded and counted in ``sdtm/ingest.json``;
- ``stripped``: identifying columns accepted but never written;
- ``clean``: no problem at all (a harmless variant of the format).

Rows are those of the demo export; each corruption first checks that the record it damages is
the one it means (``was``), so that a change of the demo fails here loudly, not downstream.
``combine`` makes one corruption of several. ``SINGLE`` is the corpus, ``COMBINED`` the
several-at-once cases, ``CORPUS`` both.

``python tests/corruption.py`` prints the markdown table of what each corruption gives
(``corruption_table``).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from analysis.config import load_config  # noqa: E402

DATA_CUT = "2026-10-31"
#: the demo export's own records after the cut (analysis.demo's planted facts)
DEMO_EXCLUDED = {"AE": 1, "LB": 3}
#: the dose_levels / dose_match_tolerance settings (config/config.yaml), as the ingest rule passes them
_CFG = load_config()
DOSE_LEVELS: dict[str, float] = dict(_CFG["dose_levels"])
DOSE_TOLERANCE: float = float(_CFG.get("dose_match_tolerance", 0.05))
S = "NCT07021534-01-"  # subject prefix of the demo export

OUTCOMES = ("error", "warning", "excluded", "stripped", "clean")


@dataclass(frozen=True)
class Expect:
    """One expected outcome. error/warning: the problem (rule, file, row, variable, value) and
    words its message must contain. excluded: records excluded per domain (the demo's own
    included). stripped: columns that must not reach sdtm/. written: (domain, variable, value)
    that the written sdtm frame must hold (a normalised term)."""

    outcome: str
    rule: str = ""
    file: str = ""
    row: int | None = None
    variable: str = ""
    value: str = ""
    message: tuple[str, ...] = ()
    excluded: Mapping[str, int] | None = None
    stripped: tuple[str, ...] = ()
    written: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self):
        assert self.outcome in OUTCOMES, self.outcome


@dataclass(frozen=True)
class Corruption:
    id: str
    description: str
    corrupt: Callable[[Path], None]
    expect: tuple[Expect, ...]
    #: other error rules this corruption may also cause (e.g. SUPP records orphaned by it)
    also: tuple[str, ...] = ()
    members: tuple[str, ...] = field(default=())

    @property
    def outcome(self) -> str:
        kinds = {e.outcome for e in self.expect}
        for k in OUTCOMES:
            if k in kinds:
                return k
        return "clean"


def error(rule, file, row, variable, value, *message) -> Expect:
    return Expect("error", rule, file, row, variable, value, tuple(message))


def warning(rule, file, row, variable, value, *message, written=()) -> Expect:
    return Expect("warning", rule, file, row, variable, value, tuple(message), written=tuple(written))


# --- reading and writing the files of an export ------------------------------------------------


def read(folder: Path, name: str) -> pd.DataFrame:
    """A domain file as a frame: CSV as text ("" for empty), XPT as pyreadstat gives it."""
    path = Path(folder) / name
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    import pyreadstat

    df, _ = pyreadstat.read_xport(str(path))
    return df


def write(folder: Path, name: str, df: pd.DataFrame) -> None:
    """Write back as the demo does (CSV: text, LF line ends; XPT: SAS transport v5)."""
    path = Path(folder) / name
    if path.suffix == ".csv":
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    else:
        import pyreadstat

        pyreadstat.write_xport(df, str(path), table_name=path.stem.upper()[:8], file_format_version=5)


def _check(df: pd.DataFrame, name: str, row: int, was: Mapping[str, str] | None) -> None:
    assert 1 <= row <= len(df), f"{name} has {len(df)} rows, not {row}: the demo export changed"
    for var, value in (was or {}).items():
        got = df.at[row - 1, var]
        got = "" if got is None or (not isinstance(got, str) and pd.isna(got)) else got
        if isinstance(got, float) and got.is_integer():
            got = str(int(got))
        assert str(got) == value, f"{name} row {row} {var} is {got!r}, not {value!r}: the demo export changed"


def set_cells(name: str, row: int, values: Mapping[str, str], was: Mapping[str, str] | None = None):
    """Set variables of one record (1-based row, header not counted)."""
    def corrupt(folder: Path) -> None:
        df = read(folder, name)
        _check(df, name, row, was)
        for var, value in values.items():
            df.at[row - 1, var] = value
        write(folder, name, df)
    return corrupt


def set_cell(name: str, row: int, var: str, value: str, was: Mapping[str, str] | None = None):
    return set_cells(name, row, {var: value}, was)


def drop_rows(name: str, rows: list[int], was: Mapping[str, str] | None = None):
    def corrupt(folder: Path) -> None:
        df = read(folder, name)
        _check(df, name, rows[0], was)
        write(folder, name, df.drop(index=[r - 1 for r in rows]).reset_index(drop=True))
    return corrupt


def append_copy(name: str, row: int, was: Mapping[str, str] | None = None):
    """Append a copy of a record (a record exported twice)."""
    def corrupt(folder: Path) -> None:
        df = read(folder, name)
        _check(df, name, row, was)
        write(folder, name, pd.concat([df, df.iloc[[row - 1]]], ignore_index=True))
    return corrupt


def map_column(name: str, var: str, fn: Callable[[str], str]):
    """Rewrite every value of one column (what a spreadsheet does to a whole column)."""
    def corrupt(folder: Path) -> None:
        df = read(folder, name)
        df[var] = df[var].map(fn)
        write(folder, name, df)
    return corrupt


def delete_file(name: str):
    def corrupt(folder: Path) -> None:
        (Path(folder) / name).unlink()
    return corrupt


def drop_column(name: str, var: str):
    def corrupt(folder: Path) -> None:
        df = read(folder, name)
        write(folder, name, df.drop(columns=var))
    return corrupt


def add_column(name: str, var: str, value: str):
    def corrupt(folder: Path) -> None:
        df = read(folder, name)
        df[var] = value
        write(folder, name, df)
    return corrupt


def bytes_of(name: str, fn: Callable[[bytes], bytes]):
    def corrupt(folder: Path) -> None:
        path = Path(folder) / name
        path.write_bytes(fn(path.read_bytes()))
    return corrupt


def second_copy(name: str, new_name: str):
    """The same domain again in another format (a re-export next to the old file)."""
    def corrupt(folder: Path) -> None:
        read(folder, name).to_parquet(Path(folder) / new_name, index=False)
    return corrupt


def new_file(name: str, data: bytes):
    def corrupt(folder: Path) -> None:
        (Path(folder) / name).write_bytes(data)
    return corrupt


def steps(*fns):
    def corrupt(folder: Path) -> None:
        for fn in fns:
            fn(folder)
    return corrupt


def _latin1_term(data: bytes) -> bytes:
    """AETERM 'Fever' of ae.csv row 2 written as 'Fièvre' in Latin-1 (Excel's 'CSV' on Windows)."""
    lines = data.split(b"\n")
    assert b",Fever," in lines[2], "ae.csv row 2 is not the fever record: the demo export changed"
    lines[2] = lines[2].replace(b",Fever,", ",Fièvre,".encode("latin-1"), 1)
    return b"\n".join(lines)


def _unquoted(data: bytes) -> bytes:
    """ae.csv written without quoting: the two AEBODSYS values holding a comma (records 9 and
    58) are the only quoted fields of the demo's ae.csv; each gains a field."""
    lines = data.split(b"\n")
    quoted = [k for k, line in enumerate(lines) if b'"' in line]
    assert quoted == [9, 58], "ae.csv's quoted records changed: the demo export changed"
    return data.replace(b'"', b"")


def _mac_line_ends(data: bytes) -> bytes:
    """Bare CR line ends, as old Mac programs write a CSV."""
    assert b"\r" not in data
    return data.replace(b"\n", b"\r")


def _excel_us(value: str) -> str:
    """A full ISO date as Excel shows it after opening the CSV in a US locale: 11/10/2025."""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return f"{int(value[5:7])}/{int(value[8:10])}/{value[:4]}"
    return value


def excel_serial(value: str) -> str:
    """An ISO date-time as an Excel serial day number (days since 1899-12-30; time as fraction)."""
    if not value:
        return value
    ts = pd.Timestamp(value)
    days = (ts.normalize() - pd.Timestamp("1899-12-30")).days
    frac = (ts.hour * 60 + ts.minute) / 1440
    return f"{days + frac:.10g}"


def _bom_crlf(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")


def _truncate(data: bytes) -> bytes:
    return data[: len(data) - 130]  # a copy interrupted inside the last records


# --- the corpus --------------------------------------------------------------------------------

SINGLE: tuple[Corruption, ...] = (
    # files
    Corruption("missing_domain", "tu.csv is not in the export (a required domain)",
               delete_file("tu.csv"),
               (error("domain_missing", "tu.*", None, "", "", "TU", "tu.csv"),)),
    Corruption("missing_column", "ae.csv has no AETOXGR column",
               drop_column("ae.csv", "AETOXGR"),
               (error("variable_missing", "ae.csv", None, "AETOXGR", "", "add"),)),
    Corruption("two_formats", "AE given twice: ae.csv and a re-export ae.parquet",
               second_copy("ae.csv", "ae.parquet"),
               (error("domain_duplicate_file", "ae.csv", None, "", "", "ae.parquet", "keep exactly one"),)),
    Corruption("empty_file", "rs.csv is 0 bytes (an interrupted copy)",
               new_file("rs.csv", b""),
               (error("file_empty", "rs.csv", None, "", "", "0 bytes"),)),
    Corruption("header_only", "rs.csv holds only its header row",
               bytes_of("rs.csv", lambda b: b[: b.index(b"\n") + 1]),
               (warning("domain_no_records", "rs.csv", None, "", "", "no records"),)),
    Corruption("not_utf8", "ae.csv saved as Latin-1: AETERM 'Fièvre' in row 2",
               bytes_of("ae.csv", _latin1_term),
               (error("file_not_utf8", "ae.csv", 2, "AETERM", "0xE8", "Fièvre", "UTF-8"),)),
    Corruption("truncated_xpt", "ds.xpt cut short (130 bytes missing)",
               bytes_of("ds.xpt", _truncate),
               (error("file_unreadable", "ds.xpt", None, "", "", "truncated"),)),
    Corruption("unquoted_commas", "ae.csv written without quoting: the commas in AEBODSYS "
               "'Neoplasms benign, malignant and unspecified (...)' (record 9) and 'Respiratory, thoracic "
               "and mediastinal disorders' (record 58) each make one field more than the header",
               bytes_of("ae.csv", _unquoted),
               (error("file_unreadable", "ae.csv", 9, "", "", "record 9 has 16 fields", "the header has 15",
                      "double quotes"),
                error("file_unreadable", "ae.csv", 58, "", "2026-10-14", "record 58 has 16 fields"))),
    Corruption("mac_line_ends", "rs.csv with bare CR line ends (old Mac programs)",
               bytes_of("rs.csv", _mac_line_ends),
               (error("file_unreadable", "rs.csv", None, "", "", "carriage return", "CRLF"),)),
    Corruption("bom_crlf", "dm.csv saved by Excel as 'CSV UTF-8': byte-order mark and CRLF line ends",
               bytes_of("dm.csv", _bom_crlf),
               (Expect("clean"),)),
    Corruption("stray_file", "a SAS dataset ae.sas7bdat left next to ae.csv",
               new_file("ae.sas7bdat", b"\x00\x00\x00\x00SAS binary"),
               (warning("file_ignored", "ae.sas7bdat", None, "", "", "not read"),)),
    # types and dates
    Corruption("decimal_comma", "LBSTRESN '5,71' (a decimal comma) in lb.csv row 1",
               set_cell("lb.csv", 1, "LBSTRESN", "5,71", was={"LBSTRESN": "5.71"}),
               (error("not_numeric", "lb.csv", 1, "LBSTRESN", "5,71", "5.71"),)),
    Corruption("number_with_unit", "AGE '53 YEARS' (text in a numeric column) in dm.csv row 3",
               set_cell("dm.csv", 3, "AGE", "53 YEARS", was={"AGE": "53"}),
               (error("not_numeric", "dm.csv", 3, "AGE", "53 YEARS", "53"),)),
    Corruption("sas_date9", "AESTDTC '22NOV2025' (SAS DATE9, unparseable) in ae.csv row 3",
               set_cell("ae.csv", 3, "AESTDTC", "22NOV2025", was={"AESTDTC": "2025-11-22"}),
               (error("dtc_not_iso8601", "ae.csv", 3, "AESTDTC", "22NOV2025", "2025-11-22"),)),
    Corruption("impossible_date", "LBDTC 2026-02-30 in lb.csv row 2",
               set_cell("lb.csv", 2, "LBDTC", "2026-02-30", was={"LBTESTCD": "NEUT"}),
               (error("dtc_impossible_date", "lb.csv", 2, "LBDTC", "2026-02-30", "28 days"),)),
    Corruption("end_before_start", "AEENDTC 2025-11-14 before AESTDTC 2025-11-24 in ae.csv row 5",
               set_cell("ae.csv", 5, "AEENDTC", "2025-11-14", was={"AESTDTC": "2025-11-24"}),
               (error("end_before_start", "ae.csv", 5, "AEENDTC", "2025-11-14", "2025-11-24"),)),
    Corruption("missing_year", "AESTDTC '--11-25' (year unknown) in ae.csv row 6",
               set_cell("ae.csv", 6, "AESTDTC", "--11-25", was={"AESTDTC": "2025-11-25"}),
               (warning("dtc_missing_year", "ae.csv", 6, "AESTDTC", "--11-25", "never imputed"),)),
    Corruption("excel_us_dates", "ae.csv opened and saved in Excel: AESTDTC 11/10/2025 (whole column)",
               map_column("ae.csv", "AESTDTC", _excel_us),
               (error("dtc_not_iso8601", "ae.csv", 1, "AESTDTC", "11/10/2025", "Excel", "2025-11-10"),)),
    Corruption("excel_serial_dates", "ex.csv EXSTDTC as Excel serial numbers (whole column)",
               map_column("ex.csv", "EXSTDTC", excel_serial),
               (error("dtc_not_iso8601", "ex.csv", 1, "EXSTDTC", excel_serial("2025-11-10T10:29"),
                      "Excel serial", "2025-11-10T10:29"),)),
    # keys and subjects
    Corruption("duplicate_usubjid", "subject 0004 twice in DM (row 4 repeated as row 20)",
               append_copy("dm.csv", 4, was={"USUBJID": S + "0004"}),
               (error("usubjid_duplicate", "dm.csv", 20, "USUBJID", S + "0004", "row 4"),)),
    Corruption("duplicate_seq", "an AE exported twice: ae.csv row 10 repeated as row 93 (AESEQ 1 again)",
               append_copy("ae.csv", 10, was={"USUBJID": S + "0003", "AESEQ": "1"}),
               (error("seq_duplicate", "ae.csv", 93, "AESEQ", "1", "row 10"),)),
    Corruption("subject_not_in_dm", "lb.csv row 100 belongs to subject 0091, who is not in DM",
               set_cell("lb.csv", 100, "USUBJID", S + "0091", was={"USUBJID": S + "0001"}),
               (error("usubjid_unknown", "lb.csv", 100, "USUBJID", S + "0091", "not in DM"),)),
    Corruption("missing_test_code", "LBTESTCD empty in lb.csv row 3",
               set_cell("lb.csv", 3, "LBTESTCD", "", was={"LBTESTCD": "LYM"}),
               (error("value_missing", "lb.csv", 3, "LBTESTCD", "", "fill it in"),)),
    # values and terms
    Corruption("grade_6", "AETOXGR 6 in ae.csv row 12",
               set_cell("ae.csv", 12, "AETOXGR", "6", was={"AETOXGR": "2"}),
               (error("grade_out_of_range", "ae.csv", 12, "AETOXGR", "6", "1 to 5"),)),
    Corruption("grade_0", "AETOXGR 0 in ae.csv row 13",
               set_cell("ae.csv", 13, "AETOXGR", "0", was={"AETOXGR": "2"}),
               (error("grade_out_of_range", "ae.csv", 13, "AETOXGR", "0", "1 to 5"),)),
    Corruption("aerel_unknown", "AEREL 'DEFINITELY RELATED' (a 6-point scale term) in ae.csv row 14",
               set_cell("ae.csv", 14, "AEREL", "DEFINITELY RELATED", was={"AEREL": "UNLIKELY RELATED"}),
               (error("ct_invalid", "ae.csv", 14, "AEREL", "DEFINITELY RELATED",
                      "RELATED, PROBABLY RELATED, POSSIBLY RELATED, UNLIKELY RELATED, NOT RELATED"),)),
    Corruption("negative_diameter", "TRSTRESN -52.1 in tr.csv row 4",
               set_cell("tr.csv", 4, "TRSTRESN", "-52.1", was={"TRSTRESN": "52.1"}),
               (error("value_negative", "tr.csv", 4, "TRSTRESN", "-52.1", "negative"),)),
    Corruption("lesion_not_in_tu", "lesion T02 of 0001 measured in TR but its TU record (tu.csv row 2) is gone",
               drop_rows("tu.csv", [2], was={"USUBJID": S + "0001", "TULNKID": "T02"}),
               (error("tr_lnkid_unknown", "tr.csv", 2, "TRLNKID", "T02", "not in TU", "RECIST"),
                error("tr_lnkid_unknown", "tr.csv", 5, "TRLNKID", "T02"),
                error("tr_lnkid_unknown", "tr.csv", 8, "TRLNKID", "T02"))),
    Corruption("lab_unit_not_si", "creatinine LBSTRESU 'mg/dL' (conventional, not SI) in lb.csv row 9",
               set_cell("lb.csv", 9, "LBSTRESU", "mg/dL", was={"LBTESTCD": "CREAT"}),
               (error("unit_invalid", "lb.csv", 9, "LBSTRESU", "mg/dL", "umol/L", "convert"),)),
    Corruption("diameter_in_cm", "TRSTRESU 'cm' (4.82 cm) in tr.csv row 1",
               set_cells("tr.csv", 1, {"TRSTRESN": "4.82", "TRSTRESU": "cm"}, was={"TRSTRESN": "48.2"}),
               (error("unit_invalid", "tr.csv", 1, "TRSTRESU", "cm", "mm"),)),
    # treatment
    Corruption("unknown_dose_level", "CAR-T EXDOSE 2.5e7 cells/kg (no such level) in ex.csv row 9",
               set_cell("ex.csv", 9, "EXDOSE", "25000000", was={"EXTRT": "NKG2D CAR-T", "EXDOSE": "30000000"}),
               (error("dose_level_unknown", "ex.csv", 9, "EXDOSE", "25000000",
                      "DL1 1.5e+07", "DL4 7e+07", "config"),)),
    Corruption("car_t_dose_missing", "CAR-T EXDOSE empty in ex.csv row 10",
               set_cell("ex.csv", 10, "EXDOSE", "", was={"EXTRT": "NKG2D CAR-T"}),
               (error("dose_level_unknown", "ex.csv", 10, "EXDOSE", "", "empty", "DL1"),)),
    Corruption("car_t_total_cells", "CAR-T dose as total cells (9e8 'cells', not cells/kg) in ex.csv row 3",
               set_cells("ex.csv", 3, {"EXDOSE": "900000000", "EXDOSU": "cells"},
                         was={"EXTRT": "NKG2D CAR-T", "EXDOSU": "cells/kg"}),
               (error("unit_invalid", "ex.csv", 3, "EXDOSU", "cells", "cells/kg"),)),
    Corruption("unknown_route", "EXROUTE 'INTRAPERITONEAL' in ex.csv row 1",
               set_cell("ex.csv", 1, "EXROUTE", "INTRAPERITONEAL", was={"EXROUTE": "INTRA-ARTERIAL"}),
               (error("ct_invalid", "ex.csv", 1, "EXROUTE", "INTRAPERITONEAL", "INTRA-ARTERIAL, INTRAVENOUS"),)),
    Corruption("unknown_product", "EXTRT 'CAR-T' (not the contract's name) in ex.csv row 15",
               set_cell("ex.csv", 15, "EXTRT", "CAR-T", was={"EXTRT": "NKG2D CAR-T"}),
               (error("ct_invalid", "ex.csv", 15, "EXTRT", "CAR-T", "NKG2D CAR-T"),)),
    Corruption("infusion_after_death", "0001 (died 2026-05-20) infused on 2026-06-02: ex.csv row 6",
               set_cells("ex.csv", 6, {"EXSTDTC": "2026-06-02T10:18", "EXENDTC": "2026-06-02T10:43"},
                         was={"USUBJID": S + "0001", "EXSEQ": "6"}),
               (error("ex_after_death", "ex.csv", 6, "EXSTDTC", "2026-06-02T10:18",
                      "2026-05-20", "dm.csv row 1"),)),
    # supplemental qualifiers
    Corruption("dlt_without_car_t", "SUPPAE AEDLT = Y on an AE of 0010, who received CAR-NK only (suppae.xpt row 132)",
               set_cell("suppae.xpt", 132, "QVAL", "Y",
                        was={"USUBJID": S + "0010", "IDVARVAL": "4", "QNAM": "AEDLT", "QVAL": "N"}),
               (error("dlt_without_car_t", "suppae.xpt", 132, "AEDLT", "Y", "ae.csv row 50", "CAR-T"),)),
    Corruption("supp_orphan", "SUPPAE record for AESEQ 41 of 0001, which does not exist (suppae.xpt row 1)",
               set_cell("suppae.xpt", 1, "IDVARVAL", "41", was={"USUBJID": S + "0001", "IDVARVAL": "1"}),
               (error("supp_unmatched", "suppae.xpt", 1, "IDVARVAL", "41", "AESEQ = 41"),)),
    Corruption("supp_duplicate", "SUPPAE AEGRSCL given twice for AESEQ 4 of 0010: suppae.xpt row 133 "
               "repeated as row 253 with QVAL 'ASTCT 2019'",
               steps(append_copy("suppae.xpt", 133, was={"USUBJID": S + "0010", "IDVARVAL": "4", "QNAM": "AEGRSCL",
                                                         "QVAL": "CTCAE V5.0"}),
                     set_cell("suppae.xpt", 253, "QVAL", "ASTCT 2019", was={"QNAM": "AEGRSCL"})),
               (error("supp_duplicate", "suppae.xpt", 253, "QVAL", "ASTCT 2019", "AEGRSCL", "'CTCAE V5.0' in row 133",
                      "ae.csv row 50", "remove"),)),
    Corruption("supp_idvarval_decimal", "SUPPAE IDVARVAL '1.0' (written from a float column) in suppae.xpt "
               "row 1: it still matches AESEQ 1, and the other records theirs",
               set_cell("suppae.xpt", 1, "IDVARVAL", "1.0", was={"USUBJID": S + "0001", "IDVARVAL": "1"}),
               (Expect("clean"),)),
    # tolerated
    Corruption("case_and_blanks", "lower-case and padded terms: SEX 'f', EXROUTE 'intra-arterial ', AESER ' n'",
               steps(set_cell("dm.csv", 1, "SEX", "f", was={"SEX": "F"}),
                     set_cell("ex.csv", 1, "EXROUTE", "intra-arterial ", was={"EXROUTE": "INTRA-ARTERIAL"}),
                     set_cell("ae.csv", 1, "AESER", " n", was={"AESER": "N"})),
               (warning("ct_normalised", "dm.csv", 1, "SEX", "f", "'F'", written=[("DM", "SEX", "F")]),
                warning("ct_normalised", "ex.csv", 1, "EXROUTE", "intra-arterial ", "'INTRA-ARTERIAL'",
                        written=[("EX", "EXROUTE", "INTRA-ARTERIAL")]),
                warning("ct_normalised", "ae.csv", 1, "AESER", " n", "'N'", written=[("AE", "AESER", "N")]))),
    Corruption("unit_case", "LBSTRESU '10^9/l' (lower-case l) in lb.csv row 1",
               set_cell("lb.csv", 1, "LBSTRESU", "10^9/l", was={"LBSTRESU": "10^9/L"}),
               (warning("unit_normalised", "lb.csv", 1, "LBSTRESU", "10^9/l", "'10^9/L'",
                        written=[("LB", "LBSTRESU", "10^9/L")]),)),
    Corruption("unknown_lab_test", "LBTESTCD 'GGT' (not a test of the contract) in lb.csv row 5",
               set_cells("lb.csv", 5, {"LBTESTCD": "GGT", "LBSTRESU": "U/L"}, was={"LBTESTCD": "HGB"}),
               (warning("lb_testcd_unknown", "lb.csv", 5, "LBTESTCD", "GGT", "not checked"),)),
    Corruption("uncoded_ae", "AEDECOD and AEBODSYS empty (not yet MedDRA coded) in ae.csv row 7",
               set_cells("ae.csv", 7, {"AEDECOD": "", "AEBODSYS": ""}, was={"AESEQ": "7"}),
               (warning("ae_decod_missing", "ae.csv", 7, "AEDECOD", "", "code it"),
                warning("ae_soc_missing", "ae.csv", 7, "AEBODSYS", ""))),
    Corruption("identifiers", "DM with birth dates, initials and a patient-name column",
               add_column("dm.csv", "PATNAME", "Zebulon Quartermaine"),
               (Expect("stripped", stripped=("BRTHDTC", "SUBJINIT", "PATNAME")),)),
    Corruption("after_data_cut", "2 AEs and 3 vital signs of 0019 dated after the cut 2026-10-31",
               steps(set_cells("ae.csv", 91, {"AESTDTC": "2026-11-03", "AEENDTC": "2026-11-06"},
                               was={"USUBJID": S + "0019", "AESEQ": "3"}),
                     set_cells("ae.csv", 92, {"AESTDTC": "2026-11-04", "AEENDTC": ""},
                               was={"USUBJID": S + "0019", "AESEQ": "4"}),
                     *(set_cell("vs.csv", r, "VSDTC", "2026-11-02T08:00", was={"USUBJID": S + "0019"})
                       for r in (656, 657, 658))),
               (Expect("excluded", excluded={"AE": DEMO_EXCLUDED["AE"] + 2, "VS": 3, "LB": DEMO_EXCLUDED["LB"]}),)),
)

BY_ID: dict[str, Corruption] = {c.id: c for c in SINGLE}
assert len(BY_ID) == len(SINGLE), "corruption ids must be unique"


def combine(cid: str, description: str, *ids: str) -> Corruption:
    """Several corruptions at once (their rows must not overlap): every expectation of each
    ("clean", no problem at all, holds only alone)."""
    parts = [BY_ID[i] for i in ids]
    return Corruption(cid, description, steps(*(p.corrupt for p in parts)),
                      tuple(e for p in parts for e in p.expect if e.outcome != "clean"),
                      also=tuple(r for p in parts for r in p.also), members=tuple(ids))


COMBINED: tuple[Corruption, ...] = (
    combine("many_errors", "ten corruptions that stop the run (12 errors in eight files) and two tolerated "
            "ones, in one export",
            "grade_6", "unknown_dose_level", "infusion_after_death", "lesion_not_in_tu", "negative_diameter",
            "dlt_without_car_t", "impossible_date", "truncated_xpt", "empty_file", "number_with_unit",
            "case_and_blanks", "unknown_lab_test"),
    combine("many_warnings", "every tolerated problem at once: the run goes on",
            "case_and_blanks", "unit_case", "unknown_lab_test", "uncoded_ae", "missing_year", "stray_file",
            "header_only", "identifiers", "after_data_cut", "bom_crlf"),
)

CORPUS: tuple[Corruption, ...] = SINGLE + COMBINED


def corrupted_copy(base: Path, dest: Path, corruption: Corruption) -> Path:
    """A copy of the export ``base`` at ``dest`` with ``corruption`` applied."""
    shutil.copytree(base, dest)
    corruption.corrupt(dest)
    return dest


# --- the table ---------------------------------------------------------------------------------


def run(base: Path, work: Path, corruption: Corruption) -> tuple[str, list, dict | None]:
    """Ingest a corrupted copy; returns (outcome, problems, ingest.json content or None)."""
    import contextlib
    import io

    from analysis.ingest import ValidationFailed, ingest

    export = corrupted_copy(base, work / "export", corruption)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            meta = ingest(export, DATA_CUT, work / "out", dose_levels=DOSE_LEVELS, dose_tolerance=DOSE_TOLERANCE)
    except ValidationFailed as err:
        return "error", err.problems, None
    import json

    problems = json.loads((work / "out" / "validation" / "validation-report.json").read_text())["problems"]
    from analysis.io import Problem

    problems = [Problem(**p) for p in problems]
    if problems:
        return "warning", problems, meta
    excluded = {k: v for k, v in meta["data_cut_excluded"].items() if v != DEMO_EXCLUDED.get(k, 0)}
    if excluded:
        return "excluded", problems, meta
    stripped = {c for e in corruption.expect for c in e.stripped}
    if stripped and stripped <= set(meta["columns_dropped"].get("DM", [])):
        return "stripped", problems, meta
    return "clean", problems, meta


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def corruption_table(base: Path, work: Path, corpus=CORPUS) -> str:
    """Run every corruption and return a markdown table: corruption, outcome, and the message of
    each expected problem as the report gives it (file, row, variable, value, rule)."""
    lines = ["| corruption | outcome | what the report says |", "|---|---|---|"]
    for k, c in enumerate(corpus):
        outcome, problems, meta = run(base, work / f"{k:02d}-{c.id}", c)
        said = []
        for e in c.expect:
            if e.outcome in ("error", "warning"):
                hit = next((p for p in problems if (p.rule, p.file, p.row, p.variable, p.value)
                            == (e.rule, e.file, e.row, e.variable, e.value)), None)
                if hit is None:
                    said.append(f"**NOT FOUND**: {e.rule} {e.file} row {e.row}")
                    continue
                where = hit.file + (f" row {hit.row}" if hit.row is not None else "")
                what = f" {hit.variable}" if hit.variable else ""
                val = f" = '{hit.value}'" if hit.value != "" else ""
                said.append(f"{hit.severity.upper()} {where}{what}{val} [`{hit.rule}`] {hit.message}")
            elif e.outcome == "excluded" and meta:
                said.append("excluded by the data cut: " + ", ".join(
                    f"{d} {n}" for d, n in meta["data_cut_excluded"].items() if n))
            elif e.outcome == "stripped" and meta:
                said.append("dropped at ingestion: " + ", ".join(meta["columns_dropped"].get("DM", [])))
            elif e.outcome == "clean":
                said.append(f"no problem ({len(problems)} reported)")
        if c.members:
            n_err = sum(p.severity == "error" for p in problems)
            said = [f"{n_err} errors, {len(problems) - n_err} warnings in one report; members: "
                    + ", ".join(c.members)]
        lines.append(f"| `{c.id}`: {_cell(c.description)} | {outcome} | {_cell('<br>'.join(said))} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    import tempfile

    from analysis.demo import generate_export

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "demo"
        generate_export(base)
        sys.stdout.write(corruption_table(base, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
