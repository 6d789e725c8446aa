"""Subgroup analyses (SAP §8, interim, exploratory) and the baseline characteristics
by dose level (T-DEMO): the factors as data, the statistics, the ARD rows.

Factors come from config ``subgroups.factors`` (SAP §8 defaults in
``DEFAULT_FACTORS``): each names the ADSL variable that holds its levels (derived in
ADSL with the cut-offs of ``subgroups``), the SDTM domain its data come from, and
optionally the level order, level labels, a continuous companion variable, a detail
variable listed within each level and the cut-off setting it depends on.

Population: the efficacy-evaluable set (EFFFL = Y). A missing value is a level of its
own (``Missing``), shown but left out of the between-level tests, except where the
factor says the missing value is a real level (DOSELVL: no CAR-T). Per level: n, ORR
(confirmed CR+PR, ADRS CBOR) and DCR (CR+PR+SD) with Clopper-Pearson CIs, Kaplan-Meier
median PFS with the Brookmeyer-Crowley log-log CI (``analysis.efficacy.km_stats``, the
efficacy stage's estimator). Between levels:

* ORR: Fisher's exact test (two-sided; 2x2 by ``scipy.stats.fisher_exact``); with more
  than two levels its Freeman-Halton extension to the r x 2 table (``freeman_halton``),
  p = the sum of the probabilities of all tables with the observed margins that are
  no more probable than the observed one (the same two-sided rule as the 2x2 test).
* PFS: the hazard ratio of each level against the reference level, by a Cox model
  fitted to the subjects of those two levels (lifelines ``CoxPHFitter``, Efron's
  method for ties -- lifelines' only method -- with a tight convergence tolerance),
  Wald 95% CI and p. Not estimable, with the reason, when a level has no subject or
  no event, when the partial likelihood is monotone (separation: the maximum
  likelihood estimate is infinite; checked exactly, ``monotone_likelihood``), or when
  the fit does not converge.

ARD (results contract; ``group`` = the factor's ADSL variable):

analysis      group_level           variable  stats
subgroup      all                   FACTOR    id label variable domain analysable n n_missing n_levels
                                              reference cutoff cutoff_text detail (reason)
subgroup      <level>               LEVEL     label order n small missing
subgroup      <level>               <detail>  n per variable_level (e.g. HISTOL within COHORT)
orr, dcr      <level>               CBOR      n_resp n estimate lcl ucl (reason)  -- not for DOSELVL/overall,
                                                                                     which the efficacy stage writes
subgroup_km   <level> / overall     PFS       n events censored median median_lcl median_ucl (reason)
fisher        all                   CBOR      p method n_levels (reason)
cox           <level> (vs ref)      PFS       hr hr_lcl hr_ucl p reference n events method (reason)
demog         DOSELVL level/overall N, VAR    n; categories: n per variable_level; continuous:
                                              n n_missing mean sd median min max
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import gammaln
from scipy.stats import fisher_exact

from analysis.ard import OVERALL, NO_CART, dose_groups, frame, rows
from analysis.stats import compute_clopper_pearson

MISSING = "Missing"
ALL = "all"
FACTOR = "FACTOR"
LEVEL = "LEVEL"
ORR_CATS = ("CR", "PR")
DCR_CATS = ("CR", "PR", "SD")
# orr/dcr rows of these groups are written by the efficacy stage (same keys).
EFFICACY_GROUPS = {OVERALL, "DOSELVL"}
KM_KEEP = ("n", "events", "censored", "median", "median_lcl", "median_ucl")
# Enumeration limit of the Freeman-Halton test (partial tables kept in memory).
FH_MAX_TABLES = 5_000_000

# SAP §8 defaults, used when config `subgroups.factors` is absent.
DEFAULT_FACTORS = [
    {"id": "histology", "label": "Tumour histology (cohort)", "variable": "COHORT", "domain": "DM",
     "detail": "HISTOL", "levels": ["CRC", "GC", "EC", "OTHER"], "keep_empty_levels": False,
     "level_labels": {"CRC": "Colorectal", "GC": "Gastric", "EC": "Oesophageal", "OTHER": "Other"}},
    {"id": "nkg2d_ligand", "label": "NKG2D ligand expression", "variable": "NKGLGR", "domain": "MI",
     "continuous": "NKGLHS", "cutoff": "nkg2dl_high_hscore", "level_labels": {"LOW": "Low", "HIGH": "High"}},
    {"id": "prior_regimens", "label": "Prior treatment regimens", "variable": "PRIORGR", "domain": "CM",
     "continuous": "PRIORREG", "cutoff": "prior_regimens_max_low"},
    {"id": "tumour_burden", "label": "Baseline tumour burden", "variable": "BSLDGR",
     "domain": "TR", "continuous": "BSLD", "cutoff": "tumour_burden_cut"},
    {"id": "cea", "label": "Baseline CEA", "variable": "CEAGR", "domain": "LB", "continuous": "CEABL"},
    {"id": "ca199", "label": "Baseline CA19-9", "variable": "CA199GR", "domain": "LB", "continuous": "CA199BL"},
    {"id": "glr", "label": "Granulocyte-to-lymphocyte ratio", "variable": "GLRGR", "domain": "LB",
     "continuous": "GLRBL", "cutoff": "glr_cutoff"},
    {"id": "liver_only", "label": "Metastatic sites: liver only", "variable": "LIVONLY", "domain": "TU",
     "levels": ["Y", "N"], "level_labels": {"Y": "Liver only", "N": "Liver and extrahepatic"}},
    {"id": "organ_sites", "label": "Metastatic organ sites", "variable": "SITESGR", "domain": "TU",
     "continuous": "METSITES", "cutoff": "organ_sites_max_low"},
    {"id": "dose_level", "label": "CAR-T dose level (actual)", "variable": "DOSELVL", "domain": "EX",
     "missing_level": NO_CART, "missing_is_level": True, "level_labels": {NO_CART: "No CAR-T"}},
]


@dataclass(frozen=True)
class Factor:
    id: str
    label: str
    variable: str
    domain: str | None = None
    levels: tuple[str, ...] | None = None
    level_labels: dict = field(default_factory=dict)
    keep_empty_levels: bool = True
    reference: str = "first"
    continuous: str | None = None
    detail: str | None = None
    cutoff: str | None = None
    missing_level: str = MISSING
    missing_is_level: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> "Factor":
        return cls(id=d["id"], label=d.get("label", d["id"]), variable=d["variable"], domain=d.get("domain"),
                   levels=tuple(str(x) for x in d["levels"]) if d.get("levels") else None,
                   level_labels={str(k): str(v) for k, v in (d.get("level_labels") or {}).items()},
                   keep_empty_levels=bool(d.get("keep_empty_levels", True)),
                   reference=str(d.get("reference", "first")), continuous=d.get("continuous"),
                   detail=d.get("detail"), cutoff=d.get("cutoff"),
                   missing_level=str(d.get("missing_level", MISSING)),
                   missing_is_level=bool(d.get("missing_is_level", False)))


def factors_from_config(cfg: dict) -> list[Factor]:
    sub = cfg.get("subgroups") or {}
    return [Factor.from_dict(d) for d in (sub.get("factors") or DEFAULT_FACTORS)]


# --------------------------------------------------------------------------- levels

def expected_levels(f: Factor, cfg: dict) -> list[str]:
    """The levels a factor can take, in display order (the first is the default
    reference): the configured list, else the levels ADSL derives from the cut-offs
    (analysis.adsl), low before high."""
    if f.levels:
        return list(f.levels)
    sub = cfg.get("subgroups") or {}
    v = f.variable
    if v == "DOSELVL":
        return list(cfg.get("dose_levels") or [])
    if v == "NKGLGR":
        return ["LOW", "HIGH"]
    if v == "PRIORGR":
        lo = int(sub.get("prior_regimens_max_low", 2))
        return [f"<={lo}", f">={lo + 1}"]
    if v == "BSLDGR":
        return ["<=cut-off", ">cut-off"]
    if v in ("CEAGR", "CA199GR"):
        return ["<=ULN", ">ULN"]
    if v == "GLRGR":
        g = float(sub.get("glr_cutoff", 3))
        return [f"<{g:g}", f">={g:g}"]
    if v == "SITESGR":
        m = int(sub.get("organ_sites_max_low", 2))
        return [f"1-{m}", f">={m + 1}"]
    if v == "LIVONLY":
        return ["Y", "N"]
    return []


def _low_first(level: str) -> tuple:
    return (1 if level.startswith(">") else 0, level)


def pretty_level(level: str) -> str:
    """'<=2' -> '≤2', '>=3' -> '≥3', '1-2' -> '1–2'."""
    s = level.replace("<=", "\u2264").replace(">=", "\u2265")
    return re.sub(r"(?<=\d)-(?=\d)", "\u2013", s)


def level_label(f: Factor, level: str, cutoff: float | None = None) -> str:
    if level in f.level_labels:
        return f.level_labels[level]
    if level == f.missing_level:
        return MISSING if f.missing_level == MISSING else level
    if f.variable == "BSLDGR" and cutoff is not None and not math.isnan(cutoff):
        return {"<=cut-off": f"\u2264{cutoff:.1f} mm", ">cut-off": f">{cutoff:.1f} mm"}.get(level, level)
    return pretty_level(level)


def cutoff_text(f: Factor, cfg: dict, cutoff: float | None) -> str:
    """The cut-off of a factor as printed with its result."""
    sub = cfg.get("subgroups") or {}
    k = f.cutoff
    if k == "nkg2dl_high_hscore":
        return f"high if the highest NKG2D-ligand H-score is \u2265{float(sub.get(k, 100)):g}"
    if k == "prior_regimens_max_low":
        return f"low: \u2264{int(sub.get(k, 2))} distinct prior regimens"
    if k == "tumour_burden_cut":
        rule = sub.get(k, "median")
        if cutoff is None or math.isnan(cutoff):
            return "cut-off not available (no baseline target sum in the efficacy-evaluable set)"
        if rule == "median":
            return f"cut-off = median baseline target sum of the efficacy-evaluable set, {cutoff:.1f} mm"
        return f"cut-off {cutoff:.1f} mm (setting subgroups.tumour_burden_cut)"
    if k == "glr_cutoff":
        return f"neutrophils \u00f7 lymphocytes at baseline, high if \u2265{float(sub.get(k, 3)):g}"
    if k == "organ_sites_max_low":
        return f"low: \u2264{int(sub.get(k, 2))} organ sites with baseline lesions"
    if f.variable in ("CEAGR", "CA199GR"):
        return "baseline value against the laboratory's upper limit of normal (ULN)"
    return ""


@dataclass
class Levels:
    """A factor's levels in the analysis set: ordered codes, subject masks, labels."""
    order: list[str]
    masks: dict[str, pd.Series]
    labels: dict[str, str]
    missing: str | None          # code of the missing level when it has subjects
    tested: list[str]            # levels entering the between-level tests (n > 0)
    reference: str | None


