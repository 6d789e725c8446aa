"""A small hand-written export for the ingestion tests: three subjects, all required domains,
SUPPDM (subject level) and SUPPAE (AESEQ level).

Subjects (data cut used by the tests: 2026-10-31):
- NK01-001: DL1, CAR-NK on 2026-03-02/03, CAR-T on 2026-03-16/17; pyrexia and CRS.
- NK01-002: DL2, CAR-NK on 2026-04-06/07, CAR-T on 2026-04-20 and 2026-11-05 (after the cut);
  nausea with a partial start (2026-04), fatigue on 2026-11-02 (after the cut); died on
  2026-11-20 (after the cut: DTHDTC is blanked, the DS DEATH record excluded).
- NK01-003: screen failure.
DM also holds BRTHDTC and an INITIALS column, which must never reach an output.

``base_frames()`` gives the domains as text frames (one per file, empty cell = "");
``write_export(folder, frames, fmt)`` writes them as CSV, XPT or Parquet (numbers as numbers in
XPT and Parquet). Tests change the frames before writing to plant problems.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from analysis.contract import DOMAINS

DATA_CUT = "2026-10-31"

_CSV = {
    "dm": """\
STUDYID,DOMAIN,USUBJID,SUBJID,SITEID,AGE,SEX,RACE,ARMCD,ARM,ACTARMCD,ACTARM,RFSTDTC,RFXSTDTC,DTHDTC,DTHFL,COUNTRY,BRTHDTC,INITIALS
NK01,DM,NK01-001,001,01,54,M,ASIAN,DL1,Dose level 1,DL1,Dose level 1,2026-03-02,2026-03-02,,,CHN,1971-05-04,ZWL
NK01,DM,NK01-002,002,01,61,F,ASIAN,DL2,Dose level 2,DL2,Dose level 2,2026-04-06,2026-04-06,2026-11-20,Y,CHN,1964-09-12,LXM
NK01,DM,NK01-003,003,01,47,M,ASIAN,SCRNFAIL,Screen Failure,SCRNFAIL,Screen Failure,,,,,CHN,1978-01-30,WQY
""",
    "suppdm": """\
STUDYID,RDOMAIN,USUBJID,IDVAR,IDVARVAL,QNAM,QLABEL,QVAL
NK01,DM,NK01-001,,,PHASE,Study phase,IA
NK01,DM,NK01-001,,,COHORT,Cohort,CRC
NK01,DM,NK01-002,,,PHASE,Study phase,IA
NK01,DM,NK01-002,,,COHORT,Cohort,GC
NK01,DM,NK01-002,,,NKSRC,CAR-NK source,CORD BLOOD
""",
    "ex": """\
STUDYID,DOMAIN,USUBJID,EXSEQ,EXTRT,EXDOSE,EXDOSU,EXROUTE,EXSTDTC,EXENDTC,EXSCAT
NK01,EX,NK01-001,1,NKG2D CAR-NK,1000000000,cells,INTRA-ARTERIAL,2026-03-02T09:30,2026-03-02T10:15,CYCLE 1
NK01,EX,NK01-001,2,NKG2D CAR-NK,2000000000,cells,INTRA-ARTERIAL,2026-03-03T09:00,2026-03-03T09:50,CYCLE 1
NK01,EX,NK01-001,3,NKG2D CAR-T,15000000,cells/kg,INTRAVENOUS,2026-03-16,2026-03-16,CYCLE 1
NK01,EX,NK01-001,4,NKG2D CAR-T,15000000,cells/kg,INTRAVENOUS,2026-03-17,2026-03-17,CYCLE 1
NK01,EX,NK01-002,1,NKG2D CAR-NK,1000000000,cells,INTRA-ARTERIAL,2026-04-06,2026-04-06,CYCLE 1
NK01,EX,NK01-002,2,NKG2D CAR-NK,2000000000,cells,INTRA-ARTERIAL,2026-04-07,2026-04-07,CYCLE 1
NK01,EX,NK01-002,3,NKG2D CAR-T,30000000,cells/kg,INTRAVENOUS,2026-04-20,2026-04-20,CYCLE 1
NK01,EX,NK01-002,4,NKG2D CAR-T,30000000,cells/kg,INTRAVENOUS,2026-11-05,2026-11-05,CYCLE 2
""",
    "ae": """\
