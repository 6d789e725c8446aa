"""Five hand-written subjects (S1-S5) used by the ADSL and ARD tests; the
expected values are worked out by hand in tests/test_adsl.py."""
import pandas as pd


def frame(cols, rows):
    df = pd.DataFrame(rows, columns=cols)
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype("string")
    return df


def hand_domains():
    S = ["S1", "S2", "S3", "S4", "S5"]
    dm = frame(["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "SEX", "RACE", "ARMCD", "ARM",
                "ACTARMCD", "DTHDTC", "DTHFL", "COHORT", "HISTOL", "PHASE", "NKSRC"], [
        ["X", "S1", "1", "01", 60.0, "F", "ASIAN", "DL2", "DL2", "DL2", None, None, "CRC", "colorectal adenocarcinoma", "IA", "CORD BLOOD"],
        ["X", "S2", "2", "01", 55.0, "M", "ASIAN", "DL2", "DL2", "NOTASSGN", "2026-03", "Y", "GC", "gastric adenocarcinoma", "IA", "CORD BLOOD"],
        ["X", "S3", "3", "01", 70.0, "M", "ASIAN", "SCRNFAIL", "Screen Failure", "SCRNFAIL", None, None, None, None, None, None],
        ["X", "S4", "4", "01", 45.0, "F", "ASIAN", "DL3", "DL3", "DL3", None, None, "CRC", "colorectal adenocarcinoma", "IA", "CORD BLOOD"],
        ["X", "S5", "5", "01", 50.0, "M", "ASIAN", "DL2", "DL2", "DL2", None, None, "EC", "oesophageal squamous cell carcinoma", "IA", "CORD BLOOD"],
    ])
    nk, t = "NKG2D CAR-NK", "NKG2D CAR-T"
    ex = frame(["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXSTDTC", "EXENDTC", "EXSCAT"], [
        ["S1", 1.0, nk, 1e9, "cells", "INTRA-ARTERIAL", "2026-01-05T08:00", "2026-01-05T08:00", None],
        ["S1", 2.0, nk, 2e9, "cells", "INTRA-ARTERIAL", "2026-01-06", "2026-01-06", None],
        ["S1", 3.0, t, 3e7, "cells/kg", "INTRAVENOUS", "2026-01-15", "2026-01-15", "CYCLE 1"],
        ["S1", 4.0, t, 3e7, "cells/kg", "INTRAVENOUS", "2026-01-16", "2026-01-16", "CYCLE 1"],
        ["S2", 1.0, nk, 1e9, "cells", "INTRA-ARTERIAL", "2026-02-01", "2026-02-01", None],
        ["S2", 2.0, nk, 2e9, "cells", "INTRA-ARTERIAL", "2026-02-02", "2026-02-02", None],
        ["S4", 1.0, nk, 1e9, "cells", "INTRA-ARTERIAL", "2026-09-28", "2026-09-28", None],
        ["S4", 2.0, t, 5.1e7, "cells/kg", "INTRAVENOUS", "2026-10-10", "2026-10-10", "CYCLE 1"],
        ["S5", 1.0, nk, 1e9, "cells", "INTRA-ARTERIAL", "2026-03-01", "2026-03-01", None],
        ["S5", 2.0, t, 3e7, "cells/kg", "INTRAVENOUS", "2026-03-10", "2026-03-10", "CYCLE 1"],
    ])
    ae = frame(["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "AETOXGR", "AEDLT"], [
        # S1: DLT on 2026-02-01, inside the window (2026-01-05 .. 2026-02-12).
        ["S1", 1.0, "Neutropenia", "Neutrophil count decreased", "Investigations", "2026-02-01", None, "4", "Y"],
        # S5: an AE called DLT but starting 2026-06-01, after the window end 2026-04-07.
        ["S5", 1.0, "Fatigue", "Fatigue", "General disorders", "2026-06-01", None, "3", "Y"],
        ["S5", 2.0, "Nausea", "Nausea", "Gastrointestinal disorders", "2026-03", None, "1", "N"],
    ])
    lb = frame(["USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC"], [
        ["S1", 1.0, "CEA", 10.0, "ng/mL", 0.0, 5.0, "2025-12-20"],
        ["S1", 2.0, "CEA", 12.0, "ng/mL", 0.0, 5.0, "2026-01-05T07:00"],   # baseline: same day, before infusion
        ["S1", 3.0, "CEA", 50.0, "ng/mL", 0.0, 5.0, "2026-01-05T10:00"],   # after the infusion: not baseline
        ["S1", 4.0, "NEUT", 4.5, "10^9/L", 2.0, 7.5, "2026-01-04"],
        ["S1", 5.0, "LYM", 1.5, "10^9/L", 1.0, 4.0, "2026-01-04"],       # GLR 3.0 -> ">=3"
        ["S1", 6.0, "CA199", 20.0, "U/mL", 0.0, 37.0, "2026-01-04"],      # <=ULN
        ["S2", 1.0, "NEUT", 2.0, "10^9/L", 2.0, 7.5, "2026-01-30"],
        ["S2", 2.0, "LYM", 1.0, "10^9/L", 1.0, 4.0, "2026-01-30"],        # GLR 2.0 -> "<3"
        ["S2", 3.0, "LYM", None, "10^9/L", 1.0, 4.0, "2026-02-01"],       # missing value: skipped
        ["S5", 1.0, "ALT", 30.0, "U/L", 0.0, 40.0, "2026-05-01"],         # a contact after the DLT window
    ])
    tu = frame(["USUBJID", "TULNKID", "TUTESTCD", "TUORRES", "TULOC", "TUDTC"], [
        ["S1", "T01", "TUMIDENT", "TARGET", "LIVER", "2025-12-20"],
        ["S1", "T02", "TUMIDENT", "TARGET", "LYMPH NODE", "2025-12-20"],
        ["S1", "NT01", "TUMIDENT", "NON-TARGET", "LUNG", "2025-12-20"],
        ["S1", "NEW01", "TUMIDENT", "NEW", "BONE", "2026-05-01"],          # not a baseline site
        ["S2", "T01", "TUMIDENT", "TARGET", "LIVER", "2026-01-25"],
        ["S4", "NT01", "TUMIDENT", "NON-TARGET", "LIVER", "2026-09-20"],
        ["S5", "T01", "TUMIDENT", "TARGET", "LIVER", "2026-02-20"],
        ["S5", "T02", "TUMIDENT", "TARGET", "PERITONEUM", "2026-02-20"],
    ])
    tr = frame(["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN", "TRDTC"], [
        ["S1", "T01", "LDIAM", 40.0, "2025-12-20"],
        ["S1", "T02", "LDIAM", 30.0, "2025-12-20"],   # node: the short axis counts, not this
        ["S1", "T02", "SAXIS", 20.0, "2025-12-20"],   # BSLD S1 = 40 + 20 = 60
        ["S1", "T01", "LDIAM", 28.0, "2026-03-01"],   # post-baseline
        ["S2", "T01", "LDIAM", 25.0, "2026-01-25"],   # BSLD S2 = 25
        ["S5", "T01", "LDIAM", 30.0, "2026-02"],      # partial: day -> 2026-02-28, still baseline
        ["S5", "T02", "LDIAM", 15.0, "2026-02-20"],   # BSLD S5 = 45
    ])
    rs = frame(["USUBJID", "RSTESTCD", "RSCAT", "RSSTRESC", "RSEVAL", "RSDTC"], [
        ["S1", "OVRLRESP", "RECIST 1.1", "PR", "INVESTIGATOR", "2026-03-01"],
        ["S5", "OVRLRESP", "RECIST 1.1", "SD", "INDEPENDENT ASSESSOR", "2026-05-01"],  # not investigator
    ])
    ds = frame(["USUBJID", "DSCAT", "DSDECOD", "DSSTDTC"], [
        ["S3", "DISPOSITION EVENT", "SCREEN FAILURE", "2026-01-10"],
        ["S2", "DISPOSITION EVENT", "DEATH", "2026-03"],
    ])
    mi = frame(["USUBJID", "MITESTCD", "MISTRESN", "MISPEC", "MIDTC"], [
        ["S1", "MICA", 80.0, "TUMOR TISSUE", "2025-12-15"],
        ["S1", "ULBP2", 120.0, "TUMOR TISSUE", "2025-12-15"],   # NKGLHS 120 -> HIGH
        ["S5", "MICB", 40.0, "TUMOR TISSUE", "2026-02-15"],     # NKGLHS 40 -> LOW
    ])
    cm = frame(["USUBJID", "CMTRT", "CMCAT", "CMGRPID", "CMSTDTC"], [
        ["S1", "OXALIPLATIN", "PRIOR CANCER THERAPY", "REG1", "2024-01"],
        ["S1", "FLUOROURACIL", "PRIOR CANCER THERAPY", "REG1", "2024-01"],
        ["S1", "IRINOTECAN", "PRIOR CANCER THERAPY", "REG2", "2024-08"],
        ["S1", "REGORAFENIB", "PRIOR CANCER THERAPY", "REG3", "2025-05"],   # 3 regimens -> ">=3"
        ["S1", "TOCILIZUMAB", "CRS MANAGEMENT", None, "2026-01-20"],
        ["S5", "CISPLATIN", "PRIOR CANCER THERAPY", "REG1", "2025-01"],    # 1 -> "<=2"
    ])
    pc = frame(["USUBJID", "PCTESTCD", "PCSPEC", "PCSTRESN", "PCDTC"], [
        ["S1", "CARDNA", "BLOOD", 5000.0, "2026-01-10"],
        ["S2", "CARDNA", "BLOOD", None, "2026-02-08"],     # BLQ only -> not in the kinetics set
    ])
    ss = frame(["USUBJID", "SSTESTCD", "SSSTRESC", "SSDTC"], [
        ["S1", "SURVSTAT", "ALIVE", "2026-09-30"],
        ["S1", "SURVSTAT", "ALIVE", "2026-11-15"],          # after the cut: capped out
    ])
    return {"DM": dm, "EX": ex, "AE": ae, "LB": lb, "TU": tu, "TR": tr, "RS": rs, "DS": ds,
            "MI": mi, "CM": cm, "PC": pc, "SS": ss}