def factor_levels(adsl: pd.DataFrame, inset: pd.Series, f: Factor, cfg: dict,
                  cutoff: float | None = None) -> Levels:
    """Levels of factor ``f`` among the subjects of ``inset`` (a boolean mask)."""
    val = adsl[f.variable].astype("string")
    expected = expected_levels(f, cfg)
    present = [x for x in pd.unique(val[inset].dropna()) if x != f.missing_level]
    extra = sorted((x for x in present if x not in expected), key=_low_first)
    order = [x for x in expected if f.keep_empty_levels or x in present] + extra
    masks = {lvl: inset & val.eq(lvl).fillna(False) for lvl in order}
    miss_mask = inset & (val.isna() | val.eq(f.missing_level).fillna(False))
    missing = None
    if miss_mask.any() or f.missing_is_level:
        missing = f.missing_level
        masks[missing] = miss_mask
        order = order + [missing]
    labels = {lvl: level_label(f, lvl, cutoff) for lvl in order}
    tested = [lvl for lvl in order if (lvl != missing or f.missing_is_level) and masks[lvl].any()]
    # Reference of the hazard ratios: the first (or the largest) level with subjects, or
    # the level named in the factor's settings.
    if f.reference == "first":
        ref = tested[0] if tested else None
    elif f.reference == "largest":
        ref = max(tested, key=lambda x: (int(masks[x].sum()), -tested.index(x))) if tested else None
    else:
        ref = f.reference if f.reference in order else None
    return Levels(order, masks, labels, missing, tested, ref)