STUDYID,DOMAIN,USUBJID,AESEQ,AETERM,AEDECOD,AEBODSYS,AESTDTC,AEENDTC,AETOXGR,AESER,AEREL,AEOUT,AEACN
NK01,AE,NK01-001,1,Fever,Pyrexia,General disorders and administration site conditions,2026-03-03,2026-03-05,1,N,RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED
NK01,AE,NK01-001,2,CRS,Cytokine release syndrome,Immune system disorders,2026-03-16T20:00,2026-03-19,2,N,RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED
NK01,AE,NK01-002,1,Nausea,Nausea,Gastrointestinal disorders,2026-04,,1,N,POSSIBLY RELATED,NOT RECOVERED/NOT RESOLVED,DOSE NOT CHANGED
NK01,AE,NK01-002,2,Fatigue,Fatigue,General disorders and administration site conditions,2026-11-02,,2,N,NOT RELATED,NOT RECOVERED/NOT RESOLVED,NOT APPLICABLE
""",
    "suppae": """\
STUDYID,RDOMAIN,USUBJID,IDVAR,IDVARVAL,QNAM,QLABEL,QVAL
NK01,AE,NK01-001,AESEQ,2,AEDLT,Dose-limiting toxicity,N
NK01,AE,NK01-001,AESEQ,2,AEGRSCL,Grading scale,ASTCT 2019
NK01,AE,NK01-002,AESEQ,1,AEDLT,Dose-limiting toxicity,N
""",
    "lb": """\
STUDYID,DOMAIN,USUBJID,LBSEQ,LBTESTCD,LBTEST,LBCAT,LBORRES,LBORRESU,LBSTRESN,LBSTRESU,LBSTNRLO,LBSTNRHI,LBDTC,VISIT,VISITNUM
NK01,LB,NK01-001,1,WBC,Leukocytes,HEMATOLOGY,5.2,10^9/L,5.2,10^9/L,3.5,9.5,2026-02-26,SCREENING,1
NK01,LB,NK01-001,2,ALT,Alanine Aminotransferase,CHEMISTRY,31,U/L,31,U/L,7,40,2026-02-26,SCREENING,1
NK01,LB,NK01-001,3,CREAT,Creatinine,CHEMISTRY,0.9,mg/dL,79.6,umol/L,57,97,2026-02-26,SCREENING,1
NK01,LB,NK01-001,4,IL6,Interleukin 6,CYTOKINE,48.5,pg/mL,48.5,pg/mL,0,7,2026-03-17T08:00,DAY 2 CAR-T,12
NK01,LB,NK01-002,1,WBC,Leukocytes,HEMATOLOGY,6.1,10^9/L,6.1,10^9/L,3.5,9.5,2026-03-30,SCREENING,1
NK01,LB,NK01-002,2,INR,Prothrombin Intl. Normalized Ratio,COAGULATION,1.1,,1.1,,0.8,1.2,2026-03-30,SCREENING,1
NK01,LB,NK01-002,3,PROT,Protein,URINALYSIS,NEGATIVE,,,,,,2026-03-30,SCREENING,1
NK01,LB,NK01-002,4,CRP,C Reactive Protein,CHEMISTRY,12,mg/L,12,mg/L,0,10,2026-11-10,FOLLOW-UP,30
""",
    "tu": """\
STUDYID,DOMAIN,USUBJID,TUSEQ,TULNKID,TUTESTCD,TUORRES,TULOC,TUMETHOD,TUDTC,TUEVAL
NK01,TU,NK01-001,1,T01,TUMIDENT,TARGET,LIVER,CT SCAN,2026-02-20,INVESTIGATOR
NK01,TU,NK01-001,2,NT01,TUMIDENT,NON-TARGET,LYMPH NODE,CT SCAN,2026-02-20,INVESTIGATOR
NK01,TU,NK01-002,1,T01,TUMIDENT,TARGET,LIVER,MRI,2026-03-28,INVESTIGATOR
""",
    "tr": """\
