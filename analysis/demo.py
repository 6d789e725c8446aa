"""Seeded synthetic export of trial NCT07021534 (NKG2D CAR-NK cells by hepatic artery
infusion, then NKG2D CAR-T cells intravenously), as a folder of SDTM-style domain files that
follows ``spec/input-contract.md``.

    python -m analysis.demo --out DIR [--seed N] [--size phase1a|phase1b|load]
                            [--n-subjects N] [--data-cut YYYY-MM-DD]

Sizes
-----
``phase1a`` (default; data cut 2026-10-31): the dose-escalation phase as the protocol runs it
(SAP §1). 19 subjects in DM: 2 screen failures, DL1 one patient (accelerated titration, no
trigger event), DL2 3+3 with one DLT expanded to 6 (1/6), DL3 three patients (0 DLT) plus one
enrolled subject who received CAR-NK only (replaced), DL4 3+3 with one DLT expanded to 6
(1/6: MTD not reached, DL4 the highest tested dose). The returned summary (and the CLI output)
lists every planted fact: DLTs, eligibility deviations, investigator responses that disagree
with the measurements, records after the data cut, partial dates.

``phase1b`` (default cut 2027-10-31): the phase1a subjects followed longer, plus four expansion
cohorts (CRC, GC, EC, OTHER) of 18 subjects each at the RP2D (DL4), SUPPDM PHASE ``IB``.

``load`` (default cut 2027-10-31): the phase1a subjects plus expansion subjects up to
``n_subjects`` in DM (default 2,000; about a million LB records), with ~8% screen failures.

Planted facts of phase1a (default seed and cut; the design does not depend on the seed)
------------------------------------------------------------------------------------
- DLTs (SUPPAE AEDLT = Y): 0004 (DL2) cytokine release syndrome grade 3 (ASTCT) on the day
  after the first CAR-T infusion, the only SAE, cycle 2 withheld; 0015 (DL4) ALT increased
  grade 3 (peak ~9 x ULN, bilirubin < 1.5 x ULN: no Hy's law), cycle 2 withheld.
- Trigger events (CRS grade 2) in the 3+3 levels: 0003, 0007 (DL2), 0009 (DL3), 0014, 0018
  (DL4); the DL1 patient 0001 has only grade 1 related events.
- CAR-NK only: 0010 (planned DL3; clinical progression, ACTARMCD NOTASSGN, died 2026-07-02),
  replaced by 0012. Screen failures: 0002 (platelets 45), 0013 (ECOG 2).
- Eligibility deviations (last value before the first infusion): 0006 platelets 55/57
  x10^9/L, 0009 urine protein 2+, 0014 SpO2 95%, 0017 QTcF 462 ms (male). 0011 has creatinine
  1.53 x ULN but a Cockcroft-Gault clearance of 58 mL/min (criterion met).
- Investigator responses that disagree with the measurements: 0003 TUMOR ASSESSMENT 3 (PR
  recorded, -20.0% = SD) and 0016 TUMOR ASSESSMENT 1 (PD recorded, +21% but +4 mm = SD).
  Confirmed PR 0004, 0009, 0014; unconfirmed PR 0007, 0018; NE 0008 (a lung target not imaged);
  PD by new lesion 0005, by non-target progression 0011; 0019 has only an SD before day 42.
- After the cut: 3 LB records (ALT, AST, BILI) of 0019 on 2026-11-02 and 1 AE of 0018 on
  2026-11-05. Partial dates: AESTDTC 2026-05 (0003), 2026-02 (0006, month of its first
  infusion), 2026-04 (0008); AEENDTC 2026-06 (0003); RSDTC 2026-07 (0003) and 2026-08 (0009);
  DTHDTC/DSSTDTC 2026-08 (0005); many prior-therapy CM dates.
- Deaths: 0001, 0005, 0010. Subsequent therapy: 0001, 0005. No MI: 0012; MI highest H-score
  exactly 100: 0008. Not TEAE: 0003 constipation before the first infusion, 0004 ascites more
  than 90 days after the last infusion, 0001 diarrhoea after the subsequent therapy started.

The export is the state of the database at the data cut: a subject screened after the cut is
not in it, records are dated on or before the cut, except a few planted records dated after
it (LB and AE) that the pipeline must exclude and count.

Determinism: the same arguments give byte-identical files (per-subject random streams derived
from the seed, sorted rows, fixed number formatting, fixed SAS transport header dates). The
export is written to a temporary folder next to ``out_dir`` and renamed into place at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_SEED", "SIZES", "DEFAULT_DATA_CUT", "DOSE_LEVELS", "XPT_DOMAINS", "DOMAIN_FILES",
    "generate_export", "main",
]

STUDYID = "NCT07021534"
SITEID = "01"
DEFAULT_SEED = 20251015
SIZES = ("phase1a", "phase1b", "load")
DEFAULT_DATA_CUT = {"phase1a": "2026-10-31", "phase1b": "2027-10-31", "load": "2027-10-31"}
DOSE_LEVELS = {"DL1": 15_000_000, "DL2": 30_000_000, "DL3": 50_000_000, "DL4": 70_000_000}
DOSE_LABEL = {"DL1": "1.5x10^7", "DL2": "3x10^7", "DL3": "5x10^7", "DL4": "7x10^7"}
RP2D = "DL4"
NK_DOSES = (1_000_000_000, 2_000_000_000)
EXPANSION_COHORTS = ("CRC", "GC", "EC", "OTHER")
EXPANSION_PER_COHORT = 18
LOAD_DEFAULT_SUBJECTS = 2000
#: domains written as SAS transport v5 (all their variable names fit 8 characters)
XPT_DOMAINS = ("ds", "mi", "suppae")
#: every file of an export, in writing order
DOMAIN_FILES = ("dm", "suppdm", "ex", "ae", "suppae", "lb", "tu", "tr", "rs", "ds", "mi", "pc",
                "cm", "ss", "vs", "qs", "eg", "cv")

_DOMAIN_FILE_RE = re.compile(r"^(supp)?[a-z]{2}\.(csv|xpt|parquet)$")

# random-stream keys (np.random.default_rng([seed, key, subject]))
_K_SUBJ, _K_LES, _K_TUM, _K_AE, _K_LBP, _K_PC, _K_VS, _K_MISC, _K_CM, _K_MI = range(1, 11)
_K_LBNOISE = 50


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *[int(k) for k in keys]])


def _d(s: str) -> date:
    return date.fromisoformat(s)


def _n(x: float | None, dec: int) -> str:
    """Fixed-decimal text of a number; '' when missing."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return f"{x:.{dec}f}"


def _vn(x: float) -> str:
    """VISITNUM text: whole numbers without decimals."""
    x = round(float(x), 2)
    return str(int(x)) if x.is_integer() else f"{x:.2f}".rstrip("0")


# --------------------------------------------------------------------------------------------
# catalogues
# --------------------------------------------------------------------------------------------

SOC = {
    "Pyrexia": "General disorders and administration site conditions",
    "Fatigue": "General disorders and administration site conditions",
    "Chills": "General disorders and administration site conditions",
    "Nausea": "Gastrointestinal disorders",
    "Vomiting": "Gastrointestinal disorders",
    "Diarrhoea": "Gastrointestinal disorders",
    "Constipation": "Gastrointestinal disorders",
    "Abdominal pain": "Gastrointestinal disorders",
    "Ascites": "Gastrointestinal disorders",
    "Decreased appetite": "Metabolism and nutrition disorders",
    "Hypoalbuminaemia": "Metabolism and nutrition disorders",
    "Hypokalaemia": "Metabolism and nutrition disorders",
    "Alanine aminotransferase increased": "Investigations",
    "Aspartate aminotransferase increased": "Investigations",
    "Blood bilirubin increased": "Investigations",
    "Neutrophil count decreased": "Investigations",
    "Lymphocyte count decreased": "Investigations",
    "Platelet count decreased": "Investigations",
    "White blood cell count decreased": "Investigations",
    "Anaemia": "Blood and lymphatic system disorders",
    "Cytokine release syndrome": "Immune system disorders",
    "Immune effector cell-associated neurotoxicity syndrome": "Nervous system disorders",
    "Headache": "Nervous system disorders",
    "Hepatic pain": "Hepatobiliary disorders",
    "Back pain": "Musculoskeletal and connective tissue disorders",
    "Cancer pain": "Neoplasms benign, malignant and unspecified (incl cysts and polyps)",
    "Cough": "Respiratory, thoracic and mediastinal disorders",
    "Insomnia": "Psychiatric disorders",
}
CRS = "Cytokine release syndrome"
ICANS = "Immune effector cell-associated neurotoxicity syndrome"
_RELATED = ("RELATED", "PROBABLY RELATED", "POSSIBLY RELATED")

# background AEs: decod, verbatim, anchor (NK: first CAR-NK, T: first CAR-T, LATE: last
# infusion), probability, grades to draw from, relationship, product, start offset range, duration range
_BACKGROUND_AES = (
    ("Pyrexia", "Fever", "NK", 0.55, (1,), "PROBABLY RELATED", "CAR-NK", (0, 1), (1, 3)),
    ("Abdominal pain", "Abdominal pain after HAI", "NK", 0.45, (1, 1, 2), "POSSIBLY RELATED", "PROCEDURE", (0, 1), (1, 5)),
    ("Nausea", "Nausea", "NK", 0.30, (1,), "POSSIBLY RELATED", "CAR-NK", (0, 2), (1, 3)),
    ("Chills", "Chills", "NK", 0.20, (1,), "PROBABLY RELATED", "CAR-NK", (0, 0), (1, 1)),
    ("Hepatic pain", "Right upper quadrant pain", "NK", 0.15, (1,), "POSSIBLY RELATED", "PROCEDURE", (0, 2), (2, 6)),
    ("Fatigue", "Fatigue", "T", 0.40, (1, 1, 2), "POSSIBLY RELATED", "CAR-T", (1, 5), (3, 14)),
    ("Decreased appetite", "Poor appetite", "T", 0.30, (1, 1, 2), "POSSIBLY RELATED", "BOTH", (1, 6), (3, 14)),
    ("Headache", "Headache", "T", 0.12, (1,), "POSSIBLY RELATED", "CAR-T", (1, 3), (1, 2)),
    ("Vomiting", "Vomiting", "T", 0.10, (1,), "POSSIBLY RELATED", "CAR-T", (1, 3), (1, 2)),
    ("Diarrhoea", "Diarrhea", "T", 0.12, (1,), "UNLIKELY RELATED", None, (2, 10), (1, 4)),
    ("Hypoalbuminaemia", "Low albumin", "T", 0.20, (1, 2), "POSSIBLY RELATED", "BOTH", (2, 8), (7, 21)),
    ("Lymphocyte count decreased", "Lymphopenia", "T", 0.45, (2, 3, 3), "RELATED", "CAR-T", (1, 3), (5, 12)),
    ("Platelet count decreased", "Thrombocytopenia", "T", 0.15, (1,), "POSSIBLY RELATED", "CAR-T", (4, 8), (5, 14)),
    ("Hypokalaemia", "Low potassium", "T", 0.10, (1,), "UNLIKELY RELATED", None, (1, 6), (2, 6)),
    ("Anaemia", "Anemia", "T", 0.15, (1, 2), "UNLIKELY RELATED", None, (5, 20), (14, 40)),
    ("Back pain", "Back pain", "LATE", 0.12, (1, 2), "NOT RELATED", None, (20, 120), (10, 60)),
    ("Cancer pain", "Cancer pain", "LATE", 0.12, (1, 2), "NOT RELATED", None, (20, 150), (20, 90)),
    ("Cough", "Cough", "LATE", 0.10, (1,), "NOT RELATED", None, (10, 120), (5, 20)),
    ("Insomnia", "Insomnia", "LATE", 0.10, (1,), "NOT RELATED", None, (10, 120), (10, 40)),
    ("Constipation", "Constipation", "LATE", 0.10, (1,), "NOT RELATED", None, (5, 60), (3, 10)),
)

HISTOLOGY = {
    "CRC": ("colon adenocarcinoma", "rectal adenocarcinoma", "colorectal adenocarcinoma",
            "colon adenocarcinoma, mucinous"),
    "GC": ("gastric adenocarcinoma", "gastric signet ring cell carcinoma",
           "gastro-oesophageal junction adenocarcinoma"),
    "EC": ("oesophageal squamous cell carcinoma",),
    "OTHER": ("pancreatic ductal adenocarcinoma", "gallbladder adenocarcinoma",
              "breast invasive ductal carcinoma", "small bowel adenocarcinoma"),
}
PRIMARY_SITE = {"CRC": "COLON", "GC": "STOMACH", "EC": "ESOPHAGUS", "OTHER": "PANCREAS"}
INDICATION = {"CRC": "Colorectal cancer", "GC": "Gastric cancer", "EC": "Oesophageal cancer",
              "OTHER": "Metastatic solid tumour"}

_DRUGS = {
    "OX": ("Oxaliplatin", "OXALIPLATIN", "INTRAVENOUS"),
    "LV": ("Calcium folinate", "CALCIUM FOLINATE", "INTRAVENOUS"),
    "FU": ("Fluorouracil", "FLUOROURACIL", "INTRAVENOUS"),
    "CAP": ("Capecitabine", "CAPECITABINE", "ORAL"),
    "IRI": ("Irinotecan", "IRINOTECAN", "INTRAVENOUS"),
    "BEV": ("Bevacizumab", "BEVACIZUMAB", "INTRAVENOUS"),
    "CET": ("Cetuximab", "CETUXIMAB", "INTRAVENOUS"),
    "REGO": ("Regorafenib", "REGORAFENIB", "ORAL"),
    "FRUQ": ("Fruquintinib", "FRUQUINTINIB", "ORAL"),
    "TAS": ("Trifluridine/tipiracil", "TIPIRACIL HYDROCHLORIDE;TRIFLURIDINE", "ORAL"),
    "RALT": ("Raltitrexed", "RALTITREXED", "INTRAVENOUS"),
    "S1": ("S-1", "GIMERACIL;OTERACIL POTASSIUM;TEGAFUR", "ORAL"),
    "NIVO": ("Nivolumab", "NIVOLUMAB", "INTRAVENOUS"),
    "PTX": ("Paclitaxel", "PACLITAXEL", "INTRAVENOUS"),
    "RAM": ("Ramucirumab", "RAMUCIRUMAB", "INTRAVENOUS"),
    "APA": ("Apatinib", "APATINIB", "ORAL"),
    "DOC": ("Docetaxel", "DOCETAXEL", "INTRAVENOUS"),
    "DDP": ("Cisplatin", "CISPLATIN", "INTRAVENOUS"),
    "CAM": ("Camrelizumab", "CAMRELIZUMAB", "INTRAVENOUS"),
    "ANLO": ("Anlotinib", "ANLOTINIB", "ORAL"),
    "GEM": ("Gemcitabine", "GEMCITABINE", "INTRAVENOUS"),
    "NAB": ("Nab-paclitaxel", "PACLITAXEL ALBUMIN", "INTRAVENOUS"),
    "LIRI": ("Irinotecan liposome", "IRINOTECAN LIPOSOME", "INTRAVENOUS"),
}
REGIMENS = {
    "FOLFOX": ("OX", "LV", "FU"), "FOLFOX+BEV": ("OX", "LV", "FU", "BEV"),
    "CAPOX": ("OX", "CAP"), "CAPOX+BEV": ("OX", "CAP", "BEV"),
    "FOLFIRI": ("IRI", "LV", "FU"), "FOLFIRI+BEV": ("IRI", "LV", "FU", "BEV"),
    "FOLFIRI+CET": ("IRI", "LV", "FU", "CET"),
    "REGORAFENIB": ("REGO",), "FRUQUINTINIB": ("FRUQ",), "TRIFLURIDINE/TIPIRACIL": ("TAS",),
    "RALTITREXED": ("RALT",),
    "SOX": ("S1", "OX"), "SOX+NIVOLUMAB": ("S1", "OX", "NIVO"),
    "PACLITAXEL+RAMUCIRUMAB": ("PTX", "RAM"), "PACLITAXEL": ("PTX",), "APATINIB": ("APA",),
    "IRINOTECAN": ("IRI",), "DOCETAXEL": ("DOC",),
    "TP+CAMRELIZUMAB": ("PTX", "DDP", "CAM"), "ANLOTINIB": ("ANLO",), "CAPECITABINE": ("CAP",),
    "GEMCITABINE+NAB-PACLITAXEL": ("GEM", "NAB"), "NALIRIFOX": ("LIRI", "LV", "FU", "OX"),
    "NALIRI": ("LIRI", "LV", "FU"),
}
LINES = {
    "CRC": (("FOLFOX", "FOLFOX+BEV", "CAPOX", "CAPOX+BEV"), ("FOLFIRI", "FOLFIRI+BEV", "FOLFIRI+CET"),
            ("REGORAFENIB", "FRUQUINTINIB"), ("TRIFLURIDINE/TIPIRACIL",), ("RALTITREXED",)),
    "GC": (("SOX+NIVOLUMAB", "SOX", "CAPOX"), ("PACLITAXEL+RAMUCIRUMAB", "PACLITAXEL"), ("APATINIB",),
           ("IRINOTECAN",), ("DOCETAXEL",)),
    "EC": (("TP+CAMRELIZUMAB",), ("DOCETAXEL",), ("IRINOTECAN",), ("ANLOTINIB",), ("CAPECITABINE",)),
    "OTHER": (("GEMCITABINE+NAB-PACLITAXEL", "NALIRIFOX"), ("NALIRI", "SOX"), ("CAPECITABINE",),
              ("ANLOTINIB",), ("DOCETAXEL",)),
}