# --------------------------------------------------------------------------- Fisher

def _log_comb(n, k):
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def freeman_halton(n_resp: list[int], n: list[int], max_tables: int = FH_MAX_TABLES) -> float:
    """Exact two-sided p of independence in an r x 2 table (responders / non-responders
    by level): Freeman-Halton's extension of Fisher's exact test. The probability of a
    table with the observed margins is prod C(n_i, x_i) / C(N, K) (multivariate
    hypergeometric); p = the sum over the tables no more probable than the observed one
    (relative tolerance 1e-7, as scipy and R). For r = 2 this is Fisher's test.

    Raises OverflowError when more than ``max_tables`` partial tables would be enumerated."""
    x = [int(v) for v in n_resp]
    n = [int(v) for v in n]
    if any(k < 0 or k > m for k, m in zip(x, n)):
        raise ValueError(f"impossible table: responders {x} of {n}")
    N, K = sum(n), sum(x)
    obs = float(np.sum(_log_comb(n, x)))
    s = np.zeros(1, dtype=np.int64)
    lp = np.zeros(1)
    rest = np.cumsum(n[::-1])[::-1]          # rest[i] = sum(n[i:])
    for i, m in enumerate(n[:-1]):
        k = np.arange(m + 1)
        s = (s[:, None] + k[None, :]).ravel()
        lp = (lp[:, None] + _log_comb(m, k)[None, :]).ravel()
        keep = (s <= K) & (s >= K - rest[i + 1])
        s, lp = s[keep], lp[keep]
        if len(s) > max_tables:
            raise OverflowError(f"more than {max_tables} tables to enumerate")
    last = K - s
    lp = lp + _log_comb(n[-1], last)
    total = float(_log_comb(N, K))
    logp = lp - total
    p = float(np.exp(logp[logp <= obs - total + math.log1p(1e-7)]).sum())
    return min(p, 1.0)