STUDYID,DOMAIN,USUBJID,TRSEQ,TRLNKID,TRTESTCD,TRSTRESN,TRSTRESU,TRSTRESC,TRDTC,VISIT,VISITNUM
NK01,TR,NK01-001,1,T01,LDIAM,42,mm,42,2026-02-20,SCREENING,1
NK01,TR,NK01-001,2,NT01,TUMSTATE,,,PRESENT,2026-02-20,SCREENING,1
NK01,TR,NK01-001,3,T01,LDIAM,35,mm,35,2026-04-14,WEEK 6,20
NK01,TR,NK01-002,1,T01,LDIAM,30,mm,30,2026-03-28,SCREENING,1
""",
    "rs": """\
STUDYID,DOMAIN,USUBJID,RSSEQ,RSTESTCD,RSCAT,RSSTRESC,RSEVAL,RSDTC,VISIT
NK01,RS,NK01-001,1,OVRLRESP,RECIST 1.1,SD,INVESTIGATOR,2026-04-14,WEEK 6
NK01,RS,NK01-002,1,OVRLRESP,RECIST 1.1,PD,INVESTIGATOR,2026-05,WEEK 6
""",
    "ds": """\
STUDYID,DOMAIN,USUBJID,DSSEQ,DSCAT,DSDECOD,DSTERM,DSSTDTC,EPOCH
NK01,DS,NK01-003,1,DISPOSITION EVENT,SCREEN FAILURE,Screen failure: ECOG 2,2026-02-25,SCREENING
NK01,DS,NK01-002,1,DISPOSITION EVENT,PROGRESSIVE DISEASE,Progressive disease,2026-05-20,TREATMENT
NK01,DS,NK01-002,2,DISPOSITION EVENT,DEATH,Death,2026-11-20,FOLLOW-UP
""",
}


def base_frames() -> dict[str, pd.DataFrame]:
    """The export as text frames keyed by file stem (``dm``, ``suppdm``, ...)."""
    return {stem: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            for stem, text in _CSV.items()}


def _numeric_columns(stem: str, df: pd.DataFrame) -> list[str]:
    code = stem.upper()
    if code not in DOMAINS:
        return []
    return [c for c in DOMAINS[code].numeric_all if c in df.columns]


def _typed(stem: str, df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64 (as SAS and most Parquet writers hold them), text as text."""
    out = df.copy()
    for c in _numeric_columns(stem, df):
        out[c] = pd.to_numeric(out[c].replace("", None), errors="coerce").astype("float64")
    return out


def write_frame(df: pd.DataFrame, path: Path) -> Path:
    """Write one frame in the format named by the path's extension."""
    path = Path(path)
    ext = path.suffix.lower()
    stem = path.stem.lower()
    if ext == ".csv":
        df.to_csv(path, index=False, lineterminator="\n")
    elif ext == ".xpt":
        import pyreadstat

        typed = _typed(stem, df)
        pyreadstat.write_xport(typed, str(path), table_name=stem.upper()[:8], file_format_version=5)
    elif ext == ".parquet":
        typed = _typed(stem, df)
        for c in typed.columns:
            if typed[c].dtype == object:
                typed[c] = typed[c].replace("", None)
        typed.to_parquet(path, index=False)
    else:
        raise ValueError(path)
    return path


def write_export(folder: Path, frames: dict[str, pd.DataFrame] | None = None,
                 fmt: str | dict[str, str] = "csv") -> Path:
    """Write an export folder; ``fmt`` is one format for all files or one per file stem."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = base_frames() if frames is None else frames
    for stem, df in frames.items():
        ext = fmt if isinstance(fmt, str) else fmt.get(stem, "csv")
        write_frame(df, folder / f"{stem}.{ext}")
    return folder