MI_TESTS = (
    ("MICA", "MHC Class I Polypeptide-Related Sequence A"),
    ("MICB", "MHC Class I Polypeptide-Related Sequence B"),
    ("ULBP1", "UL16 Binding Protein 1"), ("ULBP2", "UL16 Binding Protein 2"),
    ("ULBP3", "UL16 Binding Protein 3"), ("ULBP4", "UL16 Binding Protein 4"),
    ("ULBP5", "UL16 Binding Protein 5"), ("ULBP6", "UL16 Binding Protein 6"),
)

_INITIALS = "ZWLCYHXMJGSQTFDBKPRN"

# LB tests: code, name, category, specimen, standard unit, decimals, M low, M high, F low,
# F high, baseline median M, F, between-subject log-sd, within-subject log-sd, panel
_LB = (
    ("WBC", "Leukocytes", "HEMATOLOGY", "BLOOD", "10^9/L", 2, 3.5, 9.5, 3.5, 9.5, 5.6, 5.2, 0.22, 0.08, "HEME"),
    ("NEUT", "Neutrophils", "HEMATOLOGY", "BLOOD", "10^9/L", 2, 1.8, 6.3, 1.8, 6.3, 3.5, 3.2, 0.28, 0.10, "HEME"),
    ("LYM", "Lymphocytes", "HEMATOLOGY", "BLOOD", "10^9/L", 2, 1.1, 3.2, 1.1, 3.2, 1.25, 1.2, 0.25, 0.08, "HEME"),
    ("PLT", "Platelets", "HEMATOLOGY", "BLOOD", "10^9/L", 0, 125, 350, 125, 350, 195, 210, 0.25, 0.07, "HEME"),
    ("HGB", "Hemoglobin", "HEMATOLOGY", "BLOOD", "g/L", 0, 130, 175, 115, 150, 124, 112, 0.09, 0.03, "HEME"),
    ("ALT", "Alanine Aminotransferase", "CHEMISTRY", "SERUM", "U/L", 0, 9, 50, 7, 40, 28, 23, 0.40, 0.10, "CHEM"),
    ("AST", "Aspartate Aminotransferase", "CHEMISTRY", "SERUM", "U/L", 0, 15, 40, 13, 35, 30, 27, 0.35, 0.10, "CHEM"),
    ("BILI", "Bilirubin", "CHEMISTRY", "SERUM", "µmol/L", 1, 0, 21, 0, 21, 11, 9, 0.32, 0.10, "CHEM"),
    ("CREAT", "Creatinine", "CHEMISTRY", "SERUM", "µmol/L", 0, 57, 111, 41, 81, 76, 58, 0.16, 0.05, "CHEM"),
    ("AMYLASE", "Amylase", "CHEMISTRY", "SERUM", "U/L", 0, 35, 135, 35, 135, 62, 60, 0.28, 0.10, "CHEM"),
    ("LIPASE", "Lipase", "CHEMISTRY", "SERUM", "U/L", 0, 13, 60, 13, 60, 30, 28, 0.32, 0.12, "CHEM"),
    ("ALB", "Albumin", "CHEMISTRY", "SERUM", "g/L", 1, 40, 55, 40, 55, 38.5, 38.0, 0.07, 0.03, "CHEM"),
    ("INR", "Prothrombin Intl. Normalized Ratio", "COAGULATION", "PLASMA", "", 2, 0.8, 1.2, 0.8, 1.2, 1.02, 1.0, 0.05, 0.03, "COAG"),
    ("CEA", "Carcinoembryonic Antigen", "TUMOR MARKER", "SERUM", "ng/mL", 2, 0, 5, 0, 5, 30, 25, 1.4, 0.07, "TM"),
    ("CA199", "Cancer Antigen 19-9", "TUMOR MARKER", "SERUM", "U/mL", 2, 0, 37, 0, 37, 70, 60, 1.4, 0.07, "TM"),
    ("IL6", "Interleukin 6", "CYTOKINE", "SERUM", "pg/mL", 2, 0, 7, 0, 7, 5.5, 5.0, 0.55, 0.20, "CYTO"),
    ("IFNG", "Interferon Gamma", "CYTOKINE", "SERUM", "pg/mL", 2, 0, 17.3, 0, 17.3, 4.0, 4.0, 0.55, 0.20, "CYTO"),
    ("IL10", "Interleukin 10", "CYTOKINE", "SERUM", "pg/mL", 2, 0, 12.9, 0, 12.9, 4.0, 4.0, 0.45, 0.20, "CYTO"),
    ("TNFA", "Tumor Necrosis Factor Alpha", "CYTOKINE", "SERUM", "pg/mL", 2, 0, 8.1, 0, 8.1, 3.0, 3.0, 0.45, 0.20, "CYTO"),
    ("IL2", "Interleukin 2", "CYTOKINE", "SERUM", "pg/mL", 2, 0, 11.4, 0, 11.4, 2.0, 2.0, 0.45, 0.20, "CYTO"),
    ("CRP", "C Reactive Protein", "CYTOKINE", "SERUM", "mg/L", 2, 0, 8, 0, 8, 8.0, 7.0, 0.75, 0.15, "CYTO"),
    ("FERRITIN", "Ferritin", "CYTOKINE", "SERUM", "ng/mL", 1, 30, 400, 13, 150, 260, 150, 0.55, 0.08, "CYTO"),
    ("PROT", "Protein", "URINALYSIS", "URINE", "", None, None, None, None, None, None, None, 0.0, 0.0, "URIN"),
)
LB_CODES = tuple(t[0] for t in _LB)
_LBI = {c: i for i, c in enumerate(LB_CODES)}
_PANEL_BIT = {"HEME": 1, "CHEM": 2, "COAG": 4, "TM": 8, "CYTO": 16, "URIN": 32, "LATE": 64}
_TEST_BITS = np.array([_PANEL_BIT[t[14]] | (64 if t[0] in ("ALT", "AST", "BILI") else 0) for t in _LB])
_ALL = 1 | 2 | 4 | 8 | 16 | 32
# kinetic slots of the LB model
_S_HAI, _S_CT1, _S_CT2, _S_HEP, _S_PROG = range(5)
_NSLOT = 5
# eligibility-safe bounds applied to treated subjects' screening and day-0 values, in
# absolute units (low) or x ULN (high) -- planted deviations are set afterwards
_ELIG_LOW = {"WBC": 2.0, "NEUT": 1.5, "LYM": 0.5, "PLT": 75, "HGB": 90}
_ELIG_HIGH_ULN = {"CREAT": 1.4, "BILI": 1.4, "ALT": 4.5, "AST": 4.5, "AMYLASE": 1.4, "LIPASE": 1.4, "INR": 1.4}

_LB_VISITS = {  # VISIT -> (VISITNUM, panels, pre-dose time)
    "SCREENING": (1, _ALL, ""), "NK DAY 0": (2, _ALL & ~32, "07:30"), "NK DAY 1": (3, 1 | 2 | 16, "07:30"),
    "NK DAY 3": (4, 1 | 2 | 16, ""), "NK DAY 7": (5, 1 | 2 | 16, ""),
    # CAR-T cycles: daily for the first week (inpatient monitoring), then days 10 and 14
    "C1 DAY 1": (10, 1 | 2 | 4 | 16, "07:30"), "C1 DAY 2": (11, 1 | 2 | 16, "07:30"),
    "C1 DAY 3": (12, 1 | 2 | 16, ""), "C1 DAY 4": (13, 1 | 2 | 16, ""), "C1 DAY 5": (14, 1 | 2 | 16, ""),
    "C1 DAY 6": (15, 1 | 2 | 16, ""), "C1 DAY 7": (16, 1 | 2 | 4 | 16, ""), "C1 DAY 10": (17, 1 | 2 | 16, ""),
    "C1 DAY 14": (18, _ALL, ""), "C1 DAY 28": (19, _ALL, ""),
    "C2 DAY 1": (20, 1 | 2 | 4 | 16, "07:30"), "C2 DAY 2": (21, 1 | 2 | 16, "07:30"),
    "C2 DAY 3": (22, 1 | 2 | 16, ""), "C2 DAY 4": (23, 1 | 2 | 16, ""), "C2 DAY 5": (24, 1 | 2 | 16, ""),
    "C2 DAY 6": (25, 1 | 2 | 16, ""), "C2 DAY 7": (26, 1 | 2 | 4 | 16, ""), "C2 DAY 10": (27, 1 | 2 | 16, ""),
    "C2 DAY 14": (28, _ALL, ""),
}


# --------------------------------------------------------------------------------------------
# subjects
# --------------------------------------------------------------------------------------------

@dataclass
class Lesion:
    lnkid: str
    role: str  # TARGET / NON-TARGET / NEW
    loc: str
    locdtl: str
    method: str
    test: str  # LDIAM / SAXIS / TUMSTATE
    size: float | None = None  # baseline mm (targets)


@dataclass
class Assessment:
    k: int
    dt: date
    values: dict  # lnkid -> mm (None = not assessed) for targets
    nt: dict  # lnkid -> PRESENT / ABSENT / UNEQUIVOCAL PROGRESSION
    new: Lesion | None
    frac: float  # target sum / baseline sum (measured lesions only)
    trg: str
    ntrg: str | None
    ovr: str  # recomputed from the measurements
    inv_trg: str
    inv_ntrg: str | None
    inv_ovr: str  # investigator
    rsdtc: str


@dataclass
class Subject:
    n: int
    phase: str
    cohort: str
    consent: date
    arm: str  # planned ARMCD (SCRNFAIL for screen failures)
    hand: bool = False
    sex: str | None = None
    age: int | None = None
    weight: float | None = None
    race: str = "ASIAN"
    histol: str | None = None
    sf: tuple | None = None  # (kind, DSTERM)
    nksrc: str = "CORD BLOOD"
    d0: date | None = None
    gap: int = 11
    cart: bool = True
    c2: bool = True
    c2_reason: str | None = None
    nocart_reason: str | None = None
    clinical_pd_day: int | None = None
    no_imaging: bool = False
    a1_offset: int | None = None
    crs: list = field(default_factory=list)  # (grade, cycle, onset day after cycle day 1, duration)
    icans: list = field(default_factory=list)  # (grade, onset day after C1 day 1, duration)
    dlt: str | None = None  # "CRS" / "ALT"
    mild: bool = False  # titration patient: no treatment-related AE of grade >= 2
    n_target: int = 2
    sites: tuple = ()
    lung_target: bool = False
    fixed_lesions: list | None = None
    fracs: list = field(default_factory=list)
    inv: dict = field(default_factory=dict)
    rs_partial: tuple = ()
    death: date | None = None
    death_partial: bool = False
    subseq: tuple | None = None  # (regimen, days after PD)
    mi: str | None = "high"  # high / low / edge / None (no MI)
    n_regs: int = 2
    regs: tuple | None = None
    lb_over: dict = field(default_factory=dict)  # (VISIT, LBTESTCD) -> value
    lb_base: dict = field(default_factory=dict)  # LBTESTCD -> baseline true value
    lb_slot: dict = field(default_factory=dict)  # (slot, LBTESTCD) -> (peak factor, days to peak)
    vs_over: dict = field(default_factory=dict)  # (VISIT, VSTESTCD) -> value
    qtcf: float | None = None
    ecog: int | None = None
    tissue: str | None = None  # PC: TUMOR TISSUE / ASCITES sample
    pc_notdone: bool = False
    ss_unknown: bool = False
    hand_aes: list = field(default_factory=list)
    prog: bool = False  # clinical progression (bilirubin rise) after CAR-NK
    ongoing: bool = False  # infusions still to come at the data cut
    # derived
    usubjid: str = ""
    subjid: str = ""
    birth: date | None = None
    initials: str = ""
    t1: date | None = None
    t2: date | None = None
    ex: list = field(default_factory=list)
    lesions: list = field(default_factory=list)
    assessments: list = field(default_factory=list)
    pd_date: date | None = None
    subseq_date: date | None = None
    lbp: dict = field(default_factory=dict)
    lb_visits: list = field(default_factory=list)
    fu_dates: list = field(default_factory=list)
    mi_scores: dict | None = None

    @property
    def treated(self) -> bool:
        return self.d0 is not None and self.sf is None

    @property
    def screen(self) -> date:
        return self.consent + timedelta(days=1)

    def nk_dt(self) -> tuple[date, str]:
        return self.ex[0]["date"], self.ex[0]["start"]

    def last_infusion(self) -> date:
        return self.ex[-1]["date"]

    def dlt_end(self) -> date | None:
        if not self.treated:
            return None
        return (self.t1 + timedelta(days=28)) if self.t1 else (self.d0 + timedelta(days=28))


def _phase1a_specs() -> list[dict]:
    """The escalation phase, subject by subject (the planted facts live here)."""
    return [
        dict(n=1, arm="DL1", cohort="CRC", d0="2025-11-10", gap=11, mild=True, crs=[(1, 1, 2, 2)],
             n_target=2, fracs=[1.07, 1.29], death="2026-05-20", subseq=("TRIFLURIDINE/TIPIRACIL", 14),
             mi="low", n_regs=3, regs=("FOLFOX+BEV", "FOLFIRI+BEV", "REGORAFENIB"),
             hand_aes=[("Diarrhoea", "Diarrhea", "DATE", "2026-03-20", 6, 2, "NOT RELATED", None, {})]),
        dict(n=2, arm="SCRNFAIL", cohort="CRC", consent="2025-11-24", mi="low", n_regs=3,
             sf=("PLT", "PLATELET COUNT 45 X10^9/L AT SCREENING (INCLUSION 7A NOT MET)"),
             lb_over={("SCREENING", "PLT"): 45}),
        dict(n=3, arm="DL2", cohort="CRC", d0="2025-12-22", gap=11, crs=[(2, 1, 1, 3)],
             sites=("LUNG", "LYMPH NODE"), n_target=4, fracs=[0.88, 0.82, 0.80, 0.83, 0.85, 0.90, 1.25],
             inv={3: "PR"}, rs_partial=(4,), death="2027-08-20", mi="high", n_regs=4,
             hand_aes=[("Constipation", "Constipation", "D0", -3, 5, 1, "NOT RELATED", None, {}),
                       ("Back pain", "Back pain", "DATE", "2026-05-12", 34, 1, "NOT RELATED", None,
                        {"start_str": "2026-05", "end_str": "2026-06"})]),
        dict(n=4, arm="DL2", cohort="CRC", d0="2025-12-29", gap=9, c2=False, c2_reason="ADVERSE EVENT",
             dlt="CRS", crs=[(3, 1, 1, 5)], icans=[(1, 4, 2)], n_target=3,
             fracs=[0.62, 0.55, 0.52, 0.53, 0.55, 0.56, 0.58, 0.60, ("NEW", 0.60, "LUNG")],
             mi="high", n_regs=2, tissue="TUMOR TISSUE", lb_slot={("CT1", "NEUT"): (0.42, 5.5)},
             lb_over={("C1 DAY 3", "NEUT"): 1.35, ("C1 DAY 7", "NEUT"): 0.82, ("C1 DAY 14", "NEUT"): 1.62,
                      ("C1 DAY 3", "LYM"): 0.31, ("C1 DAY 7", "LYM"): 0.44},
             hand_aes=[("Neutrophil count decreased", "Neutropenia", "T1", 5, 7, 3, "RELATED", "CAR-T", {}),
                       ("Lymphocyte count decreased", "Lymphopenia", "T1", 2, 9, 3, "RELATED", "CAR-T", {}),
                       ("Ascites", "Ascites", "DATE", "2026-06-15", 40, 2, "NOT RELATED", None, {})]),
        dict(n=5, arm="DL2", cohort="CRC", d0="2026-01-07", gap=12, crs=[(1, 1, 2, 2)], sites=("PERITONEUM",),
             n_target=2, fracs=[("NEW", 1.05, "LIVER")], death="2026-08-14", death_partial=True,
             subseq=("FRUQUINTINIB", 21), mi="low", n_regs=2, regs=("CAPOX+BEV", "FOLFIRI+BEV")),
        dict(n=6, arm="DL2", cohort="CRC", d0="2026-02-23", gap=11, crs=[(1, 1, 1, 1)], sites=("LYMPH NODE",),
             n_target=3, fracs=[0.95, 1.24], death="2027-01-15", mi="low", n_regs=3, ss_unknown=True,
             lb_base={"PLT": 62.0}, lb_over={("SCREENING", "PLT"): 55, ("NK DAY 0", "PLT"): 57},
             hand_aes=[("Fatigue", "Fatigue", "D0", 2, 9, 1, "POSSIBLY RELATED", "CAR-NK", {"start_str": "2026-02"}),
                       ("Platelet count decreased", "Thrombocytopenia", "T1", 6, 10, 3, "POSSIBLY RELATED", "CAR-T", {})]),
        dict(n=7, arm="DL2", cohort="GC", d0="2026-03-02", gap=12, crs=[(2, 1, 2, 3)],
             sites=("LYMPH NODE", "PERITONEUM"), n_target=3, fracs=[0.68, 0.78, 0.96], death="2027-04-10",
             mi="high", n_regs=2),
        dict(n=8, arm="DL2", cohort="CRC", d0="2026-03-09", gap=13, crs=[(1, 1, 2, 2)], sites=("LUNG",),
             n_target=3, lung_target=True, fracs=[("NE", 0.93), 0.90, 0.88, 0.91, 0.93, 1.20], mi="edge",
             n_regs=5, tissue="ASCITES",
             hand_aes=[("Insomnia", "Insomnia", "DATE", "2026-04-10", None, 1, "NOT RELATED", None, {"start_str": "2026-04"})]),
        dict(n=9, arm="DL3", cohort="CRC", d0="2026-04-27", gap=11, crs=[(2, 1, 1, 4), (1, 2, 1, 1)],
             n_target=2, fracs=[0.85, 0.66, 0.60, 0.57, 0.59, 0.62, 0.64, 0.66], rs_partial=(2,), mi="high",
             n_regs=2, tissue="TUMOR TISSUE", lb_over={("SCREENING", "PROT"): "2+"}),
        dict(n=10, arm="DL3", cohort="CRC", d0="2026-05-06", cart=False, nocart_reason="PROGRESSIVE DISEASE",
             clinical_pd_day=12, death="2026-07-02", no_imaging=True, prog=True, sites=("LYMPH NODE",),
             n_target=2, mi="low", n_regs=3,
             hand_aes=[("Blood bilirubin increased", "Elevated bilirubin", "D0", 9, None, 3, "NOT RELATED", None, {}),
                       ("Ascites", "Ascites", "D0", 10, None, 2, "NOT RELATED", None, {})]),
        dict(n=11, arm="DL3", cohort="EC", d0="2026-05-13", gap=11, sex="M", age=45, weight=85.0,
             crs=[(1, 1, 3, 2)], sites=("LYMPH NODE", "PERITONEUM"), n_target=2,
             fracs=[1.03, ("NTPD", 1.02)], death="2027-02-28", mi="low", n_regs=2,
             lb_base={"CREAT": 171.0}, lb_over={("SCREENING", "CREAT"): 172, ("NK DAY 0", "CREAT"): 170}),
        dict(n=12, arm="DL3", cohort="CRC", d0="2026-05-25", gap=12, crs=[], sites=("LUNG",), n_target=3,
             fracs=[0.82, 0.80, 0.78, 0.80, 0.83, ("NEW", 0.85, "LYMPH NODE")], mi=None, n_regs=3,
             pc_notdone=True),
        dict(n=13, arm="SCRNFAIL", cohort="GC", consent="2026-06-22", mi="high", n_regs=2, race="NOT REPORTED",
             sf=("ECOG", "ECOG PERFORMANCE STATUS 2 (INCLUSION 6 NOT MET)"), ecog=2),
        dict(n=14, arm="DL4", cohort="CRC", d0="2026-07-08", gap=11, nksrc="AUTOLOGOUS PB", crs=[(2, 1, 1, 3)],
             n_target=2, fracs=[0.66, 0.62, 0.60, 0.61, 0.63, 0.66, 0.69], mi="high", n_regs=2,
             tissue="TUMOR TISSUE", vs_over={("SCREENING", "OXYSAT"): 95, ("NK DAY 0", "OXYSAT"): 95}),
        dict(n=15, arm="DL4", cohort="CRC", d0="2026-07-15", gap=12, sex="M", c2=False, c2_reason="ADVERSE EVENT",
             dlt="ALT", crs=[(1, 1, 2, 2)], sites=("LUNG",), n_target=3, fracs=[0.90, 0.86, 0.88, 0.92, 1.30],
             mi="low", n_regs=4, lb_base={"ALT": 34.0, "AST": 30.0, "BILI": 12.0},
             lb_slot={("HEP", "ALT"): (9.0, 6.0), ("HEP", "AST"): (3.5, 6.0), ("HEP", "BILI"): (1.8, 6.0)},
             hand_aes=[("Alanine aminotransferase increased", "ALT elevated", "T1", 4, 16, 3, "RELATED", "CAR-T",
                        {"dlt": True, "acn": "DRUG WITHDRAWN"}),
                       ("Aspartate aminotransferase increased", "AST elevated", "T1", 4, 12, 2, "RELATED", "CAR-T", {})]),
        dict(n=16, arm="DL4", cohort="OTHER", d0="2026-07-22", gap=12, crs=[(1, 1, 1, 2)], icans=[(2, 5, 3)],
             fixed_lesions=[("T01", "TARGET", "LIVER", "SEGMENT VI", "CT", "LDIAM", 19.0),
                            ("NT01", "NON-TARGET", "LIVER", "MULTIPLE", "CT", "TUMSTATE", None)],
             fracs=[23.0 / 19.0], inv={1: "PD"}, death="2027-03-05", mi="low", n_regs=1),
        dict(n=17, arm="DL4", cohort="CRC", d0="2026-09-02", gap=11, sex="M", crs=[(1, 1, 2, 1)],
             sites=("LUNG", "LYMPH NODE", "BONE"), n_target=4, fracs=[0.80, 0.78, 0.82, 0.85, 0.80],
             mi="high", n_regs=3, qtcf=462.0),
        dict(n=18, arm="DL4", cohort="GC", d0="2026-09-09", gap=11, crs=[(2, 1, 2, 3)], sites=("LYMPH NODE",),
             n_target=2, fracs=[0.58, 0.55, 0.53, 0.52, 0.56], mi="high", n_regs=2),
        dict(n=19, arm="DL4", cohort="CRC", d0="2026-09-16", gap=8, a1_offset=32, crs=[], n_target=1,
             fracs=[1.04, 1.08, 1.30], mi="low", n_regs=4),
    ]