@dataclass(frozen=True)
class TestResult:
    p: float | None
    method: str
    reason: str | None = None


def fisher_test(n_resp: list[int], n: list[int], labels: list[str]) -> TestResult:
    """Fisher's exact test of ORR between levels (levels with n > 0 only)."""
    use = [(k, m, lab) for k, m, lab in zip(n_resp, n, labels) if m > 0]
    method = "Fisher's exact test, two-sided" if len(use) == 2 else "Freeman-Halton extension of Fisher's exact test"
    if len(use) < 2:
        only = f" (all subjects in {use[0][2]})" if use else ""
        return TestResult(None, method, f"not computed: fewer than two levels with subjects{only}")
    k = sum(u[0] for u in use)
    tot = sum(u[1] for u in use)
    if k == 0 or k == tot:
        what = "no responder" if k == 0 else "every subject responded"
        return TestResult(None, method, f"not computed: {what} in the compared levels (degenerate table, p = 1)")
    if len(use) == 2:
        (a, m1, _), (b, m2, _) = use
        p = float(fisher_exact([[a, m1 - a], [b, m2 - b]], alternative="two-sided").pvalue)
        return TestResult(min(p, 1.0), method)
    try:
        return TestResult(freeman_halton([u[0] for u in use], [u[1] for u in use]), method)
    except OverflowError as err:
        return TestResult(None, method, f"not computed: {err} (table too large for exact enumeration)")


# --------------------------------------------------------------------------- Cox

@dataclass(frozen=True)
class CoxResult:
    hr: float | None
    lcl: float | None
    ucl: float | None
    p: float | None
    n: int
    events: int
    reason: str | None = None


# Newton-Raphson settings of lifelines, tried in turn: its defaults stop when the
# log-likelihood changes by less than 1e-9 (relative), which leaves the coefficient off
# in the fourth to sixth digit; here the step (or the Newton decrement) must be below 1e-14.
FIT_OPTIONS = ({"precision": 1e-14, "r_precision": 1e-14, "max_steps": 200},
               {"precision": 1e-14, "r_precision": 1e-14, "max_steps": 500, "step_size": 0.5},
               {"precision": 1e-14, "r_precision": 1e-14, "max_steps": 2000, "step_size": 0.1})
# lifelines' warnings of a fit that must not be trusted.
NOT_CONVERGED = ("norm(delta) is still high", "failed to converge", "suspiciously close to 0")
COX_METHOD = ("Cox proportional hazards model of the two levels (lifelines CoxPHFitter, Efron ties), "
              "Wald 95% CI and p")


