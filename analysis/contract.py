"""The input contract (../shared/spec/input-contract.md) as data.

Everything the reader and the validator know about the export is declared here: domains,
variables, types, dates, controlled terms, units, keys, plausibility ranges and the variables
allowed past ingestion. ``validate.py`` and ``ingest.py`` interpret these declarations; they
hold no domain knowledge of their own.

Where the contract writes "…" (DSDECOD, TULOC, VSTESTCD, …) the term list is *extensible*:
the listed terms are normalised (case, blanks) but other values are accepted. LBTESTCD is
extensible too, but an unknown code is a warning (``lb_testcd_unknown``). Declarations that
go beyond the contract's text are marked "extension" below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "Terms",
    "Ref",
    "UnitRule",
    "Range",
    "DomainSpec",
    "DOMAINS",
    "REQUIRED_DOMAINS",
    "OPTIONAL_DOMAINS",
    "SUPP_COLUMNS",
    "LB_TESTCODES",
    "DM_ALLOWED",
    "CAR_NK",
    "CAR_T",
    "CAR_T_DOSE_UNIT",
    "spec",
]


@dataclass(frozen=True)
class Terms:
    """Controlled terms of one variable, optionally only for records where ``when`` holds
    (``(variable, values)``, e.g. TRSTRESC terms only where TRTESTCD is TUMSTATE)."""

    variable: str
    values: tuple[str, ...]
    extensible: bool = False
    when: tuple[str, tuple[str, ...]] | None = None
    rule: str = "ct_invalid"  # rule id of a value outside a closed list (an error)
    unknown: str | None = None  # extensible lists: rule id of a warning for values outside the list


@dataclass(frozen=True)
class UnitRule:
    """The declared unit of ``variable`` for each value of ``by`` (e.g. LBSTRESU per LBTESTCD).
    ``""`` in a unit tuple means "no unit" is accepted. A missing unit is an error only where
    ``value`` (the result it qualifies) is present. ``aliases`` are other spellings of the same
    unit, accepted silently and normalised to the declared spelling."""

    variable: str
    by: str
    units: Mapping[str, tuple[str, ...]]
    value: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Range:
    """Plausible values of a numeric variable (inclusive; None = unbounded), optionally only
    where ``when`` holds."""

    variable: str
    low: float | None = None
    high: float | None = None
    when: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Ref:
    """Records whose ``variables`` must be found as ``target`` in ``domain``; a record that is not
    found is a ``rule`` problem of ``severity``, whose message says what the record needs
    (``what``)."""

    variables: tuple[str, ...]
    domain: str
    target: tuple[str, ...]
    rule: str
    severity: str = "error"
    what: str = ""


@dataclass(frozen=True)
class DomainSpec:
    code: str
    required: bool
    variables: tuple[str, ...]  # the contract's key variables: must be present as columns
    optional: tuple[str, ...] = ()  # named by the contract (or SDTM) but not required
    numeric: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    primary_date: str | None = None  # the date the data cut is applied on
    periods: tuple[tuple[str, str], ...] = ()  # (start, end) pairs: end not before start
    seq: str | None = None  # --SEQ, unique within USUBJID when present
    unique: tuple[str, ...] = ()  # a key unique on its own (DM: USUBJID)
    nonmissing: tuple[str, ...] = ("USUBJID",)  # must have a value in every record
    terms: tuple[Terms, ...] = ()
    units: tuple[UnitRule, ...] = ()
    ranges: tuple[Range, ...] = ()
    supp: tuple[str, ...] = ()  # declared supplemental qualifiers (QNAMs)
    expected: tuple[tuple[str, str], ...] = ()  # (variable, warning rule) when the value is empty
    refs: tuple[Ref, ...] = ()
    allowed: tuple[str, ...] | None = None  # explicit pass list (DM); None = all contract vars

    @property
    def numeric_all(self) -> tuple[str, ...]:
        """Numeric variables: the declared ones plus --SEQ, VISITNUM and study days."""
        out: list[str] = []
        c = self.code
        for v in (*self.numeric, f"{c}SEQ", "VISITNUM", f"{c}DY", f"{c}STDY", f"{c}ENDY"):
            if v not in out:
                out.append(v)
        return tuple(out)

    @property
    def columns(self) -> tuple[str, ...]:
        """Contract columns in their stable order: key variables, optional ones, SUPP QNAMs."""
        out: list[str] = []
        for v in (*self.variables, *self.optional, *self.supp):
            if v not in out:
                out.append(v)
        if self.allowed is not None:
            out = [v for v in out if v in self.allowed]
        return tuple(out)

    def allowed_columns(self, present: list[str] | tuple[str, ...],
                        folded: set[str] | frozenset = frozenset()) -> list[str]:
        """The columns of ``present`` that may pass ingestion, in a stable order (contract
        order first, then folded SUPP QNAMs and common SDTM variables alphabetically)."""
        if self.allowed is not None:
            ok = set(self.allowed)
        else:
            ok = set(self.columns) | set(common_variables(self.code)) | set(folded)
        ordered = [c for c in self.columns if c in present and c in ok]
        rest = sorted(c for c in present if c in ok and c not in ordered)
        return ordered + rest

    def terms_for(self, variable: str) -> tuple[Terms, ...]:
        return tuple(t for t in self.terms if t.variable == variable)


# Verbatim free text, typed at the site, that may hold anything (a name, a phone number):
# validated, then dropped at ingestion. The analyses use the coded terms (AEDECOD, CMDECOD).
VERBATIM_TEXT: dict[str, tuple[str, ...]] = {"AE": ("AETERM",), "CM": ("CMTRT",)}


def common_variables(code: str) -> tuple[str, ...]:
    """SDTM identifier and timing variables kept in every domain except DM (not identifying)."""
    return (
        "STUDYID", "DOMAIN", "USUBJID", f"{code}SEQ", f"{code}GRPID", f"{code}REFID", f"{code}SPID",
        f"{code}LNKID", "VISIT", "VISITNUM", "EPOCH", f"{code}DY", f"{code}STDY", f"{code}ENDY",
    )


def _t(variable: str, *values: str, extensible: bool = False, when=None, rule: str = "ct_invalid",
       unknown: str | None = None) -> Terms:
    return Terms(variable, tuple(values), extensible, when, rule, unknown)


YN = ("Y", "N")
DOSE_LEVELS = ("DL1", "DL2", "DL3", "DL4")
#: EXTRT of the two products (SAP §1): CAR-NK a fixed dose in cells, CAR-T dosed per kg by level.
CAR_NK = "NKG2D CAR-NK"
CAR_T = "NKG2D CAR-T"
CAR_T_DOSE_UNIT = "cells/kg"

#: LB test codes of the contract (haematology, chemistry, coagulation, tumour markers,
#: cytokines, urinalysis) with their standard unit(s); "" = no unit.
LB_UNITS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "WBC": ("10^9/L",), "NEUT": ("10^9/L",), "LYM": ("10^9/L",), "PLT": ("10^9/L",),
    "HGB": ("g/L",),
    "ALT": ("U/L",), "AST": ("U/L",), "AMYLASE": ("U/L",), "LIPASE": ("U/L",),
    "BILI": ("umol/L",), "CREAT": ("umol/L",),
    "ALB": ("g/L",),
    "INR": ("", "RATIO"),
    "CEA": ("ng/mL",), "CA199": ("U/mL",),
    "IL6": ("pg/mL",), "IFNG": ("pg/mL",), "IL10": ("pg/mL",), "TNFA": ("pg/mL",), "IL2": ("pg/mL",),
    "CRP": ("mg/L",), "FERRITIN": ("ng/mL",),
    "PROT": ("",),  # dipstick: LBSTRESC NEGATIVE, TRACE, 1+ ... 4+
})
LB_TESTCODES: tuple[str, ...] = tuple(LB_UNITS)
LB_NUMERIC_TESTS: tuple[str, ...] = tuple(t for t in LB_TESTCODES if t != "PROT")

# Other spellings of the same unit, accepted and normalised (extension).
UNIT_ALIASES: Mapping[str, str] = MappingProxyType({
    "µmol/L": "umol/L", "μmol/L": "umol/L",  # micro sign U+00B5 and Greek mu U+03BC
    "10*9/L": "10^9/L", "10E9/L": "10^9/L",
    "copies/µg gDNA": "copies/ug gDNA", "copies/μg gDNA": "copies/ug gDNA",
    "cells/µL": "cells/uL", "cells/μL": "cells/uL",
})

#: SUPP-- files: the SDTM layout (STUDYID, QLABEL, QORIG, QEVAL are optional).
SUPP_COLUMNS = ("RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL")

#: The only DM variables that pass ingestion (identifiers: USUBJID/SUBJID, site, age, sex, race).
DM_ALLOWED = (
    "STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "ARMCD", "ARM", "ACTARMCD",
    "ACTARM", "RFSTDTC", "RFXSTDTC", "DTHDTC", "DTHFL", "COUNTRY",
    "PHASE", "COHORT", "HISTOL", "NKSRC",
)

_DOMAINS: tuple[DomainSpec, ...] = (
    DomainSpec(
        code="DM", required=True,
        variables=("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "ARMCD", "ARM",
                   "ACTARMCD", "RFSTDTC", "RFXSTDTC", "DTHDTC", "DTHFL"),
        optional=("ACTARM", "COUNTRY"),
        numeric=("AGE",),
        dates=("RFSTDTC", "RFXSTDTC", "DTHDTC"),
        primary_date=None,
        nonmissing=("USUBJID", "ARMCD"),
        unique=("USUBJID",),
        terms=(
            _t("ARMCD", *DOSE_LEVELS, "SCRNFAIL", "NOTASSGN"),
            # extension: SDTM's NOTTRT / UNPLAN for the actual arm
            _t("ACTARMCD", *DOSE_LEVELS, "SCRNFAIL", "NOTASSGN", "NOTTRT", "UNPLAN"),
            _t("SEX", "M", "F", "U", "UNDIFFERENTIATED"),
            _t("RACE", "AMERICAN INDIAN OR ALASKA NATIVE", "ASIAN", "BLACK OR AFRICAN AMERICAN",
               "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", "WHITE", "MULTIPLE", "OTHER", "UNKNOWN",
               "NOT REPORTED", extensible=True),
            _t("DTHFL", *YN),
            _t("PHASE", "IA", "IB"),
            _t("COHORT", "CRC", "GC", "EC", "OTHER"),
            _t("NKSRC", "CORD BLOOD", "AUTOLOGOUS PB"),
        ),
        ranges=(Range("AGE", 0, 120),),
        supp=("PHASE", "COHORT", "HISTOL", "NKSRC"),
        allowed=DM_ALLOWED,
    ),
    DomainSpec(
        code="EX", required=True,
        variables=("USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXSTDTC", "EXENDTC", "EXSCAT"),
        optional=("STUDYID",),
        numeric=("EXSEQ", "EXDOSE", "VISITNUM"),
        dates=("EXSTDTC", "EXENDTC"),
        primary_date="EXSTDTC",
        periods=(("EXSTDTC", "EXENDTC"),),
        seq="EXSEQ",
        nonmissing=("USUBJID", "EXSEQ", "EXTRT", "EXSTDTC"),
        terms=(
            _t("EXTRT", CAR_NK, CAR_T),
            _t("EXDOSU", "cells", "cells/kg"),
            _t("EXROUTE", "INTRA-ARTERIAL", "INTRAVENOUS"),
            _t("EXSCAT", "CYCLE 1", "CYCLE 2", extensible=True),  # extension: later cycles
        ),
        # CAR-NK is a fixed dose (cells), CAR-T is dosed per kg (SAP §1)
        units=(UnitRule("EXDOSU", "EXTRT", {CAR_NK: ("cells",), CAR_T: (CAR_T_DOSE_UNIT,)}, "EXDOSE"),),
        ranges=(Range("EXDOSE", 0, None),),
    ),
    DomainSpec(
        code="AE", required=True,
        variables=("USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "AETOXGR",
                   "AESER", "AEREL", "AEOUT", "AEACN"),
        optional=("STUDYID",),
        numeric=("AESEQ",),
        dates=("AESTDTC", "AEENDTC"),
        primary_date="AESTDTC",
        periods=(("AESTDTC", "AEENDTC"),),
        seq="AESEQ",
        nonmissing=("USUBJID", "AESEQ", "AETERM"),
        terms=(
            _t("AETOXGR", "1", "2", "3", "4", "5", rule="grade_out_of_range"),
            _t("AESER", *YN),
            _t("AEREL", "RELATED", "PROBABLY RELATED", "POSSIBLY RELATED", "UNLIKELY RELATED", "NOT RELATED"),
            _t("AEOUT", "RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
               "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN", extensible=True),
            _t("AEACN", "DOSE NOT CHANGED", "DOSE REDUCED", "DRUG INTERRUPTED", "DRUG WITHDRAWN",
               "NOT APPLICABLE", "UNKNOWN", extensible=True),
            _t("AEDLT", *YN),
            _t("AERELPRD", "CAR-NK", "CAR-T", "BOTH", "PROCEDURE"),
            _t("AEGRSCL", "CTCAE V5.0", "ASTCT 2019"),
        ),
        supp=("AEDLT", "AERELPRD", "AEGRSCL"),
        expected=(("AEBODSYS", "ae_soc_missing"), ("AEDECOD", "ae_decod_missing")),  # MedDRA coded
    ),
    DomainSpec(
        code="LB", required=True,
        variables=("USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES", "LBORRESU", "LBSTRESN",
                   "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC", "VISIT", "VISITNUM"),
        optional=("STUDYID", "LBSTRESC", "LBBLFL"),
        numeric=("LBSEQ", "LBSTRESN", "LBSTNRLO", "LBSTNRHI", "VISITNUM"),
        dates=("LBDTC",),
        primary_date="LBDTC",
        seq="LBSEQ",
        nonmissing=("USUBJID", "LBSEQ", "LBTESTCD"),
        terms=(
            _t("LBTESTCD", *LB_TESTCODES, extensible=True, unknown="lb_testcd_unknown"),
            _t("LBSTRESC", "NEGATIVE", "TRACE", "1+", "2+", "3+", "4+", when=("LBTESTCD", ("PROT",))),
            _t("LBBLFL", "Y"),
        ),
        units=(UnitRule("LBSTRESU", "LBTESTCD", LB_UNITS, "LBSTRESN", UNIT_ALIASES),),
        ranges=(
            Range("LBSTRESN", 0, None, when=("LBTESTCD", LB_NUMERIC_TESTS)),
            Range("LBSTNRLO", 0, None, when=("LBTESTCD", LB_NUMERIC_TESTS)),
            Range("LBSTNRHI", 0, None, when=("LBTESTCD", LB_NUMERIC_TESTS)),
        ),
    ),
    DomainSpec(
        code="TU", required=True,
        variables=("USUBJID", "TULNKID", "TUTESTCD", "TUORRES", "TULOC", "TUMETHOD", "TUDTC", "TUEVAL"),
        optional=("STUDYID", "TUSEQ"),
        numeric=("TUSEQ", "VISITNUM"),
        dates=("TUDTC",),
        primary_date="TUDTC",
        seq="TUSEQ",
        nonmissing=("USUBJID", "TULNKID", "TUTESTCD"),
        terms=(
            _t("TUTESTCD", "TUMIDENT"),
            _t("TUORRES", "TARGET", "NON-TARGET", "NEW"),
            _t("TULOC", "LIVER", "LUNG", "LYMPH NODE", "PERITONEUM", "BONE", extensible=True),
        ),
    ),
    DomainSpec(
        code="TR", required=True,
        variables=("USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN", "TRSTRESC", "TRDTC", "VISIT", "VISITNUM"),
        optional=("STUDYID", "TRSEQ", "TRSTRESU"),
        numeric=("TRSEQ", "TRSTRESN", "VISITNUM"),
        dates=("TRDTC",),
        primary_date="TRDTC",
        seq="TRSEQ",
        nonmissing=("USUBJID", "TRLNKID", "TRTESTCD"),
        terms=(
            _t("TRTESTCD", "LDIAM", "SAXIS", "TUMSTATE"),
            _t("TRSTRESC", "PRESENT", "ABSENT", "UNEQUIVOCAL PROGRESSION", when=("TRTESTCD", ("TUMSTATE",))),
        ),
        units=(UnitRule("TRSTRESU", "TRTESTCD", {"LDIAM": ("mm",), "SAXIS": ("mm",)}, "TRSTRESN"),),
        ranges=(Range("TRSTRESN", 0, None),),
        # an error: RECIST needs the lesion's role (TARGET / NON-TARGET / NEW) from TU; a lesion
        # measured but never identified would silently leave the sum of diameters
        refs=(Ref(("USUBJID", "TRLNKID"), "TU", ("USUBJID", "TULNKID"), "tr_lnkid_unknown",
                  what="its identification record in TU (TUTESTCD TUMIDENT, TUORRES TARGET, NON-TARGET or "
                       "NEW) is needed to know the lesion's role in RECIST"),),
    ),
    DomainSpec(
        code="RS", required=True,
        variables=("USUBJID", "RSTESTCD", "RSCAT", "RSSTRESC", "RSEVAL", "RSDTC", "VISIT"),
        optional=("STUDYID", "RSSEQ", "VISITNUM", "RSACPTFL"),
        numeric=("RSSEQ", "VISITNUM"),
        dates=("RSDTC",),
        primary_date="RSDTC",
        seq="RSSEQ",
        nonmissing=("USUBJID", "RSTESTCD"),
        terms=(
            _t("RSTESTCD", "OVRLRESP", "TRGRESP", "NTRGRESP", "NEWLPROG"),
            _t("RSCAT", "RECIST 1.1"),
            _t("RSSTRESC", "CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE",
               when=("RSTESTCD", ("OVRLRESP", "TRGRESP", "NTRGRESP"))),
            _t("RSSTRESC", *YN, when=("RSTESTCD", ("NEWLPROG",))),  # extension: SDTM's Y/N for NEWLPROG
            _t("RSEVAL", "INVESTIGATOR", "INDEPENDENT ASSESSOR"),
        ),
    ),
    DomainSpec(
        code="DS", required=True,
        variables=("USUBJID", "DSCAT", "DSDECOD", "DSSTDTC", "EPOCH"),
        optional=("STUDYID", "DSSEQ", "DSTERM"),
        numeric=("DSSEQ",),
        dates=("DSSTDTC",),
        primary_date="DSSTDTC",
        seq="DSSEQ",
        nonmissing=("USUBJID", "DSDECOD"),
        terms=(
            _t("DSDECOD", "SCREEN FAILURE", "COMPLETED", "DEATH", "PROGRESSIVE DISEASE", "ADVERSE EVENT",
               "WITHDRAWAL BY SUBJECT", "LOST TO FOLLOW-UP", extensible=True),
            _t("DSCAT", "DISPOSITION EVENT", "PROTOCOL MILESTONE", "OTHER EVENT", extensible=True),
            _t("EPOCH", "SCREENING", "TREATMENT", "FOLLOW-UP", extensible=True),
        ),
    ),
    DomainSpec(
        code="MI", required=False,
        variables=("USUBJID", "MITESTCD", "MISTRESN", "MISPEC", "MILOC", "MIMETHOD", "MIDTC"),
        optional=("STUDYID", "MISEQ", "MITEST"),
        numeric=("MISEQ", "MISTRESN"),
        dates=("MIDTC",),
        primary_date="MIDTC",
        seq="MISEQ",
        nonmissing=("USUBJID", "MITESTCD"),
        terms=(
            _t("MITESTCD", "MICA", "MICB", "ULBP1", "ULBP2", "ULBP3", "ULBP4", "ULBP5", "ULBP6"),
            _t("MISPEC", "TUMOR TISSUE", extensible=True),
            _t("MIMETHOD", "IHC", extensible=True),
        ),
        ranges=(Range("MISTRESN", 0, 300),),  # IHC H-score
    ),
    DomainSpec(
        code="PC", required=False,
        variables=("USUBJID", "PCTESTCD", "PCSPEC", "PCSTRESN", "PCSTRESU", "PCLLOQ", "PCDTC", "PCRFTDTC", "PCREFID"),
        optional=("STUDYID", "PCSEQ", "PCORRES", "PCSTAT", "PCREASND"),
        numeric=("PCSEQ", "PCSTRESN", "PCLLOQ", "VISITNUM"),
        dates=("PCDTC", "PCRFTDTC"),
        primary_date="PCDTC",
        seq="PCSEQ",
        nonmissing=("USUBJID", "PCTESTCD"),
        terms=(
            _t("PCTESTCD", "CARDNA", "CARNK", "CART"),
            _t("PCSPEC", "BLOOD", "TUMOR TISSUE", "ASCITES"),
            _t("PCSTAT", "NOT DONE"),
        ),
        units=(UnitRule("PCSTRESU", "PCTESTCD",
                        {"CARDNA": ("copies/ug gDNA",), "CARNK": ("cells/uL",), "CART": ("cells/uL",)},
                        "PCSTRESN", UNIT_ALIASES),),
        ranges=(Range("PCSTRESN", 0, None), Range("PCLLOQ", 0, None)),
    ),
    DomainSpec(
        code="CM", required=False,
        variables=("USUBJID", "CMTRT", "CMDECOD", "CMCAT", "CMGRPID", "CMSTDTC", "CMENDTC"),
        optional=("STUDYID", "CMSEQ"),
        numeric=("CMSEQ",),
        dates=("CMSTDTC", "CMENDTC"),
        primary_date="CMSTDTC",
        periods=(("CMSTDTC", "CMENDTC"),),
        seq="CMSEQ",
        nonmissing=("USUBJID", "CMTRT"),
        terms=(_t("CMCAT", "PRIOR CANCER THERAPY", "CRS MANAGEMENT", "CONCOMITANT", "SUBSEQUENT CANCER THERAPY"),),
    ),
    DomainSpec(
        code="SS", required=False,
        variables=("USUBJID", "SSTESTCD", "SSSTRESC", "SSDTC"),
        optional=("STUDYID", "SSSEQ"),
        numeric=("SSSEQ",),
        dates=("SSDTC",),
        primary_date="SSDTC",
        seq="SSSEQ",
        nonmissing=("USUBJID", "SSTESTCD"),
        terms=(_t("SSTESTCD", "SURVSTAT"), _t("SSSTRESC", "ALIVE", "DEAD", "UNKNOWN")),
    ),
    DomainSpec(
        code="VS", required=False,
        variables=("USUBJID", "VSTESTCD", "VSSTRESN", "VSDTC"),
        optional=("STUDYID", "VSSEQ", "VSSTRESU"),
        numeric=("VSSEQ", "VSSTRESN", "VISITNUM"),
        dates=("VSDTC",),
        primary_date="VSDTC",
        seq="VSSEQ",
        nonmissing=("USUBJID", "VSTESTCD"),
        terms=(_t("VSTESTCD", "WEIGHT", "OXYSAT", "SYSBP", "DIABP", extensible=True),),
        # extension: the contract names no VS units; these are the ones the SAP's checks assume
        units=(UnitRule("VSSTRESU", "VSTESTCD",
                        {"WEIGHT": ("kg",), "OXYSAT": ("%",), "SYSBP": ("mmHg",), "DIABP": ("mmHg",)}, "VSSTRESN"),),
        ranges=(Range("VSSTRESN", 0, None), Range("VSSTRESN", 0, 100, when=("VSTESTCD", ("OXYSAT",)))),
    ),
    DomainSpec(
        code="QS", required=False,
        variables=("USUBJID", "QSCAT", "QSSTRESN", "QSDTC"),
        optional=("STUDYID", "QSSEQ", "QSTESTCD"),
        numeric=("QSSEQ", "QSSTRESN"),
        dates=("QSDTC",),
        primary_date="QSDTC",
        seq="QSSEQ",
        nonmissing=("USUBJID", "QSCAT"),
        terms=(_t("QSCAT", "ECOG", extensible=True),),
        ranges=(Range("QSSTRESN", 0, 5, when=("QSCAT", ("ECOG",))),),
    ),
    DomainSpec(
        code="EG", required=False,
        variables=("USUBJID", "EGTESTCD", "EGSTRESN", "EGDTC"),
        optional=("STUDYID", "EGSEQ", "EGSTRESU"),
        numeric=("EGSEQ", "EGSTRESN"),
        dates=("EGDTC",),
        primary_date="EGDTC",
        seq="EGSEQ",
        nonmissing=("USUBJID", "EGTESTCD"),
        terms=(_t("EGTESTCD", "QTCF", extensible=True),),
        units=(UnitRule("EGSTRESU", "EGTESTCD", {"QTCF": ("ms", "msec")}, "EGSTRESN"),),
        ranges=(Range("EGSTRESN", 0, None),),
    ),
    DomainSpec(
        code="CV", required=False,
        variables=("USUBJID", "CVTESTCD", "CVSTRESN", "CVDTC"),
        optional=("STUDYID", "CVSEQ", "CVSTRESU"),
        numeric=("CVSEQ", "CVSTRESN"),
        dates=("CVDTC",),
        primary_date="CVDTC",
        seq="CVSEQ",
        nonmissing=("USUBJID", "CVTESTCD"),
        terms=(_t("CVTESTCD", "LVEF", extensible=True),),
        units=(UnitRule("CVSTRESU", "CVTESTCD", {"LVEF": ("%",)}, "CVSTRESN"),),
        ranges=(Range("CVSTRESN", 0, 100, when=("CVTESTCD", ("LVEF",))),),
    ),
)

#: Domain code -> specification, in the contract's order.
DOMAINS: Mapping[str, DomainSpec] = MappingProxyType({d.code: d for d in _DOMAINS})
REQUIRED_DOMAINS: tuple[str, ...] = tuple(d.code for d in _DOMAINS if d.required)
OPTIONAL_DOMAINS: tuple[str, ...] = tuple(d.code for d in _DOMAINS if not d.required)


def spec(code: str) -> DomainSpec:
    return DOMAINS[code.upper()]