def _hand_subject(spec: dict) -> Subject:
    spec = dict(spec)
    d0 = _d(spec.pop("d0")) if "d0" in spec else None
    consent = _d(spec.pop("consent")) if "consent" in spec else d0 - timedelta(days=14 + spec["n"] % 4)
    death = _d(spec.pop("death")) if "death" in spec else None
    s = Subject(phase="IA", consent=consent, d0=d0, death=death, hand=True, **spec)
    return s


def _random_subject(seed: int, n: int, cohort: str, consent: date, phase: str, sf_prob: float) -> Subject:
    rng = _rng(seed, _K_SUBJ, n)
    s = Subject(n=n, phase=phase, cohort=cohort, consent=consent, arm=RP2D)
    if rng.random() < sf_prob:
        kind = ("PLT", "ECOG", "HBV", "MEASURABLE")[int(rng.integers(0, 4))]
        term = {"PLT": "PLATELET COUNT BELOW 60 X10^9/L (INCLUSION 7A NOT MET)",
                "ECOG": "ECOG PERFORMANCE STATUS 2 (INCLUSION 6 NOT MET)",
                "HBV": "HBSAG POSITIVE (EXCLUSION 2)",
                "MEASURABLE": "NO MEASURABLE LESION PER RECIST 1.1 (INCLUSION 5 NOT MET)"}[kind]
        s.arm, s.sf = "SCRNFAIL", (kind, term)
        if kind == "PLT":
            s.lb_over = {("SCREENING", "PLT"): float(rng.integers(30, 58))}
        if kind == "ECOG":
            s.ecog = 2
    else:
        s.d0 = consent + timedelta(days=int(rng.integers(10, 22)))
        s.gap = int(rng.integers(8, 15))
        s.cart = bool(rng.random() < 0.95)
        if not s.cart:
            s.nocart_reason = "PHYSICIAN DECISION"
            s.arm = RP2D
        s.c2 = bool(rng.random() < 0.9)
        if not s.c2:
            s.c2_reason = ("ADVERSE EVENT", "PHYSICIAN DECISION", "WITHDRAWAL BY SUBJECT")[int(rng.integers(0, 3))]
        g = int(rng.choice([0, 1, 2, 3], p=[0.40, 0.40, 0.16, 0.04]))
        if g and s.cart:
            s.crs = [(g, 1, int(rng.integers(1, 4)), int(rng.integers(1, 6)))]
        ig = int(rng.choice([0, 1, 2], p=[0.92, 0.06, 0.02]))
        if ig and s.cart:
            s.icans = [(ig, int(rng.integers(3, 8)), int(rng.integers(1, 4)))]
        s.nksrc = "AUTOLOGOUS PB" if rng.random() < 0.05 else "CORD BLOOD"
        s.tissue = ("TUMOR TISSUE", "ASCITES")[int(rng.integers(0, 2))] if rng.random() < 0.05 else None
    s.n_target = int(rng.choice([1, 2, 3, 4, 5], p=[0.1, 0.3, 0.3, 0.2, 0.1]))
    extra = [x for x in ("LUNG", "LYMPH NODE", "PERITONEUM", "BONE") if rng.random() < 0.3]
    s.sites = tuple(extra)
    s.fracs = _random_fracs(rng, cohort, has_nt=True)
    s.mi = None if rng.random() < 0.05 else ("high" if rng.random() < 0.6 else "low")
    s.n_regs = int(rng.choice([1, 2, 3, 4, 5], p=[0.1, 0.3, 0.3, 0.2, 0.1]))
    s.race = "ASIAN" if rng.random() < 0.99 else "NOT REPORTED"
    return s


def _random_fracs(rng: np.random.Generator, cohort: str, has_nt: bool) -> list:
    p = {"CRC": (0.15, 0.45, 0.40), "GC": (0.25, 0.40, 0.35), "EC": (0.20, 0.40, 0.40),
         "OTHER": (0.10, 0.40, 0.50)}[cohort]
    klass = int(rng.choice(3, p=p))
    fr: list = []
    if klass == 0:
        f = float(rng.uniform(0.45, 0.66))
        for _ in range(2 + int(rng.geometric(0.2))):
            fr.append(round(f, 3))
            f = max(0.2, f * float(rng.uniform(0.9, 1.03)))
    elif klass == 1:
        f = float(rng.uniform(0.76, 1.10))
        for _ in range(int(rng.geometric(0.3))):
            fr.append(round(f, 3))
            f = min(1.15, max(0.74, f * float(rng.uniform(0.95, 1.05))))
    fr = [("NE", x) if (rng.random() < 0.03) else x for x in fr]
    nums = [x if isinstance(x, float) else x[1] for x in fr]
    last = nums[-1] if nums else 1.0
    nadir = min([1.0] + nums)
    u = rng.random()
    if u < 0.6:
        fr.append(round(nadir * float(rng.uniform(1.3, 1.7)), 3))
    elif u < 0.9 or not has_nt:
        fr.append(("NEW", last, ("LIVER", "LUNG", "LYMPH NODE", "PERITONEUM", "BONE")[int(rng.integers(0, 5))]))
    else:
        fr.append(("NTPD", last))
    return fr


def _demographics(s: Subject, seed: int) -> None:
    rng = _rng(seed, _K_SUBJ + 100, s.n)
    male_p = {"CRC": 0.6, "GC": 0.7, "EC": 0.8, "OTHER": 0.5}[s.cohort]
    sex = "M" if rng.random() < male_p else "F"
    s.sex = s.sex or sex
    age = int(np.clip(round(rng.normal(57, 9)), 30, 75))
    s.age = s.age or age
    anniv = s.consent.replace(year=s.consent.year - s.age, day=min(s.consent.day, 28))
    s.birth = anniv - timedelta(days=int(rng.integers(1, 360)))
    s.age = s.consent.year - s.birth.year - ((s.consent.month, s.consent.day) < (s.birth.month, s.birth.day))
    w = rng.normal(66, 9) if s.sex == "M" else rng.normal(57, 8)
    s.weight = s.weight or round(float(np.clip(w, 42, 95)), 1)
    s.initials = "".join(_INITIALS[int(i)] for i in rng.integers(0, len(_INITIALS), int(rng.integers(2, 4))))
    s.histol = s.histol or HISTOLOGY[s.cohort][int(rng.integers(0, len(HISTOLOGY[s.cohort])))]
    s.subjid = f"{s.n:04d}"
    s.usubjid = f"{STUDYID}-{SITEID}-{s.subjid}"
    if s.ecog is None:
        s.ecog = int(rng.random() < 0.45)
    if s.qtcf is None:
        s.qtcf = float(rng.integers(385, 441))


# --------------------------------------------------------------------------------------------
# timeline: infusions, tumour assessments, progression, death
# --------------------------------------------------------------------------------------------

def _schedule(s: Subject, seed: int, cut: date) -> None:
    if not s.treated:
        return
    rng = _rng(seed, _K_MISC, s.n)

    def hm(h: int, m: int) -> str:
        return f"{h:02d}:{m:02d}"

    m1, m2 = int(rng.integers(0, 46)), int(rng.integers(0, 46))
    s.ex = [
        dict(trt="NKG2D CAR-NK", dose=NK_DOSES[0], date=s.d0, start=hm(10, m1), end=hm(11, m1), visit="NK DAY 0", vn=2, scat=""),
        dict(trt="NKG2D CAR-NK", dose=NK_DOSES[1], date=s.d0 + timedelta(1), start=hm(10, m2), end=hm(11, m2),
             visit="NK DAY 1", vn=3, scat=""),
    ]
    if s.cart:
        s.t1 = s.d0 + timedelta(days=s.gap)
        days = [(s.t1, "C1 DAY 1", 10, "CYCLE 1"), (s.t1 + timedelta(1), "C1 DAY 2", 11, "CYCLE 1")]
        if s.c2:
            s.t2 = s.t1 + timedelta(days=14 if s.hand else int(rng.integers(13, 17)))
            days += [(s.t2, "C2 DAY 1", 20, "CYCLE 2"), (s.t2 + timedelta(1), "C2 DAY 2", 21, "CYCLE 2")]
        for dt, visit, vn, scat in days:
            m = int(rng.integers(0, 30))
            s.ex.append(dict(trt="NKG2D CAR-T", dose=DOSE_LEVELS[s.arm], date=dt, start=hm(10, m), end=hm(10, m + 25),
                             visit=visit, vn=vn, scat=scat))
    # the state of the database at the data cut: infusions after it have not happened yet
    if any(e["date"] > cut for e in s.ex):
        s.ongoing = True
        s.ex = [e for e in s.ex if e["date"] <= cut]
        if s.t1 is not None and s.t1 > cut:
            s.t1 = None
        if s.t2 is not None and s.t2 > cut:
            s.t2 = None


def _make_lesions(s: Subject, seed: int) -> None:
    rng = _rng(seed, _K_LES, s.n)
    if s.fixed_lesions:
        s.lesions = [Lesion(*x) for x in s.fixed_lesions]
        return
    liver_method = "MRI" if rng.random() < 0.4 else "CT"
    size_rng = {"LIVER": (15, 70), "LUNG": (10, 30), "LYMPH NODE": (15, 32), "PERITONEUM": (12, 40)}
    dtl = {"LIVER": ("SEGMENT II", "SEGMENT III", "SEGMENT IVA", "SEGMENT V", "SEGMENT VI", "SEGMENT VII", "SEGMENT VIII"),
           "LUNG": ("RIGHT UPPER LOBE", "RIGHT LOWER LOBE", "LEFT UPPER LOBE", "LEFT LOWER LOBE"),
           "LYMPH NODE": ("RETROPERITONEAL", "HEPATIC HILAR", "PARA-AORTIC", "MEDIASTINAL"),
           "PERITONEUM": ("OMENTUM", "PELVIC PERITONEUM"), "BONE": ("LUMBAR SPINE", "PELVIS", "RIB")}
    targetable = [x for x in s.sites if x != "BONE"]
    order = ["LIVER"] + targetable + ["LIVER"] + targetable
    if s.lung_target:
        order = ["LIVER", "LUNG"] + [x for x in order[1:] if x != "LUNG"] + ["LUNG"]
    organs: list[str] = []
    for o in order:
        if len(organs) < s.n_target and organs.count(o) < 2:
            organs.append(o)
    min_sum = 35.0 if s.hand else 15.0
    for _ in range(200):
        sizes = [round(float(rng.uniform(*size_rng[o])), 1) for o in organs]
        if sum(sizes) >= min_sum:
            break
    les: list[Lesion] = []
    for i, (o, sz) in enumerate(zip(organs, sizes), start=1):
        les.append(Lesion(f"T{i:02d}", "TARGET", o, dtl[o][int(rng.integers(0, len(dtl[o])))],
                          liver_method if o == "LIVER" else "CT", "SAXIS" if o == "LYMPH NODE" else "LDIAM", sz))
    nts = [x for x in s.sites if x not in organs]
    if rng.random() < 0.6 or (not nts and s.hand and s.n_target < 2):
        nts = ["LIVER"] + nts
    for j, o in enumerate(nts, start=1):
        les.append(Lesion(f"NT{j:02d}", "NON-TARGET", o,
                          "MULTIPLE" if o == "LIVER" else dtl[o][int(rng.integers(0, len(dtl[o])))],
                          liver_method if o == "LIVER" else "CT", "TUMSTATE"))
    s.lesions = les


def _tenths(x: float) -> int:
    return int(round(x * 10))


def _recist(vals: list, nodal: list, base: int, nadir: int, nt: dict, new: bool) -> tuple[str, str | None, str]:
    """RECIST 1.1 timepoint response from target measurements (tenths of mm; None = not
    assessed), non-target states and new lesions: (target, non-target, overall)."""
    measured = [v for v in vals if v is not None]
    if len(measured) < len(vals):
        part = sum(measured)
        trg = "PD" if (part - nadir >= 50 and 5 * (part - nadir) >= nadir) else "NE"
    else:
        tot = sum(vals)
        nonnodal_zero = all(v == 0 for v, nd in zip(vals, nodal) if not nd)
        nodes_small = all(v < 100 for v, nd in zip(vals, nodal) if nd)
        if nonnodal_zero and nodes_small:
            trg = "CR"
        elif tot - nadir >= 50 and 5 * (tot - nadir) >= nadir:
            trg = "PD"
        elif 10 * tot <= 7 * base:
            trg = "PR"
        else:
            trg = "SD"
    if not nt:
        ntrg = None
    elif any(v == "UNEQUIVOCAL PROGRESSION" for v in nt.values()):
        ntrg = "PD"
    elif all(v == "ABSENT" for v in nt.values()):
        ntrg = "CR"
    else:
        ntrg = "NON-CR/NON-PD"
    if new or trg == "PD" or ntrg == "PD":
        ovr = "PD"
    elif trg == "NE":
        ovr = "NE"
    elif trg == "CR":
        ovr = "CR" if ntrg in (None, "CR") else "PR"
    else:
        ovr = trg
    return trg, ntrg, ovr