def monotone_likelihood(time, event, x) -> int:
    """Is the Cox partial likelihood of a binary covariate monotone (infinite MLE)?

    With x in {0, 1}, the score U(b) decreases in b from its limit at -inf to its limit
    at +inf; the MLE is finite only if some event in x=1 occurs while a subject with x=0
    is at risk (else the likelihood increases as b -> -inf: returns -1) and some event in
    x=0 occurs while a subject with x=1 is at risk (else b -> +inf: returns +1).
    Returns 0 when the MLE is finite."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int).astype(bool)
    x = np.asarray(x, dtype=int)
    last0 = t[x == 0].max() if (x == 0).any() else -np.inf
    last1 = t[x == 1].max() if (x == 1).any() else -np.inf
    ev1_vs_0 = bool(np.any(e & (x == 1) & (t <= last0)))
    ev0_vs_1 = bool(np.any(e & (x == 0) & (t <= last1)))
    if not ev1_vs_0:
        return -1
    if not ev0_vs_1:
        return 1
    return 0


def cox_hr(time, event, x, level: str, reference: str) -> CoxResult:
    """Hazard ratio of level (x = 1) against reference (x = 0); not estimable with the
    reason instead of a number from a fit that cannot be trusted."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    x = np.asarray(x, dtype=int)
    n, ev = len(t), int(e.sum())

    def ne(why: str) -> CoxResult:
        return CoxResult(None, None, None, None, n, ev, f"not estimable: {why}")
    n1, n0 = int((x == 1).sum()), int((x == 0).sum())
    if n1 == 0 or n0 == 0:
        return ne(f"no subject in {level if n1 == 0 else reference}")
    e1, e0 = int(e[x == 1].sum()), int(e[x == 0].sum())
    if e1 == 0 and e0 == 0:
        return ne(f"no PFS event in {level} or {reference}")
    if e1 == 0 or e0 == 0:
        return ne(f"no PFS event in {level if e1 == 0 else reference}")
    mono = monotone_likelihood(t, e, x)
    if mono:
        a, b = (level, reference) if mono < 0 else (reference, level)
        return ne(f"monotone likelihood (separation) \u2014 no PFS event in {a} while a subject of {b} was at risk")
    from lifelines import CoxPHFitter
    df = pd.DataFrame({"T": t, "E": e, "X": x.astype(float)})
    # lifelines' Newton-Raphson can overshoot when the likelihood is flat (one event in a
    # level); then it warns, and a shorter step is tried.
    failed = "the Cox fit did not converge"
    for opts in FIT_OPTIONS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                cph = CoxPHFitter().fit(df, "T", "E", fit_options=dict(opts))
            except Exception as err:  # lifelines raises ConvergenceError and linear-algebra errors
                failed = f"the Cox fit failed ({type(err).__name__})"
                continue
        if any(k in str(w.message) for w in caught for k in NOT_CONVERGED):
            continue
        s = cph.summary.loc["X"]
        b, se = float(s["coef"]), float(s["se(coef)"])
        if math.isfinite(b) and math.isfinite(se) and se > 0 and abs(b) <= 15:
            break
    else:
        return ne(failed)
    z = 1.959963984540054
    return CoxResult(math.exp(b), math.exp(b - z * se), math.exp(b + z * se), float(s["p"]), n, ev)


# --------------------------------------------------------------------------- ARD

def _reason_rows(analysis, g, gl, variable, reasons: list[str]) -> list[dict]:
    return rows(analysis, g, gl, variable, "", {"reason": "; ".join(reasons)}) if reasons else []


def _proportion_rows(analysis: str, g: str, gl: str, n_resp: int, n: int) -> list[dict]:
    p = compute_clopper_pearson(n_resp, n)
    recs = rows(analysis, g, gl, "CBOR", "", {"n_resp": n_resp, "n": n, "estimate": p.estimate,
                                             "lcl": p.lcl, "ucl": p.ucl})
    if p.estimate is None:
        recs += _reason_rows(analysis, g, gl, "CBOR", ["estimate, lcl, ucl: no efficacy-evaluable subject in the level"])
    return recs


def _km_rows(g: str, gl: str, aval: pd.Series, cnsr: pd.Series) -> list[dict]:
    from analysis.efficacy import km_stats, parse_reasons
    stats, reasons, _ = km_stats(aval, cnsr, days=())
    keep = {k: stats[k] for k in KM_KEEP}
    why = {k: v for k, v in parse_reasons("; ".join(reasons)).items() if k in KM_KEEP}
    grouped: dict[str, list[str]] = {}
    for stat, text in why.items():
        grouped.setdefault(text, []).append(stat)
    recs = rows("subgroup_km", g, gl, "PFS", "", keep)
    return recs + _reason_rows("subgroup_km", g, gl, "PFS", [f"{', '.join(s)}: {t}" for t, s in grouped.items()])