def _tumour(s: Subject, seed: int, cut: date) -> None:
    """Tumour assessments every ~8 weeks from ~4.5 weeks after the first CAR-T infusion until
    the investigator calls PD, death or the data cut."""
    s.assessments, s.pd_date = [], None
    if not s.treated or s.no_imaging:
        if s.treated and s.clinical_pd_day is not None:
            s.pd_date = s.d0 + timedelta(days=s.clinical_pd_day)
        return
    rng = _rng(seed, _K_TUM, s.n)
    targets = [l for l in s.lesions if l.role == "TARGET"]
    nts = [l for l in s.lesions if l.role == "NON-TARGET"]
    base_sizes = np.array([l.size for l in targets])
    base = sum(_tenths(x) for x in base_sizes)
    nadir = base
    nodal = [l.test == "SAXIS" for l in targets]
    if s.t1 is not None:
        a1 = s.t1 + timedelta(days=s.a1_offset if s.a1_offset is not None else max(32, 44 - s.gap))
    else:
        a1 = s.d0 + timedelta(days=44)
    new_count = 0
    k = 0
    last_plan: Any = 1.0
    while True:
        k += 1
        jitter = 0 if (s.hand or k == 1) else int(rng.integers(-3, 4))
        dt = a1 + timedelta(days=56 * (k - 1) + jitter)
        if dt > cut or (s.death is not None and dt >= s.death):
            break
        plan = s.fracs[k - 1] if k - 1 < len(s.fracs) else (last_plan if isinstance(last_plan, float) else
                                                              (last_plan[1] if isinstance(last_plan, tuple) else 1.0))
        last_plan = plan
        kind, f, newloc = "", 1.0, None
        if isinstance(plan, tuple):
            kind, f = plan[0], float(plan[1])
            newloc = plan[2] if kind == "NEW" else None
        else:
            f = float(plan)
        raw = base_sizes * np.exp(rng.normal(0.0, 0.08, len(targets)))
        vals_mm = np.round(raw * (f * base_sizes.sum() / raw.sum()), 1)
        vals: dict = {l.lnkid: float(v) for l, v in zip(targets, vals_mm)}
        if kind == "NE":
            miss = next((l for l in targets if l.loc == "LUNG"), targets[-1])
            vals[miss.lnkid] = None
        nt = {l.lnkid: "PRESENT" for l in nts}
        if kind == "NTPD" and nts:
            pick = next((l for l in nts if l.loc != "LIVER"), nts[0])
            nt[pick.lnkid] = "UNEQUIVOCAL PROGRESSION"
        new = None
        if kind == "NEW":
            new_count += 1
            new = Lesion(f"NEW{new_count:02d}", "NEW", newloc, "", "MRI" if newloc == "LIVER" else "CT", "TUMSTATE")
        tv = [None if vals[l.lnkid] is None else _tenths(vals[l.lnkid]) for l in targets]
        trg, ntrg, ovr = _recist(tv, nodal, base, nadir, nt, new is not None)
        inv_ovr = s.inv.get(k, ovr)
        inv_trg = trg if inv_ovr == ovr else (inv_ovr if inv_ovr in ("CR", "PR", "SD", "PD") else trg)
        measured = [v for v in tv if v is not None]
        frac = (sum(measured) / base) if len(measured) == len(tv) else f
        rsdtc = dt.isoformat()[:7] if k in s.rs_partial else dt.isoformat()
        s.assessments.append(Assessment(k, dt, vals, nt, new, frac, trg, ntrg, ovr, inv_trg, ntrg, inv_ovr, rsdtc))
        if len(measured) == len(tv):
            nadir = min(nadir, sum(tv))
        if inv_ovr == "PD":
            s.pd_date = dt
            break
    if s.pd_date is None and s.clinical_pd_day is not None:
        s.pd_date = s.d0 + timedelta(days=s.clinical_pd_day)


def _fate(s: Subject, seed: int) -> None:
    """Death and subsequent therapy of the non-hand subjects (hand subjects carry theirs)."""
    if not s.treated:
        return
    rng = _rng(seed, _K_MISC + 200, s.n)
    if not s.hand and s.pd_date is not None:
        s.death = s.pd_date + timedelta(days=30 + int(rng.exponential(200)))
        if rng.random() < 0.4:
            s.subseq = ("NEXT", int(rng.integers(14, 45)))
    if s.subseq is not None and s.pd_date is not None:
        s.subseq_date = s.pd_date + timedelta(days=s.subseq[1])
        if s.death is not None and s.subseq_date >= s.death:
            s.subseq_date = None


def _lb_schedule(s: Subject, cut: date) -> None:
    """Laboratory visits: (VISIT, VISITNUM, date, time, panels); also the follow-up dates that
    VS and QS share."""
    out: list[tuple] = [("SCREENING", 1.0, s.screen, "", _ALL)]
    fu: list[date] = []
    if s.treated:
        d0 = s.d0
        plan = [("NK DAY 0", d0), ("NK DAY 1", d0 + timedelta(1)), ("NK DAY 3", d0 + timedelta(3)),
                ("NK DAY 7", d0 + timedelta(7))]
        if s.t1:
            plan += [(f"C1 DAY {k}", s.t1 + timedelta(k - 1)) for k in (1, 2, 3, 4, 5, 6, 7, 10)]
            if s.t2:
                plan += [(f"C2 DAY {k}", s.t2 + timedelta(k - 1)) for k in (1, 2, 3, 4, 5, 6, 7, 10, 14)]
                ref = s.t2 + timedelta(13)
            else:
                plan += [("C1 DAY 14", s.t1 + timedelta(13)), ("C1 DAY 28", s.t1 + timedelta(27))]
                ref = s.t1 + timedelta(27)
        else:
            ref = d0 + timedelta(7)
        for v, dt in plan:
            vn, panels, tm = _LB_VISITS[v]
            out.append((v, float(vn), dt, tm, panels))
        if s.no_imaging and s.clinical_pd_day is not None:
            stop = d0 + timedelta(days=s.clinical_pd_day)
            out.append(("UNSCHEDULED", 5.1, stop, "", 1 | 2 | 4))
        else:
            offs = [28 * k for k in range(1, 13)]  # every 4 weeks for a year, then every 8 weeks
            while offs[-1] < 3000:
                offs.append(offs[-1] + 56)
            # after progression: safety follow-up until 90 days after the last infusion
            last_fu = None if s.pd_date is None else max(s.pd_date + timedelta(7), s.ex[-1]["date"] + timedelta(90))
            for k, o in enumerate(offs, start=1):
                dt = ref + timedelta(days=o)
                if last_fu is not None and dt > last_fu:
                    break
                if dt > cut:
                    break
                fu.append(dt)
                out.append((f"FOLLOW-UP {k}", float(30 + k), dt, "", _ALL))
        # unscheduled labs on the day of onset of CRS grade >= 2 (when not a scheduled day)
        for g, cyc, onset, _dur in s.crs:
            if g < 2:
                continue
            start = (s.t1 if cyc == 1 else s.t2)
            if start is None:
                continue
            dt = start + timedelta(days=onset)
            if any(dt == o[2] for o in out):
                continue
            prev = max((o[1] for o in out if o[2] <= dt and o[0] != "UNSCHEDULED"), default=1.0)
            out.append(("UNSCHEDULED", round(prev + 0.1, 2), dt, "", 1 | 2 | 16))
    keep = []
    for o in out:
        if o[2] > cut:
            continue
        if s.death is not None and o[2] >= s.death:
            continue
        keep.append(o)
    s.lb_visits = sorted(keep, key=lambda o: (o[2], o[1]))
    s.fu_dates = fu


# --------------------------------------------------------------------------------------------
# LB parameters (per subject) and the vectorised LB domain
# --------------------------------------------------------------------------------------------

def _uln(code: str, sex: str) -> float:
    t = _LB[_LBI[code]]
    return t[7] if sex == "M" else t[9]


def _lb_params(s: Subject, seed: int) -> None:
    rng = _rng(seed, _K_LBP, s.n)
    T = len(_LB)
    logb = np.zeros(T)
    for i, t in enumerate(_LB):
        if t[0] == "PROT":
            continue
        med = t[10] if s.sex == "M" else t[11]
        logb[i] = np.log(med) + rng.normal(0.0, t[12])
    # keep the true baseline eligible for treated subjects
    for code, lo in _ELIG_LOW.items():
        logb[_LBI[code]] = max(logb[_LBI[code]], np.log(lo * 1.15))
    for code, k in _ELIG_HIGH_ULN.items():
        logb[_LBI[code]] = min(logb[_LBI[code]], np.log(k * 0.8 * _uln(code, s.sex)))
    for code, v in s.lb_base.items():
        logb[_LBI[code]] = np.log(v)
    amp = np.zeros((_NSLOT, T))
    tau = np.ones((_NSLOT, T))
    center = np.full(_NSLOT, np.nan)

    def setp(slot: int, code: str, factor: float, tau_days: float) -> None:
        amp[slot, _LBI[code]] = np.log(factor)
        tau[slot, _LBI[code]] = tau_days

    u = rng.uniform
    if s.treated:
        nk_date, nk_time = s.nk_dt()
        hh, mm = (int(x) for x in nk_time.split(":"))
        center[_S_HAI] = (nk_date - date(1970, 1, 1)).days + (hh + mm / 60) / 24
        alt_f = 1 + u(0.3, 1.8)
        setp(_S_HAI, "ALT", alt_f, 1.5)
        setp(_S_HAI, "AST", 1 + u(0.4, 2.2), 1.2)
        setp(_S_HAI, "BILI", u(1.05, 1.35), 2.0)
        setp(_S_HAI, "CRP", u(2.0, 6.0), 2.0)
        setp(_S_HAI, "IL6", u(2.0, 6.0), 1.0)
        setp(_S_HAI, "IFNG", u(1.5, 4.0), 1.0)
        setp(_S_HAI, "IL10", u(1.2, 3.0), 1.0)
        setp(_S_HAI, "TNFA", u(1.1, 2.0), 1.0)
        setp(_S_HAI, "FERRITIN", u(1.1, 1.5), 3.0)
        setp(_S_HAI, "NEUT", u(1.1, 1.5), 1.0)
        setp(_S_HAI, "WBC", u(1.05, 1.3), 1.0)
        setp(_S_HAI, "LYM", u(0.65, 0.9), 1.0)
        s.lbp["hai_alt_peak"] = float(np.exp(logb[_LBI["ALT"]]) * alt_f)
        for slot, start, cyc in ((_S_CT1, s.t1, 1), (_S_CT2, s.t2, 2)):
            if start is None:
                continue
            ex = next(e for e in s.ex if e["date"] == start)
            hh, mm = (int(x) for x in ex["start"].split(":"))
            center[slot] = (start - date(1970, 1, 1)).days + (hh + mm / 60) / 24
            ep = [c for c in s.crs if c[1] == cyc]
            g = ep[0][0] if ep else 0
            onset = ep[0][2] if ep else 2
            scale = 1.0 if (cyc == 1 or g) else 0.5
            il6 = {0: (1.2, 2.5), 1: (5, 20), 2: (25, 80), 3: (100, 300), 4: (200, 500)}[g]
            crp = {0: (1.2, 2.5), 1: (3, 8), 2: (8, 15), 3: (15, 25), 4: (20, 30)}[g]
            fer = {0: (1.1, 1.5), 1: (1.5, 3), 2: (3, 6), 3: (6, 15), 4: (10, 20)}[g]
            ifn = {0: (1.5, 3), 1: (3, 10), 2: (10, 40), 3: (40, 120), 4: (80, 200)}[g]
            il10 = {0: (1.2, 2), 1: (2, 6), 2: (6, 20), 3: (20, 60), 4: (40, 100)}[g]
            tnf = {0: (1.0, 1.3), 1: (1.3, 2), 2: (2, 4), 3: (4, 8), 4: (6, 10)}[g]
            il2 = {0: (1.0, 1.3), 1: (1.3, 2), 2: (2, 3), 3: (3, 5), 4: (4, 6)}[g]

            def sc(rngpair: tuple) -> float:
                return float(np.exp(scale * np.log(u(*rngpair))))

            setp(slot, "IL6", sc(il6), onset + 0.8)
            setp(slot, "CRP", sc(crp), onset + 1.5)
            setp(slot, "FERRITIN", sc(fer), onset + 3.0)
            setp(slot, "IFNG", sc(ifn), onset + 0.5)
            setp(slot, "IL10", sc(il10), onset + 0.8)
            setp(slot, "TNFA", sc(tnf), onset + 0.8)
            setp(slot, "IL2", sc(il2), onset + 0.8)
            lym = (0.75, 0.9) if s.mild else (0.25, 0.6)
            setp(slot, "LYM", sc(lym), 2.0)
            setp(slot, "NEUT", sc((0.75, 0.95) if s.mild else (0.5, 0.9)), 6.0)
            setp(slot, "WBC", sc((0.6, 0.9)), 5.0)
            setp(slot, "PLT", sc((0.7, 0.95)), 7.0)
            setp(slot, "ALT", sc((1.0, 1.5)), 5.0)
            setp(slot, "AST", sc((1.0, 1.5)), 5.0)
            setp(slot, "HGB", sc((0.92, 0.98)), 7.0)
            setp(slot, "ALB", sc((0.88, 0.97)), 4.0)
        slots = {"HAI": _S_HAI, "CT1": _S_CT1, "CT2": _S_CT2, "HEP": _S_HEP}
        for (slot_name, code), (factor, tau_days) in s.lb_slot.items():
            if slot_name == "HEP":
                center[_S_HEP] = center[_S_CT1]
            setp(slots[slot_name], code, factor, tau_days)
        if s.prog:
            center[_S_PROG] = (s.d0 - date(1970, 1, 1)).days
            setp(_S_PROG, "BILI", 8.0, 12.0)
            setp(_S_PROG, "ALT", 1.8, 12.0)
            setp(_S_PROG, "AST", 2.5, 12.0)
            setp(_S_PROG, "ALB", 0.8, 12.0)
            setp(_S_PROG, "INR", 1.3, 12.0)
            setp(_S_PROG, "CEA", 1.6, 12.0)
            setp(_S_PROG, "CA199", 1.6, 12.0)
    s.lbp.update(logb=logb, amp=amp, tau=tau, center=center, gamma=float(u(0.8, 1.5)),
                 prot=float(u(0, 1)))


def _build_lb(subjects: list[Subject], seed: int, cut: date, late: list) -> pd.DataFrame:
    """The LB domain for all subjects at once (numpy over subject x visit x test)."""
    T = len(_LB)
    S = len(subjects)
    sv, vnum, vname, vday, vfrac, vtime, vpan = [], [], [], [], [], [], []
    for si, s in enumerate(subjects):
        for (name, vn, dt, tm, panels) in s.lb_visits:
            sv.append(si)
            vnum.append(vn)
            vname.append(name)
            vday.append((dt - date(1970, 1, 1)).days)
            vfrac.append(7.5 / 24 if tm else 0.5)
            vtime.append(tm)
            vpan.append(panels)
    for (si, dt, vn) in late:  # planted records after the data cut (ALT, AST, BILI)
        sv.append(si)
        vnum.append(vn)
        vname.append("UNSCHEDULED")
        vday.append((dt - date(1970, 1, 1)).days)
        vfrac.append(0.5)
        vtime.append("")
        vpan.append(64)
    sv = np.asarray(sv, dtype=np.int64)
    vday = np.asarray(vday, dtype=np.int64)
    vfrac = np.asarray(vfrac)
    vpan = np.asarray(vpan, dtype=np.int64)
    vnum = np.asarray(vnum)
    vname = np.asarray(vname, dtype=object)
    vtime = np.asarray(vtime, dtype=object)
    mask = (vpan[:, None] & _TEST_BITS[None, :]) != 0
    vi, ti = np.nonzero(mask)
    si = sv[vi]
    t_abs = vday[vi] + vfrac[vi]
    logb = np.stack([s.lbp["logb"] for s in subjects]) if S else np.zeros((0, T))
    amp = np.stack([s.lbp["amp"] for s in subjects]) if S else np.zeros((0, _NSLOT, T))
    tau = np.stack([s.lbp["tau"] for s in subjects]) if S else np.zeros((0, _NSLOT, T))
    center = np.stack([s.lbp["center"] for s in subjects]) if S else np.zeros((0, _NSLOT))
    logv = logb[si, ti].copy()
    for slot in range(_NSLOT):
        c = center[si, slot]
        x = t_abs - c
        ok = np.isfinite(c) & (x > 0)
        tt = tau[si, slot, ti]
        r = np.where(ok, x / tt, 0.0)
        k = np.where(ok, r * r * np.exp(2.0 * (1.0 - r)), 0.0)
        logv += amp[si, slot, ti] * k
    # tumour markers follow the target sum (interpolated between assessments)
    tm_rows = np.nonzero(np.isin(ti, [_LBI["CEA"], _LBI["CA199"]]))[0]
    if len(tm_rows):
        order = np.argsort(si[tm_rows], kind="stable")
        tm_rows = tm_rows[order]
        bounds = np.searchsorted(si[tm_rows], np.arange(S + 1))
        for j, s in enumerate(subjects):
            rows = tm_rows[bounds[j]:bounds[j + 1]]
            if not len(rows) or not s.assessments or not s.treated:
                continue
            xs = [(s.d0 - date(1970, 1, 1)).days] + [(a.dt - date(1970, 1, 1)).days for a in s.assessments]
            ys = [0.0] + [np.log(max(a.frac, 0.05)) for a in s.assessments]
            logv[rows] += s.lbp["gamma"] * np.interp(t_abs[rows], xs, ys)
    noise_rng = _rng(seed, _K_LBNOISE)
    cv = np.array([t[13] for t in _LB])
    logv += noise_rng.normal(0.0, 1.0, len(logv)) * cv[ti]
    val = np.exp(logv)
    sexes = np.array([s.sex == "M" for s in subjects], dtype=bool)
    male = sexes[si]
    lo = np.where(male, np.array([t[6] if t[6] is not None else np.nan for t in _LB])[ti],
                  np.array([t[8] if t[8] is not None else np.nan for t in _LB])[ti])
    hi = np.where(male, np.array([t[7] if t[7] is not None else np.nan for t in _LB])[ti],
                  np.array([t[9] if t[9] is not None else np.nan for t in _LB])[ti])
    # eligibility-safe pre-treatment values
    pre = np.isin(vnum[vi], [1.0, 2.0])
    for code, lw in _ELIG_LOW.items():
        r = pre & (ti == _LBI[code])
        val[r] = np.maximum(val[r], lw)
    for code, kk in _ELIG_HIGH_ULN.items():
        r = pre & (ti == _LBI[code])
        val[r] = np.minimum(val[r], kk * hi[r])
    floor = {"IL6": 1.5, "IFNG": 1.0, "IL10": 1.0, "TNFA": 1.0, "IL2": 0.5, "CRP": 0.5}
    for code, f in floor.items():
        r = ti == _LBI[code]
        val[r] = np.maximum(val[r], f)
    # urine protein dipstick
    prot = np.full(len(val), "", dtype=object)
    pr = np.nonzero(ti == _LBI["PROT"])[0]
    if len(pr):
        ur = noise_rng.random(len(pr))
        cats = np.where(ur < 0.75, "NEGATIVE", np.where(ur < 0.92, "TRACE", "1+"))
        post = ~np.isin(vnum[vi[pr]], [1.0, 2.0])
        cats = np.where(post & (ur > 0.985), "2+", cats)
        prot[pr] = cats
    # overrides (planted values)
    dec = np.array([t[5] if t[5] is not None else 0 for t in _LB])
    over_idx, over_val = [], []
    for j, s in enumerate(subjects):
        if not s.lb_over:
            continue
        rows = np.nonzero(si == j)[0]
        for r in rows:
            key = (vname[vi[r]], LB_CODES[ti[r]])
            if key in s.lb_over:
                over_idx.append(r)
                over_val.append(s.lb_over[key])
    for r, v in zip(over_idx, over_val):
        if LB_CODES[ti[r]] == "PROT":
            prot[r] = v
        else:
            val[r] = float(v)
    val = np.round(val * 10.0 ** dec[ti]) / 10.0 ** dec[ti]
    is_prot = ti == _LBI["PROT"]
    # text
    dates = (vday[vi]).astype("datetime64[D]").astype(str).astype(object)
    tm = vtime[vi]
    lbdtc = np.where(tm != "", dates + "T" + tm, dates)
    strs = np.empty(len(val), dtype=object)
    for d in sorted(set(dec.tolist())):
        r = np.nonzero((dec[ti] == d) & ~is_prot)[0]
        strs[r] = [f"{x:.{d}f}" for x in val[r]]
    strs[is_prot] = prot[is_prot]
    lo_s = np.empty(len(val), dtype=object)
    hi_s = np.empty(len(val), dtype=object)
    for d in sorted(set(dec.tolist())):
        r = np.nonzero((dec[ti] == d) & ~is_prot)[0]
        lo_s[r] = [f"{x:.{d}f}" for x in lo[r]]
        hi_s[r] = [f"{x:.{d}f}" for x in hi[r]]
    lo_s[is_prot] = ""
    hi_s[is_prot] = ""
    usub = np.array([s.usubjid for s in subjects], dtype=object)
    # baseline flag: last non-missing value at or before the first infusion (date and time)
    first_inf = np.array([((s.d0 - date(1970, 1, 1)).days + (int(s.ex[0]["start"][:2]) + int(s.ex[0]["start"][3:]) / 60) / 24)
                          if s.treated else -np.inf for s in subjects])
    t_row = vday[vi] + np.where(tm != "", 7.5 / 24, 0.0)
    elig = t_row <= first_inf[si]
    blfl = np.full(len(val), "", dtype=object)
    cand = np.nonzero(elig)[0]
    if len(cand):
        keyf = pd.DataFrame({"s": si[cand], "t": ti[cand], "time": t_row[cand], "v": vnum[vi[cand]], "r": cand})
        keyf = keyf.sort_values(["s", "t", "time", "v"], kind="stable")
        last = keyf.groupby(["s", "t"], sort=False)["r"].last().to_numpy()
        blfl[last] = "Y"
    tests = np.array(LB_CODES, dtype=object)
    meta = {k: np.array([t[j] for t in _LB], dtype=object) for k, j in
            (("name", 1), ("cat", 2), ("spec", 3), ("unit", 4))}
    df = pd.DataFrame({
        "STUDYID": STUDYID, "DOMAIN": "LB", "USUBJID": usub[si], "LBSEQ": 0,
        "LBTESTCD": tests[ti], "LBTEST": meta["name"][ti], "LBCAT": meta["cat"][ti],
        "LBORRES": strs, "LBORRESU": meta["unit"][ti], "LBSTRESC": strs,
        "LBSTRESN": np.where(is_prot, "", strs), "LBSTRESU": meta["unit"][ti],
        "LBSTNRLO": lo_s, "LBSTNRHI": hi_s, "LBSTNRC": np.where(is_prot, "NEGATIVE", ""),
        "LBSPEC": meta["spec"][ti], "LBBLFL": blfl,
        "VISITNUM": _vn_vec(vnum[vi]),
        "VISIT": vname[vi], "LBDTC": lbdtc,
        "_s": si, "_t": t_row, "_vn": vnum[vi], "_ti": ti,
    })
    df = df.sort_values(["_s", "_t", "_vn", "_ti"], kind="stable").reset_index(drop=True)
    df["LBSEQ"] = (df.groupby("_s", sort=False).cumcount() + 1).astype(str)
    return df.drop(columns=["_s", "_t", "_vn", "_ti"])