def _absent_reason(f: Factor, adsl: pd.DataFrame, inset: pd.Series, absent_domains: set[str]) -> str | None:
    dom = (f.domain or "").upper()
    if f.variable not in adsl.columns:
        why = f"ADSL has no variable {f.variable}"
        return why + (f" (the {dom} domain is not in the export)" if dom in absent_domains else "")
    if f.missing_is_level:
        return None
    val = adsl.loc[inset, f.variable].astype("string")
    val = val[val.ne(f.missing_level).fillna(True)]
    if val.notna().any():
        return None
    if dom in absent_domains:
        return f"no data: the {dom} domain is not in the export ({f.variable} missing for every subject)"
    return f"no efficacy-evaluable subject has a value of {f.variable}"


def bsld_cutoff(adsl: pd.DataFrame) -> float:
    if "BSLDCUT" not in adsl.columns:
        return math.nan
    v = pd.to_numeric(adsl["BSLDCUT"], errors="coerce").dropna()
    return float(v.iloc[0]) if len(v) else math.nan


def ard_subgroups(adsl: pd.DataFrame, adrs: pd.DataFrame, adtte: pd.DataFrame, cfg: dict,
                  absent_domains: set[str] | None = None) -> pd.DataFrame:
    """Every ARD row of the subgroup analyses (see the module docstring)."""
    absent = {d.upper() for d in (absent_domains or set())}
    small = int(cfg.get("small_group_n", 3))
    inset = adsl["EFFFL"].eq("Y").fillna(False)
    cbor = adrs[adrs["PARAMCD"].eq("CBOR")].set_index("USUBJID")["AVALC"]
    resp = adsl["USUBJID"].map(cbor).fillna("MISSING").astype(str)
    pfs = adtte[adtte["PARAMCD"].eq("PFS")].drop_duplicates("USUBJID").set_index("USUBJID")
    aval = adsl["USUBJID"].map(pfs["AVAL"]).astype(float)
    cnsr = adsl["USUBJID"].map(pfs["CNSR"])
    has_pfs = aval.notna() & cnsr.notna()
    cut = bsld_cutoff(adsl)

    recs: list[dict] = []
    m = inset & has_pfs
    recs += _km_rows(OVERALL, OVERALL, aval[m], cnsr[m].astype(int))
    for f in factors_from_config(cfg):
        g = f.variable
        head = {"id": f.id, "label": f.label, "variable": f.variable, "domain": f.domain or "",
                "detail": f.detail or "", "n": int(inset.sum())}
        ctext = cutoff_text(f, cfg, cut if f.variable == "BSLDGR" else None)
        if ctext:
            head["cutoff_text"] = ctext
        if f.variable == "BSLDGR":
            head["cutoff"] = cut
        why = _absent_reason(f, adsl, inset, absent)
        if why:
            head.update({"analysable": "N", "reason": f"not analysable: {why}"})
            recs += rows("subgroup", g, ALL, FACTOR, "", head)
            continue
        lv = factor_levels(adsl, inset, f, cfg, cut)
        n_missing = int(lv.masks[lv.missing].sum()) if lv.missing and not f.missing_is_level else 0
        head.update({"analysable": "Y", "n_missing": n_missing, "n_levels": len(lv.tested),
                     "reference": lv.reference or ""})
        recs += rows("subgroup", g, ALL, FACTOR, "", head)
        for i, lvl in enumerate(lv.order, 1):
            mk = lv.masks[lvl]
            n = int(mk.sum())
            recs += rows("subgroup", g, lvl, LEVEL, "", {
                "label": lv.labels[lvl], "order": i, "n": n, "small": "Y" if 0 < n < small else "N",
                "missing": "Y" if lvl == lv.missing and not f.missing_is_level else "N"})
            if f.detail and f.detail in adsl.columns:
                for det, k in sorted(adsl.loc[mk, f.detail].astype("string").fillna(MISSING).value_counts().items()):
                    recs += rows("subgroup", g, lvl, f.detail, det, {"n": int(k)})
            if g not in EFFICACY_GROUPS:
                recs += _proportion_rows("orr", g, lvl, int(resp[mk].isin(ORR_CATS).sum()), n)
                recs += _proportion_rows("dcr", g, lvl, int(resp[mk].isin(DCR_CATS).sum()), n)
            km = mk & has_pfs
            recs += _km_rows(g, lvl, aval[km], cnsr[km].astype(int))

        # Between levels: Fisher (ORR) and Cox (PFS), on the tested levels.
        test_levels = [x for x in lv.order if x != lv.missing or f.missing_is_level]
        k = [int(resp[lv.masks[x]].isin(ORR_CATS).sum()) for x in test_levels]
        n = [int(lv.masks[x].sum()) for x in test_levels]
        ft = fisher_test(k, n, [lv.labels[x] for x in test_levels])
        fstats = {"p": ft.p, "method": ft.method, "n_levels": sum(1 for v in n if v > 0)}
        if ft.reason:
            fstats["reason"] = f"p: {ft.reason}"
        recs += rows("fisher", g, ALL, "CBOR", "", fstats)

        ref = lv.reference
        for lvl in test_levels:
            if lvl == ref:
                continue
            cstats: dict = {"reference": ref or ""}
            if ref is None:
                res = CoxResult(None, None, None, None, 0, 0, "not estimable: no reference level")
            else:
                pair = (lv.masks[lvl] | lv.masks[ref]) & has_pfs
                res = cox_hr(aval[pair], cnsr[pair].astype(int).eq(0).astype(int), lv.masks[lvl][pair].astype(int),
                             lv.labels[lvl], lv.labels[ref])
            cstats.update({"hr": res.hr, "hr_lcl": res.lcl, "hr_ucl": res.ucl, "p": res.p, "n": res.n,
                           "events": res.events, "method": COX_METHOD})
            if res.reason:
                cstats["reason"] = f"hr, hr_lcl, hr_ucl, p: {res.reason}"
            recs += rows("cox", g, lvl, "PFS", "", cstats)
    return frame(recs)