def _vn_vec(x: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(x, return_inverse=True)
    return np.array([_vn(u) for u in uniq], dtype=object)[inv]


# --------------------------------------------------------------------------------------------
# per-subject domains
# --------------------------------------------------------------------------------------------

def _ae_records(s: Subject, seed: int, cut: date) -> list[dict]:
    if not s.treated:
        return []
    rng = _rng(seed, _K_AE, s.n)
    recs: list[dict] = []
    dlt_end = s.dlt_end()
    last_inf = s.last_infusion()

    def add(decod, term, start, dur, grade, rel, prd, *, ser=False, acn=None, dlt=False,
            start_str=None, end_str=None):
        if s.death is not None and start >= s.death:
            return
        end = None if dur is None else start + timedelta(days=int(dur))
        out = "RECOVERED/RESOLVED"
        if end is None or end > cut or (s.death is not None and end >= s.death):
            end, end_str = None, None
            out = "NOT RECOVERED/NOT RESOLVED"
        if acn is None:
            acn = "DOSE NOT CHANGED" if start < last_inf else "NOT APPLICABLE"
        rec = {
            "AETERM": term, "AEDECOD": decod, "AEBODSYS": SOC[decod],
            "AESTDTC": start_str or start.isoformat(), "AEENDTC": (end_str or end.isoformat()) if end else "",
            "AETOXGR": str(grade), "AESER": "Y" if ser else "N", "AESHOSP": "Y" if ser else "N",
            "AEREL": rel, "AEOUT": out, "AEACN": acn,
            "AEDLT": ("Y" if dlt else "N") if (s.phase == "IA" and s.d0 <= start <= dlt_end) else "",
            "AERELPRD": (prd or "") if rel in _RELATED else "",
            "AEGRSCL": "ASTCT 2019" if decod in (CRS, ICANS) else "CTCAE V5.0",
            "_start": start,
        }
        recs.append(rec)

    for g, cyc, onset, dur in s.crs:
        t = s.t1 if cyc == 1 else s.t2
        if t is None:
            continue
        dlt = s.dlt == "CRS" and g >= 3
        acn = "DRUG WITHDRAWN" if (dlt and not s.c2) else None
        add(CRS, "CRS" if g < 3 else "Cytokine release syndrome grade 3", t + timedelta(days=onset), dur, g,
            "RELATED", "CAR-T", ser=g >= 3, acn=acn, dlt=dlt)
    for g, onset, dur in s.icans:
        if s.t1 is None:
            continue
        add(ICANS, "ICANS", s.t1 + timedelta(days=onset), dur, g, "RELATED", "CAR-T", ser=g >= 3)
    hand_decods = set()
    for decod, term, anchor, off, dur, grade, rel, prd, extra in s.hand_aes:
        hand_decods.add(decod)
        if anchor == "DATE":
            start = _d(off)
        else:
            a = {"D0": s.d0, "T1": s.t1, "T2": s.t2}[anchor]
            if a is None:
                continue
            start = a + timedelta(days=off)
        add(decod, term, start, dur, grade, rel, prd, acn=extra.get("acn"), dlt=extra.get("dlt", False),
            start_str=extra.get("start_str"), end_str=extra.get("end_str"))
    # background events
    anchors = {"NK": s.d0, "T": s.t1, "LATE": last_inf}
    for decod, term, anc, p, grades, rel, prd, (o1, o2), (u1, u2) in _BACKGROUND_AES:
        x = rng.random()
        g = int(grades[int(rng.integers(0, len(grades)))])
        off = int(rng.integers(o1, o2 + 1))
        dur = int(rng.integers(u1, u2 + 1))
        a = anchors[anc]
        if x >= p or a is None or decod in hand_decods:
            continue
        if s.mild and (rel in _RELATED) and (g >= 2 or decod == "Lymphocyte count decreased"):
            continue
        start = a + timedelta(days=off)
        if s.subseq_date is not None and start >= s.subseq_date and anc != "LATE":
            continue
        add(decod, term, start, dur, g, rel, prd)
    # transaminases after the hepatic artery infusion, when above the upper limit
    peak = s.lbp.get("hai_alt_peak", 0.0)
    if peak > _uln("ALT", s.sex) and rng.random() < 0.6 and "Alanine aminotransferase increased" not in hand_decods:
        add("Alanine aminotransferase increased", "ALT elevated", s.d0 + timedelta(1), int(rng.integers(4, 9)), 1,
            "POSSIBLY RELATED", "CAR-NK")
    if not s.hand:
        if any(c[0] >= 2 for c in s.crs) and rng.random() < 0.4:
            add("Neutrophil count decreased", "Neutropenia", s.t1 + timedelta(days=int(rng.integers(5, 8))),
                int(rng.integers(3, 9)), int(rng.choice([2, 3])), "RELATED", "CAR-T")
    return [r for r in recs if r["_start"] <= cut]


def _pc_curve(t: np.ndarray, cmax: float, tmax: float, dbl: float, h1: float, h2: float, f2: float) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    rise = cmax * np.power(2.0, -(tmax - t) / dbl)
    dt = np.maximum(t - tmax, 0.0)
    fall = cmax * ((1 - f2) * np.power(2.0, -dt / h1) + f2 * np.power(2.0, -dt / h2))
    return np.where(t <= 0, 0.0, np.where(t < tmax, rise, fall))


_PC_TEST = {"CARDNA": ("NKG2D CAR Transgene Copies", "copies/µg gDNA", "QPCR", 50.0, 1, "BLQ"),
            "CARNK": ("NKG2D CAR+ NK Cells", "cells/µL", "FLOW CYTOMETRY", 0.5, 2, "<LLOQ"),
            "CART": ("NKG2D CAR+ T Cells", "cells/µL", "FLOW CYTOMETRY", 0.5, 2, "<LLOQ")}
_CART_MED = {"DL1": 4000.0, "DL2": 8000.0, "DL3": 15000.0, "DL4": 25000.0}


def _pc_records(s: Subject, seed: int, cut: date) -> list[dict]:
    if not s.treated:
        return []
    rng = _rng(seed, _K_PC, s.n)
    recs: list[dict] = []
    nk_date, nk_time = s.nk_dt()
    nk_ref = f"{nk_date.isoformat()}T{nk_time}"
    nk0 = (nk_date - date(1970, 1, 1)).days + (int(nk_time[:2]) + int(nk_time[3:]) / 60) / 24
    nk = dict(cmax=float(np.exp(rng.normal(np.log(4.0), 0.6))), tmax=float(rng.uniform(2.5, 6.0)),
              dbl=0.6, h1=2.5, h2=10.0, f2=0.05)
    nk_dna_per_cell = float(rng.uniform(120, 250))
    stop = cut
    if s.death is not None:
        stop = min(stop, s.death - timedelta(1))
    if s.pd_date is not None:
        stop = min(stop, s.pd_date + timedelta(7))

    def rec(test, spec, refid, ref, dt, hhmm, tpt, value, status=""):
        name, unit, method, lloq, dec, blq = _PC_TEST[test]
        if status:
            orres, stresn = "", ""
        elif value is None or value < lloq:
            orres, stresn = blq, ""
        else:
            orres = stresn = f"{value:.{dec}f}"
        recs.append({"PCREFID": refid, "PCTESTCD": test, "PCTEST": name, "PCCAT": "CELLULAR KINETICS",
                     "PCORRES": orres, "PCORRESU": unit if not status else "", "PCSTRESC": orres,
                     "PCSTRESN": stresn, "PCSTRESU": unit if not status else "", "PCSTAT": status,
                     "PCREASND": "INSUFFICIENT SAMPLE" if status else "", "PCSPEC": spec, "PCMETHOD": method,
                     "PCLLOQ": _n(lloq, dec), "PCTPT": tpt,
                     "PCTPTREF": "FIRST CAR-NK INFUSION" if refid == "CAR-NK" else "FIRST CAR-T INFUSION",
                     "PCRFTDTC": ref, "PCDTC": f"{dt.isoformat()}T{hhmm}", "_dt": dt})

    def noise() -> float:
        return float(np.exp(rng.normal(0.0, 0.15)))

    def nk_val(t_abs: float) -> float:
        return float(_pc_curve(np.array([t_abs - nk0]), **nk)[0]) * noise()

    # CAR-NK phase: pre-dose, day 1 (before the second infusion), day 3, day 7
    nk_days = [0, 1, 3, 7]
    if not s.cart:
        nk_days += [14, 21, 28, 56, 84]
    for dday in nk_days:
        dt = nk_date + timedelta(days=dday)
        if dt > stop:
            break
        hhmm = "07:30" if dday in (0, 1) else "08:00"
        t_abs = (dt - date(1970, 1, 1)).days + (7.5 if hhmm == "07:30" else 8.0) / 24
        tpt = "PRE-DOSE" if dday == 0 else f"DAY {dday}"
        v = nk_val(t_abs)
        rec("CARNK", "BLOOD", "CAR-NK", nk_ref, dt, hhmm, tpt, v)
        rec("CARDNA", "BLOOD", "CAR-NK", nk_ref, dt, hhmm, tpt, v * nk_dna_per_cell)
    if s.cart and s.t1 is not None:
        t_ex = next(e for e in s.ex if e["date"] == s.t1)
        t_ref = f"{s.t1.isoformat()}T{t_ex['start']}"
        t0 = (s.t1 - date(1970, 1, 1)).days + (int(t_ex["start"][:2]) + int(t_ex["start"][3:]) / 60) / 24
        g = max([c[0] for c in s.crs if c[1] == 1] or [0])
        cmax = _CART_MED[s.arm] * (1.0 + 0.8 * g) * float(np.exp(rng.normal(0.0, 0.7)))
        tmax = float(rng.uniform(6.0, 9.0) if g >= 2 else rng.uniform(7.0, 14.0))
        ct = dict(cmax=cmax, tmax=tmax, dbl=1.0, h1=3.5, h2=40.0, f2=0.06)
        ct2 = None
        if s.t2 is not None:
            ct2 = (((s.t2 - s.t1).days), dict(cmax=0.35 * cmax, tmax=6.0, dbl=1.0, h1=3.5, h2=40.0, f2=0.06))
        dna_per_cell = float(rng.uniform(150, 250))
        days = [0, 1, 3, 7, 10, 14, 17, 21, 28, 42, 56, 84, 112, 168]
        while days[-1] < 2000:
            days.append(days[-1] + 56)
        nk_blq_run = 0
        for dday in days:
            dt = s.t1 + timedelta(days=dday)
            if dt > stop:
                break
            hhmm = "07:30" if dday in (0, 1) else "08:00"
            t_abs = (dt - date(1970, 1, 1)).days + (7.5 if hhmm == "07:30" else 8.0) / 24
            tpt = "PRE-DOSE" if dday == 0 else f"DAY {dday}"
            c = float(_pc_curve(np.array([t_abs - t0]), **ct)[0])
            if ct2 is not None:
                c += float(_pc_curve(np.array([t_abs - t0 - ct2[0]]), **ct2[1])[0])
            c *= noise()
            status = "NOT DONE" if (s.pc_notdone and dday == 21) else ""
            rec("CARDNA", "BLOOD", "CAR-T", t_ref, dt, hhmm, tpt, c, status)
            rec("CART", "BLOOD", "CAR-T", t_ref, dt, hhmm, tpt, c / dna_per_cell * noise())
            if nk_blq_run < 2 and dday > 0:
                v = nk_val(t_abs)
                nk_tpt = f"DAY {(dt - nk_date).days}"
                rec("CARNK", "BLOOD", "CAR-NK", nk_ref, dt, hhmm, nk_tpt, v)
                nk_blq_run = nk_blq_run + 1 if v < 0.5 else 0
            if s.tissue and dday == (14 if s.tissue == "TUMOR TISSUE" else 7):
                tdt = dt + timedelta(days=0 if s.tissue == "TUMOR TISSUE" else 1)
                if tdt <= stop:
                    ratio = float(np.exp(rng.normal(np.log(6.0 if s.tissue == "TUMOR TISSUE" else 3.0), 0.5)))
                    tt = (tdt - date(1970, 1, 1)).days + 11.0 / 24 - t0
                    cv = float(_pc_curve(np.array([tt]), **ct)[0]) * ratio
                    rec("CARDNA", s.tissue, "CAR-T", t_ref, tdt, "11:00", f"DAY {(tdt - s.t1).days}", cv)
    return [r for r in recs if r["_dt"] <= cut]


def _tu_tr_rs(s: Subject) -> tuple[list, list, list]:
    tu, tr, rs = [], [], []
    if not s.treated or not s.lesions:
        return tu, tr, rs
    scan = s.d0 - timedelta(days=7 + s.n % 10)
    for l in s.lesions:
        tu.append({"TULNKID": l.lnkid, "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
                   "TUORRES": l.role, "TUSTRESC": l.role, "TULOC": l.loc, "TULOCDTL": l.locdtl,
                   "TUMETHOD": l.method, "TUEVAL": "INVESTIGATOR", "VISITNUM": "1", "VISIT": "SCREENING",
                   "TUDTC": scan.isoformat(), "_o": (scan, l.lnkid)})

    def trrec(l: Lesion, dt: date, visit: str, vn: str, value=None, state=None):
        grp = {"TARGET": "TARGET", "NON-TARGET": "NON-TARGET", "NEW": "NEW"}[l.role]
        if l.test == "TUMSTATE":
            tr.append({"TRGRPID": grp, "TRLNKID": l.lnkid, "TRTESTCD": "TUMSTATE", "TRTEST": "Tumor State",
                       "TRORRES": state, "TRORRESU": "", "TRSTRESC": state, "TRSTRESN": "", "TRSTRESU": "",
                       "TRSTAT": "", "TRREASND": "", "TRMETHOD": l.method, "TREVAL": "INVESTIGATOR",
                       "VISITNUM": vn, "VISIT": visit, "TRDTC": dt.isoformat(), "_o": (dt, l.lnkid)})
        else:
            name = "Longest Diameter" if l.test == "LDIAM" else "Short Axis"
            done = value is not None
            tr.append({"TRGRPID": grp, "TRLNKID": l.lnkid, "TRTESTCD": l.test, "TRTEST": name,
                       "TRORRES": _n(value, 1) if done else "", "TRORRESU": "mm" if done else "",
                       "TRSTRESC": _n(value, 1) if done else "", "TRSTRESN": _n(value, 1) if done else "",
                       "TRSTRESU": "mm" if done else "", "TRSTAT": "" if done else "NOT DONE",
                       "TRREASND": "" if done else "NOT IMAGED", "TRMETHOD": l.method, "TREVAL": "INVESTIGATOR",
                       "VISITNUM": vn, "VISIT": visit, "TRDTC": dt.isoformat(), "_o": (dt, l.lnkid)})

    for l in s.lesions:
        trrec(l, scan, "SCREENING", "1", l.size, "PRESENT")
    for a in s.assessments:
        visit, vn = f"TUMOR ASSESSMENT {a.k}", str(100 + a.k)
        for l in s.lesions:
            if l.role == "TARGET":
                trrec(l, a.dt, visit, vn, a.values[l.lnkid])
            else:
                trrec(l, a.dt, visit, vn, state=a.nt[l.lnkid])
        if a.new is not None:
            l = a.new
            tu.append({"TULNKID": l.lnkid, "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
                       "TUORRES": "NEW", "TUSTRESC": "NEW", "TULOC": l.loc, "TULOCDTL": l.locdtl,
                       "TUMETHOD": l.method, "TUEVAL": "INVESTIGATOR", "VISITNUM": vn, "VISIT": visit,
                       "TUDTC": a.dt.isoformat(), "_o": (a.dt, l.lnkid)})
            trrec(l, a.dt, visit, vn, state="PRESENT")
        for code, name, val in (("TRGRESP", "Target Response", a.inv_trg),
                                ("NTRGRESP", "Non-target Response", a.inv_ntrg),
                                ("OVRLRESP", "Overall Response", a.inv_ovr)):
            if val is None:
                continue
            rs.append({"RSTESTCD": code, "RSTEST": name, "RSCAT": "RECIST 1.1", "RSORRES": val, "RSSTRESC": val,
                       "RSEVAL": "INVESTIGATOR", "VISITNUM": vn, "VISIT": visit, "RSDTC": a.rsdtc,
                       "_o": (a.dt, {"TRGRESP": 1, "NTRGRESP": 2, "OVRLRESP": 3}[code])})
    return tu, tr, rs


def _cm_records(s: Subject, seed: int, cut: date, ae: list[dict]) -> list[dict]:
    rng = _rng(seed, _K_CM, s.n)
    recs: list[dict] = []
    lines = LINES[s.cohort]
    n_regs = min(s.n_regs, len(lines))
    regs = list(s.regs) if s.regs else [lines[i][int(rng.integers(0, len(lines[i])))] for i in range(n_regs)]
    # dates backwards from consent
    end = s.consent - timedelta(days=int(rng.integers(28, 71)))
    spans = []
    for _ in regs:
        dur = int(rng.integers(90, 271))
        start = end - timedelta(days=dur)
        spans.append((start, end))
        end = start - timedelta(days=int(rng.integers(7, 41)))
    spans.reverse()
    for k, (reg, (st, en)) in enumerate(zip(regs, spans), start=1):
        partial = k < len(regs) and rng.random() < 0.5
        for code in REGIMENS[reg]:
            trt, decod, route = _DRUGS[code]
            recs.append({"CMTRT": trt, "CMDECOD": decod, "CMCAT": "PRIOR CANCER THERAPY", "CMSCAT": f"LINE {k}",
                         "CMGRPID": f"REG{k}", "CMINDC": INDICATION[s.cohort], "CMDOSE": "", "CMDOSU": "",
                         "CMROUTE": route, "CMSTDTC": st.isoformat()[:7] if partial else st.isoformat(),
                         "CMENDTC": en.isoformat()[:7] if partial else en.isoformat(), "_o": st})
    if not s.treated:
        return recs
    # CRS / ICANS management
    for r in ae:
        g = int(r["AETOXGR"])
        st = r["_start"]
        if r["AEDECOD"] == CRS and g >= 2:
            for j in range(2 if g >= 3 else 1):
                recs.append({"CMTRT": "Tocilizumab", "CMDECOD": "TOCILIZUMAB", "CMCAT": "CRS MANAGEMENT",
                             "CMSCAT": "", "CMGRPID": "", "CMINDC": "Cytokine release syndrome", "CMDOSE": "8",
                             "CMDOSU": "mg/kg", "CMROUTE": "INTRAVENOUS",
                             "CMSTDTC": (st + timedelta(j)).isoformat(), "CMENDTC": (st + timedelta(j)).isoformat(),
                             "_o": st + timedelta(j)})
        if (r["AEDECOD"] == CRS and g >= 3) or (r["AEDECOD"] == ICANS and g >= 2):
            recs.append({"CMTRT": "Dexamethasone", "CMDECOD": "DEXAMETHASONE", "CMCAT": "CRS MANAGEMENT",
                         "CMSCAT": "", "CMGRPID": "", "CMINDC": "Cytokine release syndrome" if r["AEDECOD"] == CRS
                         else "Immune effector cell-associated neurotoxicity syndrome",
                         "CMDOSE": "10", "CMDOSU": "mg", "CMROUTE": "INTRAVENOUS",
                         "CMSTDTC": (st + timedelta(1 if r["AEDECOD"] == CRS else 0)).isoformat(),
                         "CMENDTC": (st + timedelta(3)).isoformat(), "_o": st})
        if r["AEDECOD"] == "Neutrophil count decreased" and g >= 3:
            recs.append({"CMTRT": "Filgrastim", "CMDECOD": "FILGRASTIM", "CMCAT": "CONCOMITANT", "CMSCAT": "",
                         "CMGRPID": "", "CMINDC": "Neutropenia", "CMDOSE": "300", "CMDOSU": "ug",
                         "CMROUTE": "SUBCUTANEOUS", "CMSTDTC": st.isoformat(),
                         "CMENDTC": (st + timedelta(2)).isoformat(), "_o": st})
    # premedication before CAR-T infusions, antiemetic around the hepatic artery infusion
    recs.append({"CMTRT": "Ondansetron", "CMDECOD": "ONDANSETRON", "CMCAT": "CONCOMITANT", "CMSCAT": "",
                 "CMGRPID": "", "CMINDC": "Prophylaxis of nausea", "CMDOSE": "8", "CMDOSU": "mg",
                 "CMROUTE": "INTRAVENOUS", "CMSTDTC": s.d0.isoformat(), "CMENDTC": (s.d0 + timedelta(1)).isoformat(),
                 "_o": s.d0})
    for e in s.ex:
        if e["trt"] == "NKG2D CAR-T" and e["visit"].endswith("DAY 1"):
            for trt, dose, unit, route in (("Paracetamol", "500", "mg", "ORAL"), ("Promethazine", "25", "mg", "INTRAMUSCULAR")):
                recs.append({"CMTRT": trt, "CMDECOD": trt.upper(), "CMCAT": "CONCOMITANT", "CMSCAT": "",
                             "CMGRPID": "", "CMINDC": "Premedication", "CMDOSE": dose, "CMDOSU": unit,
                             "CMROUTE": route, "CMSTDTC": e["date"].isoformat(),
                             "CMENDTC": (e["date"] + timedelta(1)).isoformat(), "_o": e["date"]})
    if rng.random() < 0.3:
        st = s.consent - timedelta(days=int(rng.integers(30, 400)))
        recs.append({"CMTRT": "Omeprazole", "CMDECOD": "OMEPRAZOLE", "CMCAT": "CONCOMITANT", "CMSCAT": "",
                     "CMGRPID": "", "CMINDC": "Gastric protection", "CMDOSE": "20", "CMDOSU": "mg",
                     "CMROUTE": "ORAL", "CMSTDTC": st.isoformat(), "CMENDTC": "", "_o": st})
    # subsequent anticancer therapy after progression
    if s.subseq_date is not None:
        reg = s.subseq[0]
        if reg == "NEXT":
            nxt = min(n_regs, len(lines) - 1)
            options = [r for r in lines[nxt] if r not in regs] or ["CAPECITABINE"]
            reg = options[int(rng.integers(0, len(options)))]
        for code in REGIMENS[reg]:
            trt, decod, route = _DRUGS[code]
            recs.append({"CMTRT": trt, "CMDECOD": decod, "CMCAT": "SUBSEQUENT CANCER THERAPY", "CMSCAT": "",
                         "CMGRPID": "SUBSEQ1", "CMINDC": INDICATION[s.cohort], "CMDOSE": "", "CMDOSU": "",
                         "CMROUTE": route, "CMSTDTC": s.subseq_date.isoformat(), "CMENDTC": "", "_o": s.subseq_date})
    out = []
    for r in recs:
        if r["_o"] > cut:
            continue
        if r["CMENDTC"] and len(r["CMENDTC"]) == 10 and _d(r["CMENDTC"]) > cut:
            r["CMENDTC"] = ""
        out.append(r)
    return out


def _vs_records(s: Subject, seed: int, cut: date) -> list[dict]:
    rng = _rng(seed, _K_VS, s.n)
    recs: list[dict] = []
    w0 = s.weight
    sbp0 = float(np.clip(rng.normal(118, 8), 100, 128))
    dbp0 = float(np.clip(rng.normal(74, 5), 60, 82))

    def add(visit, vn, dt, tm, weight=False, spo2=None, sbp=None, dbp=None):
        vals = {}
        if weight:
            vals["WEIGHT"] = s.vs_over.get((visit, "WEIGHT"), round(w0 * float(rng.uniform(0.97, 1.01)), 1) if vn > 1 else w0)
        vals["OXYSAT"] = s.vs_over.get((visit, "OXYSAT"), spo2 if spo2 is not None else float(rng.integers(96, 100)))
        vals["SYSBP"] = float(sbp if sbp is not None else round(sbp0 + float(rng.normal(0, 4))))
        vals["DIABP"] = float(dbp if dbp is not None else round(dbp0 + float(rng.normal(0, 3))))
        if vn <= 2:  # eligible blood pressure before treatment (below 140/90)
            vals["SYSBP"] = min(vals["SYSBP"], 138.0)
            vals["DIABP"] = min(vals["DIABP"], 88.0)
        names = {"WEIGHT": ("Weight", "kg", 1), "OXYSAT": ("Oxygen Saturation", "%", 0),
                 "SYSBP": ("Systolic Blood Pressure", "mmHg", 0), "DIABP": ("Diastolic Blood Pressure", "mmHg", 0)}
        for code, v in vals.items():
            name, unit, dec = names[code]
            txt = _n(float(v), dec)
            recs.append({"VSTESTCD": code, "VSTEST": name, "VSORRES": txt, "VSORRESU": unit, "VSSTRESC": txt,
                         "VSSTRESN": txt, "VSSTRESU": unit, "VISITNUM": _vn(vn), "VISIT": visit,
                         "VSDTC": f"{dt.isoformat()}T{tm}" if tm else dt.isoformat(), "_o": (dt, tm, vn)})

    add("SCREENING", 1, s.screen, "", weight=True)
    if s.treated:
        for e in s.ex:
            add(e["visit"], e["vn"], e["date"], "08:00", weight=e["visit"] in ("NK DAY 0", "C1 DAY 1", "C2 DAY 1"))
        for g, cyc, onset, _dur in s.crs:
            t = s.t1 if cyc == 1 else s.t2
            if t is None:
                continue
            dt = t + timedelta(days=onset)
            vn = (11 if cyc == 1 else 21) + 0.2
            if g >= 3:
                add("UNSCHEDULED", vn, dt, "22:00", spo2=89.0, sbp=78.0, dbp=46.0)
            elif g == 2:
                add("UNSCHEDULED", vn, dt, "22:00", spo2=float(rng.integers(91, 94)), sbp=float(rng.integers(84, 90)),
                    dbp=float(rng.integers(48, 56)))
            else:
                add("UNSCHEDULED", vn, dt, "22:00")
        for k, dt in enumerate(s.fu_dates, start=1):
            add(f"FOLLOW-UP {k}", 30 + k, dt, "", weight=True)
    out = []
    for r in recs:
        dt = r["_o"][0]
        if dt > cut or (s.death is not None and dt >= s.death):
            continue
        out.append(r)
    return out


def _mi_records(s: Subject, seed: int) -> list[dict]:
    if s.mi is None:
        return []
    rng = _rng(seed, _K_MI, s.n)
    if s.mi == "edge":
        top = 100.0
    elif s.mi == "high":
        top = float(rng.integers(110, 261))
    else:
        top = float(rng.integers(20, 91))
    lead = int(rng.integers(0, 2))  # MICA or MICB carries the highest score
    scores = []
    for j in range(len(MI_TESTS)):
        if j == lead:
            scores.append(top)
        else:
            scores.append(float(min(top - 5, round(top * float(rng.uniform(0.05, 0.85)) / 5) * 5)))
            scores[-1] = max(scores[-1], 0.0)
    s.mi_scores = dict(zip([m[0] for m in MI_TESTS], scores))
    loc = "LIVER" if rng.random() < 0.6 else PRIMARY_SITE[s.cohort]
    recs = []
    for (code, name), v in zip(MI_TESTS, scores):
        recs.append({"MITESTCD": code, "MITEST": name, "MIORRES": str(int(v)), "MISTRESC": str(int(v)),
                     "MISTRESN": float(v), "MISPEC": "TUMOR TISSUE", "MILOC": loc, "MIMETHOD": "IHC",
                     "VISITNUM": 1.0, "VISIT": "SCREENING", "MIDTC": s.screen.isoformat()})
    return recs


def _ds_records(s: Subject, cut: date) -> list[dict]:
    recs = [{"DSTERM": "INFORMED CONSENT OBTAINED", "DSDECOD": "INFORMED CONSENT OBTAINED",
             "DSCAT": "PROTOCOL MILESTONE", "DSSCAT": "", "EPOCH": "SCREENING", "DSDTC": s.consent.isoformat(),
             "DSSTDTC": s.consent.isoformat(), "_o": s.consent}]
    if s.sf is not None:
        dt = s.consent + timedelta(days=7)
        recs.append({"DSTERM": s.sf[1], "DSDECOD": "SCREEN FAILURE", "DSCAT": "DISPOSITION EVENT",
                     "DSSCAT": "END OF STUDY", "EPOCH": "SCREENING", "DSDTC": dt.isoformat(),
                     "DSSTDTC": dt.isoformat(), "_o": dt})
        return [r for r in recs if r["_o"] <= cut]
    if s.ongoing:
        pass
    elif not s.cart:
        dt = s.d0 + timedelta(days=s.clinical_pd_day or 12)
        term = ("CLINICAL DISEASE PROGRESSION BEFORE CAR-T INFUSION" if s.nocart_reason == "PROGRESSIVE DISEASE"
                else "INVESTIGATOR DECIDED NOT TO GIVE CAR-T")
        recs.append({"DSTERM": term, "DSDECOD": s.nocart_reason, "DSCAT": "DISPOSITION EVENT",
                     "DSSCAT": "END OF TREATMENT", "EPOCH": "TREATMENT", "DSDTC": dt.isoformat(),
                     "DSSTDTC": dt.isoformat(), "_o": dt})
    elif not s.c2:
        dt = s.t1 + timedelta(days=14)
        term = {"ADVERSE EVENT": "CYCLE 2 NOT GIVEN: DOSE-LIMITING TOXICITY" if s.dlt else "CYCLE 2 NOT GIVEN: ADVERSE EVENT",
                "PHYSICIAN DECISION": "CYCLE 2 NOT GIVEN: INVESTIGATOR DECISION",
                "WITHDRAWAL BY SUBJECT": "CYCLE 2 NOT GIVEN: SUBJECT DECLINED"}[s.c2_reason]
        recs.append({"DSTERM": term, "DSDECOD": s.c2_reason, "DSCAT": "DISPOSITION EVENT",
                     "DSSCAT": "END OF TREATMENT", "EPOCH": "TREATMENT", "DSDTC": dt.isoformat(),
                     "DSSTDTC": dt.isoformat(), "_o": dt})
    else:
        dt = s.last_infusion()
        recs.append({"DSTERM": "COMPLETED CAR-T CYCLES 1 AND 2", "DSDECOD": "COMPLETED", "DSCAT": "DISPOSITION EVENT",
                     "DSSCAT": "END OF TREATMENT", "EPOCH": "TREATMENT", "DSDTC": dt.isoformat(),
                     "DSSTDTC": dt.isoformat(), "_o": dt})
    if s.pd_date is not None and s.assessments and s.assessments[-1].inv_ovr == "PD":
        dt = s.pd_date
        recs.append({"DSTERM": "RADIOLOGICAL DISEASE PROGRESSION (RECIST 1.1)", "DSDECOD": "PROGRESSIVE DISEASE",
                     "DSCAT": "DISPOSITION EVENT", "DSSCAT": "END OF RESPONSE FOLLOW-UP", "EPOCH": "FOLLOW-UP",
                     "DSDTC": dt.isoformat(), "DSSTDTC": dt.isoformat(), "_o": dt})
    if s.death is not None and s.death <= cut:
        dtxt = s.death.isoformat()[:7] if s.death_partial else s.death.isoformat()
        rep = (date(s.death.year + (s.death.month == 12), s.death.month % 12 + 1, 2) if s.death_partial
               else s.death + timedelta(2))
        rep = min(rep, cut)
        recs.append({"DSTERM": "DEATH DUE TO DISEASE PROGRESSION", "DSDECOD": "DEATH", "DSCAT": "DISPOSITION EVENT",
                     "DSSCAT": "END OF STUDY", "EPOCH": "FOLLOW-UP", "DSDTC": rep.isoformat(), "DSSTDTC": dtxt,
                     "_o": s.death})
    return [r for r in recs if r["_o"] <= cut]


def _ss_records(s: Subject, seed: int, cut: date) -> list[dict]:
    if not s.treated or s.pd_date is None:
        return []
    rng = _rng(seed, _K_MISC + 300, s.n)
    recs: list[dict] = []
    k = 0
    dt = s.pd_date
    while True:
        dt = dt + timedelta(days=56 + int(rng.integers(-3, 4)))
        if dt > cut or (s.death is not None and dt >= s.death):
            break
        k += 1
        status = "UNKNOWN" if (s.ss_unknown and k == 2) else "ALIVE"
        recs.append({"SSTESTCD": "SURVSTAT", "SSTEST": "Survival Status", "SSORRES": status, "SSSTRESC": status,
                     "VISITNUM": str(200 + k), "VISIT": f"SURVIVAL FOLLOW-UP {k}", "SSDTC": dt.isoformat(), "_o": dt})
    if s.death is not None and s.death <= cut:
        rep = (date(s.death.year + (s.death.month == 12), s.death.month % 12 + 1, 2) if s.death_partial
               else s.death + timedelta(2))
        if rep <= cut:
            k += 1
            recs.append({"SSTESTCD": "SURVSTAT", "SSTEST": "Survival Status", "SSORRES": "DEAD", "SSSTRESC": "DEAD",
                         "VISITNUM": str(200 + k), "VISIT": f"SURVIVAL FOLLOW-UP {k}", "SSDTC": rep.isoformat(),
                         "_o": rep})
    return recs


def _qs_eg_cv(s: Subject, seed: int, cut: date) -> tuple[list, list, list]:
    rng = _rng(seed, _K_MISC + 400, s.n)
    qs, eg, cv = [], [], []

    def q(visit, vn, dt, v):
        qs.append({"QSCAT": "ECOG", "QSTESTCD": "ECOG101", "QSTEST": "ECOG1-Performance Status", "QSORRES": str(v),
                   "QSSTRESC": str(v), "QSSTRESN": str(v), "VISITNUM": _vn(vn), "VISIT": visit,
                   "QSDTC": dt.isoformat(), "_o": dt})

    q("SCREENING", 1, s.screen, s.ecog)
    if s.treated:
        q("NK DAY 0", 2, s.d0, s.ecog)
        for k, dt in enumerate(s.fu_dates, start=1):
            late = s.pd_date is not None and dt >= s.pd_date
            q(f"FOLLOW-UP {k}", 30 + k, dt, min(4, s.ecog + int(late) + int(rng.random() < 0.15)))
    eg.append({"EGTESTCD": "QTCF", "EGTEST": "QTcF Interval", "EGORRES": _n(s.qtcf, 0), "EGORRESU": "ms",
               "EGSTRESC": _n(s.qtcf, 0), "EGSTRESN": _n(s.qtcf, 0), "EGSTRESU": "ms", "VISITNUM": "1",
               "VISIT": "SCREENING", "EGDTC": s.screen.isoformat(), "_o": s.screen})
    lvef = float(rng.integers(55, 71))
    cdt = s.consent + timedelta(days=2)
    cv.append({"CVTESTCD": "LVEF", "CVTEST": "Left Ventricular Ejection Fraction", "CVORRES": _n(lvef, 0),
               "CVORRESU": "%", "CVSTRESC": _n(lvef, 0), "CVSTRESN": _n(lvef, 0), "CVSTRESU": "%",
               "CVMETHOD": "ECHOCARDIOGRAPHY", "VISITNUM": "1", "VISIT": "SCREENING", "CVDTC": cdt.isoformat(), "_o": cdt})
    keep = lambda recs: [r for r in recs if r["_o"] <= cut and (s.death is None or r["_o"] < s.death)]  # noqa: E731
    return keep(qs), keep(eg), keep(cv)


# --------------------------------------------------------------------------------------------
# assembling the export
# --------------------------------------------------------------------------------------------

_COLUMNS = {
    "dm": ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "RFENDTC", "RFXSTDTC", "RFXENDTC", "RFICDTC",
           "RFPENDTC", "DTHDTC", "DTHFL", "SITEID", "SUBJINIT", "BRTHDTC", "AGE", "AGEU", "SEX", "RACE", "ETHNIC",
           "ARMCD", "ARM", "ACTARMCD", "ACTARM", "ACTARMUD", "COUNTRY", "DMDTC"],
    "suppdm": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"],
    "ex": ["STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRM", "EXROUTE", "EXLOC",
           "EXSCAT", "VISITNUM", "VISIT", "EXSTDTC", "EXENDTC"],
    "ae": ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESER", "AESHOSP", "AEACN",
           "AEREL", "AEOUT", "AETOXGR", "AESTDTC", "AEENDTC"],
    "suppae": ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"],
    "lb": ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES", "LBORRESU", "LBSTRESC",
           "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBSTNRC", "LBSPEC", "LBBLFL", "VISITNUM", "VISIT", "LBDTC"],
    "tu": ["STUDYID", "DOMAIN", "USUBJID", "TUSEQ", "TULNKID", "TUTESTCD", "TUTEST", "TUORRES", "TUSTRESC", "TULOC",
           "TULOCDTL", "TUMETHOD", "TUEVAL", "VISITNUM", "VISIT", "TUDTC"],
    "tr": ["STUDYID", "DOMAIN", "USUBJID", "TRSEQ", "TRGRPID", "TRLNKID", "TRTESTCD", "TRTEST", "TRORRES", "TRORRESU",
           "TRSTRESC", "TRSTRESN", "TRSTRESU", "TRSTAT", "TRREASND", "TRMETHOD", "TREVAL", "VISITNUM", "VISIT", "TRDTC"],
    "rs": ["STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSORRES", "RSSTRESC", "RSEVAL",
           "VISITNUM", "VISIT", "RSDTC"],
    "ds": ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSCAT", "EPOCH", "DSDTC",
           "DSSTDTC"],
    "mi": ["STUDYID", "DOMAIN", "USUBJID", "MISEQ", "MITESTCD", "MITEST", "MIORRES", "MISTRESC", "MISTRESN",
           "MISPEC", "MILOC", "MIMETHOD", "VISITNUM", "VISIT", "MIDTC"],
    "pc": ["STUDYID", "DOMAIN", "USUBJID", "PCSEQ", "PCREFID", "PCTESTCD", "PCTEST", "PCCAT", "PCORRES", "PCORRESU",
           "PCSTRESC", "PCSTRESN", "PCSTRESU", "PCSTAT", "PCREASND", "PCSPEC", "PCMETHOD", "PCLLOQ", "PCTPT",
           "PCTPTREF", "PCRFTDTC", "PCDTC"],
    "cm": ["STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMGRPID", "CMTRT", "CMDECOD", "CMCAT", "CMSCAT", "CMINDC",
           "CMDOSE", "CMDOSU", "CMROUTE", "CMSTDTC", "CMENDTC"],
    "ss": ["STUDYID", "DOMAIN", "USUBJID", "SSSEQ", "SSTESTCD", "SSTEST", "SSORRES", "SSSTRESC", "VISITNUM", "VISIT",
           "SSDTC"],
    "vs": ["STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU", "VSSTRESC",
           "VSSTRESN", "VSSTRESU", "VISITNUM", "VISIT", "VSDTC"],
    "qs": ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSCAT", "QSTESTCD", "QSTEST", "QSORRES", "QSSTRESC", "QSSTRESN",
           "VISITNUM", "VISIT", "QSDTC"],
    "eg": ["STUDYID", "DOMAIN", "USUBJID", "EGSEQ", "EGTESTCD", "EGTEST", "EGORRES", "EGORRESU", "EGSTRESC",
           "EGSTRESN", "EGSTRESU", "VISITNUM", "VISIT", "EGDTC"],
    "cv": ["STUDYID", "DOMAIN", "USUBJID", "CVSEQ", "CVTESTCD", "CVTEST", "CVORRES", "CVORRESU", "CVSTRESC",
           "CVSTRESN", "CVSTRESU", "CVMETHOD", "VISITNUM", "VISIT", "CVDTC"],
}
_LABELS = {  # SAS transport variable labels (<= 40 characters)
    "STUDYID": "Study Identifier", "DOMAIN": "Domain Abbreviation", "USUBJID": "Unique Subject Identifier",
    "DSSEQ": "Sequence Number", "DSTERM": "Reported Term for the Disposition Event",
    "DSDECOD": "Standardized Disposition Term", "DSCAT": "Category for Disposition Event",
    "DSSCAT": "Subcategory for Disposition Event", "EPOCH": "Epoch", "DSDTC": "Date/Time of Collection",
    "DSSTDTC": "Start Date/Time of Disposition Event", "MISEQ": "Sequence Number",
    "MITESTCD": "Test or Examination Short Name", "MITEST": "Test or Examination Name",
    "MIORRES": "Result or Finding in Original Units", "MISTRESC": "Character Result/Finding in Std Format",
    "MISTRESN": "Numeric Result/Finding in Standard Units", "MISPEC": "Specimen Material Type",
    "MILOC": "Specimen Collection Location", "MIMETHOD": "Method of Test or Examination",
    "VISITNUM": "Visit Number", "VISIT": "Visit Name", "MIDTC": "Date/Time of Specimen Collection",
    "RDOMAIN": "Related Domain Abbreviation", "IDVAR": "Identifying Variable",
    "IDVARVAL": "Identifying Variable Value", "QNAM": "Qualifier Variable Name",
    "QLABEL": "Qualifier Variable Label", "QVAL": "Data Value", "QORIG": "Origin", "QEVAL": "Evaluator",
}
_XPT_NUMERIC = {"ds": ("DSSEQ",), "mi": ("MISEQ", "MISTRESN", "VISITNUM"), "suppae": ()}


def _frame(code: str, per_subject: list[tuple[Subject, list[dict]]], seq: bool = True) -> pd.DataFrame:
    """Rows of one domain, in subject order then record order, with --SEQ."""
    cols = _COLUMNS[code]
    rows = []
    for s, recs in per_subject:
        for i, r in enumerate(recs, start=1):
            row = {c: r.get(c, "") for c in cols}
            row["STUDYID"] = STUDYID
            row["DOMAIN"] = code.upper()
            row["USUBJID"] = s.usubjid
            if seq:
                row[f"{code.upper()}SEQ"] = i if code in _XPT_NUMERIC else str(i)
            rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _lnk_order(lnkid: str) -> tuple:
    """Targets, then non-targets, then new lesions."""
    return ({"T": 0, "N": 1}.get(lnkid[0], 2) if not lnkid.startswith("NEW") else 2, lnkid)


def _late_records(subjects: list[Subject], cut: date) -> tuple[list, list]:
    """Planted records dated after the data cut: 3 LB records (ALT, AST, BILI on an unscheduled
    visit two days after the cut) of the last-treated subject alive at the cut, and one AE
    starting five days after the cut of the subject treated before it."""
    alive = [s for s in subjects if s.treated and (s.death is None or s.death > cut + timedelta(10))
             and s.d0 <= cut]
    alive.sort(key=lambda s: (s.d0, s.n))
    lb_late, ae_late = [], []
    if alive:
        s = alive[-1]
        prev = max((v[1] for v in s.lb_visits), default=1.0)
        lb_late.append((s, cut + timedelta(2), round(prev + 0.1, 2)))
    if len(alive) > 1:
        ae_late.append((alive[-2], cut + timedelta(5)))
    return lb_late, ae_late


def _build(size: str, seed: int, n_subjects: int | None, cut: date) -> tuple[dict[str, pd.DataFrame], dict]:
    subjects = [_hand_subject(sp) for sp in _phase1a_specs()]
    if size in ("phase1b", "load"):
        if size == "phase1b":
            n_extra = EXPANSION_PER_COHORT * len(EXPANSION_COHORTS)
            start, span, sf_prob = date(2026, 12, 7), 240, 0.0
        else:
            total = LOAD_DEFAULT_SUBJECTS if n_subjects is None else int(n_subjects)
            n_extra = total - len(subjects)
            if n_extra < 0:
                raise ValueError(f"n_subjects must be at least {len(subjects)} (the phase IA subjects)")
            start, span, sf_prob = date(2026, 12, 1), 120, 0.08
        for j in range(n_extra):
            n = len(subjects) + 1
            consent = start + timedelta(days=int(j * span / max(n_extra, 1)))
            subjects.append(_random_subject(seed, n, EXPANSION_COHORTS[j % 4], consent, "IB", sf_prob))
    # in the database at the cut: treated on or before it, or screen failure decided by it
    subjects = [s for s in subjects
                if (s.sf is not None and s.consent + timedelta(days=7) <= cut) or (s.d0 is not None and s.d0 <= cut)]
    if not subjects:
        raise ValueError(f"no subject was screened and treated (or failed screening) by the data cut {cut}")
    for s in subjects:
        _demographics(s, seed)
        _schedule(s, seed, cut)
        if s.treated:
            _make_lesions(s, seed)
        _tumour(s, seed, cut)
        _fate(s, seed)
        _lb_schedule(s, cut)
        _lb_params(s, seed)
    lb_late, ae_late = _late_records(subjects, cut)

    frames: dict[str, pd.DataFrame] = {}
    # DM / SUPPDM
    dm_rows, supp_rows = [], []
    for s in subjects:
        dead = s.death is not None and s.death <= cut
        if s.treated:
            first = f"{s.ex[0]['date'].isoformat()}T{s.ex[0]['start']}"
            last = f"{s.ex[-1]['date'].isoformat()}T{s.ex[-1]['start']}"
        else:
            first = last = ""
        if s.sf:
            armcd, arm, act, actarm, actud = "SCRNFAIL", "Screen Failure", "SCRNFAIL", "Screen Failure", ""
        else:
            armcd = s.arm
            arm = f"CAR-NK HAI 3x10^9 cells + CAR-T IV {DOSE_LABEL[s.arm]} cells/kg ({s.arm})"
            if s.cart and s.t1 is not None:
                act, actarm, actud = armcd, arm, ""
            elif s.cart:
                act, actarm, actud = "NOTASSGN", "Not Assigned", "CAR-T not yet given at the data cut"
            else:
                act, actarm, actud = "NOTASSGN", "Not Assigned", "CAR-NK (HAI) only; CAR-T not given"
        dm_rows.append({
            "STUDYID": STUDYID, "DOMAIN": "DM", "USUBJID": s.usubjid, "SUBJID": s.subjid, "RFSTDTC": first,
            "RFENDTC": last, "RFXSTDTC": first, "RFXENDTC": last, "RFICDTC": s.consent.isoformat(),
            "RFPENDTC": "",
            "DTHDTC": (s.death.isoformat()[:7] if s.death_partial else s.death.isoformat()) if dead else "",
            "DTHFL": "Y" if dead else "", "SITEID": SITEID, "SUBJINIT": s.initials, "BRTHDTC": s.birth.isoformat(),
            "AGE": str(s.age), "AGEU": "YEARS", "SEX": s.sex, "RACE": s.race, "ETHNIC": "NOT HISPANIC OR LATINO",
            "ARMCD": armcd, "ARM": arm, "ACTARMCD": act, "ACTARM": actarm, "ACTARMUD": actud, "COUNTRY": "CHN",
            "DMDTC": s.consent.isoformat(),
        })
        q = [("PHASE", "Trial Phase", s.phase), ("COHORT", "Histology Cohort", s.cohort),
             ("HISTOL", "Tumour Histology", s.histol)]
        if s.treated:
            q.append(("NKSRC", "CAR-NK Cell Source", s.nksrc))
        for qnam, qlabel, qval in q:
            supp_rows.append({"STUDYID": STUDYID, "RDOMAIN": "DM", "USUBJID": s.usubjid, "IDVAR": "", "IDVARVAL": "",
                              "QNAM": qnam, "QLABEL": qlabel, "QVAL": qval, "QORIG": "CRF", "QEVAL": ""})
    frames["dm"] = pd.DataFrame(dm_rows, columns=_COLUMNS["dm"])
    frames["suppdm"] = pd.DataFrame(supp_rows, columns=_COLUMNS["suppdm"])

    # EX
    ex = []
    for s in subjects:
        recs = []
        for e in s.ex:
            if e["date"] > cut:
                continue
            nk = e["trt"] == "NKG2D CAR-NK"
            recs.append({"EXTRT": e["trt"], "EXDOSE": str(e["dose"]), "EXDOSU": "cells" if nk else "cells/kg",
                         "EXDOSFRM": "SUSPENSION", "EXROUTE": "INTRA-ARTERIAL" if nk else "INTRAVENOUS",
                         "EXLOC": "HEPATIC ARTERY" if nk else "", "EXSCAT": e["scat"], "VISITNUM": _vn(e["vn"]),
                         "VISIT": e["visit"], "EXSTDTC": f"{e['date'].isoformat()}T{e['start']}",
                         "EXENDTC": f"{e['date'].isoformat()}T{e['end']}"})
        ex.append((s, recs))
    frames["ex"] = _frame("ex", ex)

    # AE / SUPPAE
    ae, suppae = [], []
    ae_by_subject = {}
    late_ae_subject = {id(s): dt for s, dt in ae_late}
    for s in subjects:
        recs = _ae_records(s, seed, cut)
        if id(s) in late_ae_subject:
            dt = late_ae_subject[id(s)]
            recs.append({"AETERM": "Fatigue", "AEDECOD": "Fatigue", "AEBODSYS": SOC["Fatigue"],
                         "AESTDTC": dt.isoformat(), "AEENDTC": "", "AETOXGR": "1", "AESER": "N", "AESHOSP": "N",
                         "AEREL": "UNLIKELY RELATED", "AEOUT": "NOT RECOVERED/NOT RESOLVED",
                         "AEACN": "NOT APPLICABLE", "AEDLT": "", "AERELPRD": "", "AEGRSCL": "CTCAE V5.0",
                         "_start": dt})
        recs.sort(key=lambda r: (r["_start"], r["AEDECOD"], r["AETOXGR"]))
        ae_by_subject[id(s)] = recs
        ae.append((s, recs))
        for i, r in enumerate(recs, start=1):
            for qnam, qlabel in (("AEDLT", "Dose-Limiting Toxicity"), ("AERELPRD", "Related Product or Procedure"),
                                 ("AEGRSCL", "Grading Scale")):
                if r[qnam]:
                    suppae.append({"STUDYID": STUDYID, "RDOMAIN": "AE", "USUBJID": s.usubjid, "IDVAR": "AESEQ",
                                   "IDVARVAL": str(i), "QNAM": qnam, "QLABEL": qlabel, "QVAL": r[qnam],
                                   "QORIG": "CRF", "QEVAL": "INVESTIGATOR" if qnam == "AEDLT" else ""})
    frames["ae"] = _frame("ae", ae)
    frames["suppae"] = pd.DataFrame(suppae, columns=_COLUMNS["suppae"])

    # LB
    idx = {id(s): i for i, s in enumerate(subjects)}
    frames["lb"] = _build_lb(subjects, seed, cut, [(idx[id(s)], dt, vn) for s, dt, vn in lb_late])[_COLUMNS["lb"]]

    # TU / TR / RS
    tu, tr, rs = [], [], []
    for s in subjects:
        a, b, c = _tu_tr_rs(s)
        tu.append((s, sorted(a, key=lambda r: (r["_o"][0], _lnk_order(r["_o"][1])))))
        tr.append((s, sorted(b, key=lambda r: (r["_o"][0], _lnk_order(r["_o"][1]), r["TRTESTCD"]))))
        rs.append((s, sorted(c, key=lambda r: r["_o"])))
    frames["tu"], frames["tr"], frames["rs"] = _frame("tu", tu), _frame("tr", tr), _frame("rs", rs)

    frames["ds"] = _frame("ds", [(s, sorted(_ds_records(s, cut), key=lambda r: (r["_o"], r["DSSCAT"])))
                                 for s in subjects])
    frames["mi"] = _frame("mi", [(s, _mi_records(s, seed)) for s in subjects])
    frames["pc"] = _frame("pc", [(s, sorted(_pc_records(s, seed, cut),
                                            key=lambda r: (r["PCDTC"], r["PCSPEC"], r["PCREFID"], r["PCTESTCD"])))
                                 for s in subjects])
    frames["cm"] = _frame("cm", [(s, sorted(_cm_records(s, seed, cut, ae_by_subject[id(s)]),
                                            key=lambda r: (r["CMCAT"] != "PRIOR CANCER THERAPY", r["_o"],
                                                           r["CMGRPID"], r["CMDECOD"])))
                                 for s in subjects])
    frames["ss"] = _frame("ss", [(s, _ss_records(s, seed, cut)) for s in subjects])
    frames["vs"] = _frame("vs", [(s, sorted(_vs_records(s, seed, cut), key=lambda r: (r["_o"], r["VSTESTCD"])))
                                 for s in subjects])
    qs, eg, cv = [], [], []
    for s in subjects:
        a, b, c = _qs_eg_cv(s, seed, cut)
        qs.append((s, a))
        eg.append((s, b))
        cv.append((s, c))
    frames["qs"], frames["eg"], frames["cv"] = _frame("qs", qs), _frame("eg", eg), _frame("cv", cv)
    _set_rfpendtc(frames, cut)
    facts = _facts(subjects, frames, cut, lb_late, ae_late)
    return frames, facts