# --------------------------------------------------------------------------- T-DEMO data

DEMO_FIXED = [("AGE", "continuous"), ("SEX", "categorical"), ("RACE", "categorical")]


def demog_variables(cfg: dict) -> list[tuple[str, str]]:
    """(ADSL variable, kind) of T-DEMO: age, sex, race, then every §8 factor (its
    continuous companion, its groups, its detail), dose level excepted (the columns)."""
    out = list(DEMO_FIXED)
    for f in factors_from_config(cfg):
        if f.variable == "DOSELVL":
            continue
        if f.continuous:
            out.append((f.continuous, "continuous"))
        out.append((f.variable, "categorical"))
        if f.detail:
            out.append((f.detail, "categorical"))
    seen, uniq = set(), []
    for v in out:
        if v[0] not in seen:
            seen.add(v[0])
            uniq.append(v)
    return uniq


def ard_demog(adsl: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """`demog`: safety set by CAR-T dose level (no CAR-T, overall): N; categories n
    (missing as 'Missing'); continuous n, n_missing, mean, sd, median, min, max. A
    variable absent from ADSL gets a `reason` row."""
    levels = list(cfg.get("dose_levels") or [])
    saf = adsl["SAFFL"].eq("Y").fillna(False)
    groups = dose_groups(adsl, saf, levels)
    recs = []
    for g, gl, m in groups:
        recs += rows("demog", g, gl, "N", "", {"n": int(m.sum())})
    order = {f.variable: expected_levels(f, cfg) for f in factors_from_config(cfg)}
    for var, kind in demog_variables(cfg):
        if var not in adsl.columns:
            recs += rows("demog", OVERALL, OVERALL, var, "", {"reason": f"ADSL has no variable {var}"})
            continue
        if kind == "categorical":
            val = adsl[var].astype("string").fillna(MISSING)
            first = order.get(var, [])
            cats = sorted(set(val[saf]), key=lambda c: (c == MISSING, first.index(c) if c in first else len(first),
                                                        _low_first(c)))
            for g, gl, m in groups:
                for c in cats:
                    recs += rows("demog", g, gl, var, c, {"n": int((m & val.eq(c)).sum())})
        else:
            val = pd.to_numeric(adsl[var], errors="coerce").astype(float)
            for g, gl, m in groups:
                v = val[m].dropna()
                recs += rows("demog", g, gl, var, "", {
                    "n": len(v), "n_missing": int(m.sum()) - len(v),
                    "mean": float(v.mean()) if len(v) else None,
                    "sd": float(v.std(ddof=1)) if len(v) > 1 else None,
                    "median": float(v.median()) if len(v) else None,
                    "min": float(v.min()) if len(v) else None, "max": float(v.max()) if len(v) else None})
    return frame(recs)