def _set_rfpendtc(frames: dict[str, pd.DataFrame], cut: date) -> None:
    """DM RFPENDTC = the latest full date of any record of the subject on or before the cut."""
    parts = []
    for code, f in frames.items():
        if code in ("dm", "suppdm", "suppae") or not len(f):
            continue
        for col in [c for c in f.columns if c.endswith("DTC") and c not in ("PCRFTDTC",)]:
            d = f[col].astype(str).str[:10]
            ok = (d.str.len() == 10) & (d <= cut.isoformat())
            parts.append(pd.DataFrame({"USUBJID": f.loc[ok, "USUBJID"].to_numpy(), "d": d[ok].to_numpy()}))
    dm = frames["dm"]
    parts.append(pd.DataFrame({"USUBJID": dm["USUBJID"], "d": dm["RFICDTC"]}))
    last = pd.concat(parts).groupby("USUBJID")["d"].max()
    rf = dm["USUBJID"].map(last).fillna("")
    # end of participation: the death date for subjects who died (DS and SS record it later)
    dm["RFPENDTC"] = np.where(dm["DTHDTC"] != "", dm["DTHDTC"], rf)


# --------------------------------------------------------------------------------------------
# planted facts
# --------------------------------------------------------------------------------------------

def _facts(subjects: list[Subject], frames: dict[str, pd.DataFrame], cut: date, lb_late, ae_late) -> dict:
    dm = frames["dm"]
    ex = frames["ex"]
    cart = ex[ex["EXTRT"] == "NKG2D CAR-T"]
    first_level = cart.drop_duplicates("USUBJID").set_index("USUBJID")["EXDOSE"].map(
        {str(v): k for k, v in DOSE_LEVELS.items()})
    per_level = {lv: int((first_level == lv).sum()) for lv in DOSE_LEVELS}
    ae = frames["ae"]
    supp = frames["suppae"]
    dlt = supp[(supp["QNAM"] == "AEDLT") & (supp["QVAL"] == "Y")]
    dlt_rows = []
    for _, r in dlt.iterrows():
        a = ae[(ae["USUBJID"] == r["USUBJID"]) & (ae["AESEQ"] == r["IDVARVAL"])].iloc[0]
        dlt_rows.append({"USUBJID": r["USUBJID"], "level": first_level.get(r["USUBJID"], ""),
                         "AESEQ": int(r["IDVARVAL"]), "AEDECOD": a["AEDECOD"], "AETOXGR": a["AETOXGR"],
                         "AESTDTC": a["AESTDTC"]})
    dlt_per_level = {lv: sum(1 for d in dlt_rows if d["level"] == lv) for lv in DOSE_LEVELS}
    by_id = {s.usubjid: s for s in subjects}
    disagreements = []
    for s in subjects:
        for a in s.assessments:
            if a.inv_ovr != a.ovr:
                disagreements.append({"USUBJID": s.usubjid, "VISIT": f"TUMOR ASSESSMENT {a.k}", "RSDTC": a.rsdtc,
                                      "investigator": a.inv_ovr, "recomputed": a.ovr,
                                      "target_sum_pct_change": round(100 * (a.frac - 1), 1)})
    partial = []
    for code, f in frames.items():
        if code == "cm":
            continue
        for col in [c for c in f.columns if c.endswith("DTC")]:
            vals = f[col].astype(str)
            m = (vals.str.len() > 0) & (vals.str.len() < 10)
            for _, r in f.loc[m].iterrows():
                rec = {"domain": code.upper(), "USUBJID": r["USUBJID"], "variable": col, "value": r[col]}
                for extra in ("AEDECOD", "RSTESTCD", "VISIT", "DSDECOD"):
                    if extra in f.columns:
                        rec[extra] = r[extra]
                partial.append(rec)
    cm = frames["cm"]
    cm_partial = int(((cm["CMSTDTC"].str.len() < 10) & (cm["CMSTDTC"].str.len() > 0)).sum()) if len(cm) else 0
    after = []
    cut_s = cut.isoformat()
    for code, f in frames.items():
        for col in [c for c in f.columns if c.endswith("DTC") and c not in ("DSDTC",)]:
            vals = f[col].astype(str).str[:10]
            m = (vals.str.len() == 10) & (vals > cut_s)
            for _, r in f.loc[m].iterrows():
                what = r.get("LBTESTCD") or r.get("AEDECOD") or ""
                after.append({"domain": code.upper(), "USUBJID": r["USUBJID"], "variable": col,
                              "value": r[col], "what": what})
    deviations = []
    for s in subjects:
        if not s.treated or not s.hand:
            continue
        for (visit, code), v in sorted(s.lb_over.items()):
            if visit in ("SCREENING", "NK DAY 0") and code in ("PLT", "PROT"):
                deviations.append({"USUBJID": s.usubjid, "criterion": "platelets >= 60 x10^9/L" if code == "PLT"
                                   else "urine protein below 2+", "domain": "LB", "test": code, "visit": visit,
                                   "value": v})
        for (visit, code), v in sorted(s.vs_over.items()):
            deviations.append({"USUBJID": s.usubjid, "criterion": "SpO2 > 95%", "domain": "VS", "test": code,
                               "visit": visit, "value": v})
        if s.qtcf is not None and s.qtcf > (450 if s.sex == "M" else 470):
            deviations.append({"USUBJID": s.usubjid, "criterion": f"QTcF <= {450 if s.sex == 'M' else 470} ms ({s.sex})",
                               "domain": "EG", "test": "QTCF", "visit": "SCREENING", "value": s.qtcf})
    edge_met = []
    for s in subjects:
        if s.treated and "CREAT" in s.lb_base:
            scr = s.lb_over.get(("NK DAY 0", "CREAT"))
            crcl = (140 - s.age) * s.weight / (72 * scr / 88.4) * (0.85 if s.sex == "F" else 1.0)
            edge_met.append({"USUBJID": s.usubjid, "criterion": "creatinine <= 1.5 x ULN or CrCl > 50 mL/min",
                             "creatinine_umol_L": scr, "uln": _uln("CREAT", s.sex),
                             "x_uln": round(scr / _uln("CREAT", s.sex), 2), "age": s.age, "weight_kg": s.weight,
                             "sex": s.sex, "crcl_ml_min": round(crcl, 1), "met": True})
    deaths = dm.loc[dm["DTHFL"] == "Y", ["USUBJID", "DTHDTC"]].to_dict("records")
    sae = ae.loc[ae["AESER"] == "Y", ["USUBJID", "AESEQ", "AEDECOD", "AETOXGR", "AESTDTC"]].to_dict("records")
    mi = frames["mi"]
    mi_missing = sorted(set(dm["USUBJID"]) - set(mi["USUBJID"]))
    mi_edge = sorted(s.usubjid for s in subjects if s.mi == "edge")
    sd_early = []
    for s in subjects:
        for a in s.assessments:
            if a.inv_ovr == "SD" and (a.dt - s.d0).days < 42 and len(s.assessments) == 1:
                sd_early.append({"USUBJID": s.usubjid, "RSDTC": a.rsdtc, "days_after_first_infusion": (a.dt - s.d0).days})
    responses = {}
    for s in subjects:
        if s.assessments:
            responses[s.usubjid] = " ".join(a.inv_ovr for a in s.assessments)
    triggers = []
    for s in subjects:
        if s.hand and s.treated and s.t1 is not None:
            for g, cyc, onset, _ in s.crs:
                if g >= 2 and cyc == 1:
                    triggers.append({"USUBJID": s.usubjid, "level": s.arm, "event": f"CRS grade {g}",
                                     "date": (s.t1 + timedelta(days=onset)).isoformat()})
    return {
        "n_subjects_dm": int(len(dm)),
        "phase_counts": {k: int(v) for k, v in frames["suppdm"].loc[frames["suppdm"]["QNAM"] == "PHASE", "QVAL"]
                         .value_counts().sort_index().items()},
        "armcd_counts": {k: int(v) for k, v in dm["ARMCD"].value_counts().sort_index().items()},
        "screen_failures": sorted(dm.loc[dm["ARMCD"] == "SCRNFAIL", "USUBJID"]),
        "car_nk_only": sorted(dm.loc[dm["ACTARMCD"] == "NOTASSGN", "USUBJID"]),
        "car_t_subjects_per_level": per_level,
        "dlt_per_level": dlt_per_level,
        "dlts": dlt_rows,
        "trigger_events_phase1a": triggers[:20],
        "serious_adverse_events": sae[:50],
        "deaths": deaths[:50],
        "investigator_responses_phase1a": {k: v for k, v in responses.items() if by_id[k].hand},
        "rs_disagreements": disagreements[:50],
        "sd_before_day_42": sd_early[:20],
        "eligibility_deviations": deviations,
        "eligibility_met_by_creatinine_clearance": edge_met,
        "after_data_cut": after,
        "partial_dates": partial[:100],
        "cm_partial_start_dates": cm_partial,
        "mi_missing": mi_missing[:50],
        "mi_max_hscore_exactly_100": mi_edge,
    }


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------

_XPT_DATE_RE = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df = df.fillna("").astype(str)
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_xpt(df: pd.DataFrame, code: str, path: Path, stamp: date) -> None:
    import pyreadstat

    out = df.copy()
    for c in out.columns:
        if c in _XPT_NUMERIC[code]:
            out[c] = pd.to_numeric(out[c].replace("", np.nan), errors="coerce").astype(float)
        else:
            out[c] = out[c].fillna("").astype(str)
        if len(c) > 8:
            raise ValueError(f"{code}: variable name {c} longer than 8 characters")
    labels = [_LABELS.get(c, c) for c in out.columns]
    pyreadstat.write_xport(out, str(path), table_name=code.upper(), file_format_version=5,
                           column_labels=labels, file_label="")
    data = path.read_bytes()
    obs = data.find(b"HEADER RECORD*******OBS     HEADER RECORD")
    head, body = data[:obs], data[obs:]
    fixed = f"{stamp.day:02d}{_MONTHS[stamp.month - 1]}{stamp.year % 100:02d}:00:00:00".encode()
    head = _XPT_DATE_RE.sub(fixed, head)
    path.write_bytes(head + body)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_replaceable(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    others = [p.name for p in out_dir.iterdir() if not _DOMAIN_FILE_RE.match(p.name)]
    if others:
        raise FileExistsError(f"{out_dir} exists and holds files that are not domain files "
                              f"({', '.join(sorted(others)[:5])}); refusing to replace it")


def generate_export(out_dir: str | os.PathLike, seed: int = DEFAULT_SEED, size: str = "phase1a",
                    n_subjects: int | None = None, data_cut: str | None = None) -> dict:
    """Write a synthetic export of the trial into ``out_dir`` and return a summary (subjects
    per dose level, DLTs and every planted fact, files with SHA-256).

    ``data_cut`` defaults to 2026-10-31 for phase1a and 2027-10-31 for phase1b and load.
    ``n_subjects`` (subjects in DM) applies to ``size="load"`` only (default 2,000).
    An existing ``out_dir`` is replaced only if it holds nothing but domain files.
    """
    t_start = time.perf_counter()
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    if n_subjects is not None and size != "load":
        raise ValueError("n_subjects applies to size='load' only")
    if int(seed) < 0:
        raise ValueError("seed must be a non-negative integer")
    cut_s = data_cut or DEFAULT_DATA_CUT[size]
    cut = _d(cut_s)
    out_dir = Path(out_dir).resolve()
    _check_replaceable(out_dir)
    frames, facts = _build(size, int(seed), n_subjects, cut)
    t_built = time.perf_counter()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    for p in (tmp, old):
        if p.exists():
            shutil.rmtree(p)
    tmp.mkdir()
    files: dict[str, dict] = {}
    try:
        for code in DOMAIN_FILES:
            df = frames[code]
            if code in XPT_DOMAINS:
                name = f"{code}.xpt"
                _write_xpt(df, code, tmp / name, cut)
            else:
                name = f"{code}.csv"
                _write_csv(df, tmp / name)
            files[name] = {"rows": int(len(df))}
        for name in files:
            files[name]["sha256"] = _sha256(tmp / name)
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out_dir.exists():
            old.rename(out_dir)
        raise
    t_end = time.perf_counter()
    summary = {"out_dir": str(out_dir), "size": size, "seed": int(seed), "data_cut": cut_s,
               "study": STUDYID, "rp2d": RP2D, **facts, "files": files,
               "seconds": {"build": round(t_built - t_start, 2), "write": round(t_end - t_built, 2),
                           "total": round(t_end - t_start, 2)}}
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="export folder to write (replaced if it holds only domain files)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--size", choices=SIZES, default="phase1a")
    ap.add_argument("--n-subjects", type=int, default=None, help="subjects in DM (size load only; default 2000)")
    ap.add_argument("--data-cut", default=None, help="YYYY-MM-DD (default 2026-10-31 phase1a, 2027-10-31 otherwise)")
    a = ap.parse_args(argv)
    try:
        summary = generate_export(a.out, seed=a.seed, size=a.size, n_subjects=a.n_subjects, data_cut=a.data_cut)
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    json.dump(summary, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
