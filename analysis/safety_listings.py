"""Safety listings (SAP §5, §10): they list ADaM records (ADSL, ADAE, ADLB), one row per
record, written like tables (tables/<ID>.md/.csv/.html)."""
from __future__ import annotations

import pandas as pd

from analysis.safety_ard import short_id
from analysis.tables import Table

EMDASH = "\u2014"


def _d(x, flag=None) -> str:
    if x is None or pd.isna(x):
        return EMDASH
    s = pd.Timestamp(x).strftime("%Y-%m-%d")
    return f"{s} ({flag})" if flag is not None and not pd.isna(flag) and str(flag) else s


def _n(x, digits=0) -> str:
    if x is None or pd.isna(x):
        return EMDASH
    return f"{float(x):.{digits}f}"


def _lvl(x) -> str:
    return "No CAR-T" if x is None or pd.isna(x) else str(x)


def _empty(rows, ncol, what) -> list[list[str]]:
    return rows or [["None"] + [""] * (ncol - 1)]


def _records(n: int) -> str:
    return f"{n} record{'' if n == 1 else 's'}"


AE_COLS = ["Subject", "Level", "Preferred term", "Grade", "Start (imputed)", "Day",
           "End", "Serious", "Related (product)", "DLT", "TEAE", "Outcome"]


def _ae_rows(a: pd.DataFrame) -> list[list[str]]:
    out = []
    for r in a.itertuples(index=False):
        rel = "Y" if r.RELFL == "Y" else "N"
        if r.RELFL == "Y" and not pd.isna(r.AERELPRD):
            rel += f" ({r.AERELPRD})"
        out.append([short_id(r.USUBJID), _lvl(r.DOSELVL), str(r.AEDECOD if not pd.isna(r.AEDECOD) else getattr(r, "AETERM", "Not coded")),
                     _n(r.ATOXGRN), _d(r.ASTDT, r.ASTDTF), _n(r.ASTDY), _d(r.AENDT, r.AENDTF) if not
                     pd.isna(r.AEENDTC) else "ongoing", str(r.AESER or ""), rel, r.DLTFL, r.TRTEMFL,
                     str(r.AEOUT or "").lower()])
    return out


def _ae_notes(extra: list[str] | None = None) -> list[str]:
    return (extra or []) + [
        "Start: AESTDTC, a partial date imputed to the earliest possible date, not before the first infusion "
        "(flag D = day imputed, M = month and day). End: latest possible date, capped at the data cut. "
        "Day: study day (day 1 = first CAR-NK infusion). Level: CAR-T dose level actually given."]


def listing_sae(adae: pd.DataFrame) -> Table:
    a = adae[adae["AESER"].eq("Y").fillna(False)]
    return Table(id="L-SAE", title="Serious adverse events", population=f"all subjects, {_records(len(a))}",
                 columns=AE_COLS, rows=_empty(_ae_rows(a), len(AE_COLS), "serious adverse event"),
                 footnotes=_ae_notes(), label="tbl-l-sae")


def listing_dlt(adae: pd.DataFrame) -> Table:
    a = adae[adae["DLTFL"].eq("Y")]
    return Table(id="L-DLT", title="Dose-limiting toxicities", population=f"CAR-T set, {_records(len(a))}",
                 columns=AE_COLS, rows=_empty(_ae_rows(a), len(AE_COLS), "dose-limiting toxicity"),
                 footnotes=_ae_notes(["DLT: investigator-called (SUPPAE AEDLT = Y), starting in the DLT window."]),
                 label="tbl-l-dlt")


def listing_teae_g3(adae: pd.DataFrame) -> Table:
    a = adae[adae["TRTEMFL"].eq("Y") & (adae["ATOXGRN"].fillna(0) >= 3)]
    return Table(id="L-TEAE-G3", title="Treatment-emergent adverse events of grade 3 or higher",
                 population=f"safety set, {_records(len(a))}", columns=AE_COLS,
                 rows=_empty(_ae_rows(a), len(AE_COLS), "TEAE of grade 3 or higher"), footnotes=_ae_notes(),
                 label="tbl-l-teae-g3")


def listing_death(adsl: pd.DataFrame, adae: pd.DataFrame) -> Table:
    d = adsl[adsl["DTHDT"].notna()].sort_values("DTHDT")
    fatal = adae[adae["FATALFL"].eq("Y")].groupby("USUBJID")["AEDECOD"].agg(lambda s: "; ".join(s.dropna()))
    rows = []
    for r in d.itertuples(index=False):
        after_last = (r.DTHDT - r.TRTEDT).days if not pd.isna(r.TRTEDT) else None
        dy = (r.DTHDT - r.RFSTDT).days + 1 if not pd.isna(r.RFSTDT) else None
        rows.append([short_id(r.USUBJID), _lvl(r.DOSELVL), _d(r.DTHDT, getattr(r, "DTHDTF", None)),
                     _n(dy), _n(after_last), fatal.get(r.USUBJID, EMDASH)])
    cols = ["Subject", "Level", "Date of death (imputed)", "Study day", "Days after the last infusion",
            "Fatal adverse event"]
    return Table(id="L-DEATH", title="Deaths", population=f"all subjects, {len(d)} deaths", columns=cols,
                 rows=_empty(rows, len(cols), "death"),
                 footnotes=["Date of death: DM DTHDTC (else the DS death record), a partial date imputed to the "
                            "latest possible date capped at the data cut (flag D/M). Fatal adverse event: AE with "
                            "outcome fatal or grade 5; none = no AE recorded as the cause."],
                 label="tbl-l-death")


def listing_crs(adae: pd.DataFrame) -> Table:
    a = adae[adae["CRSFL"].eq("Y") | adae["ICANSFL"].eq("Y")].sort_values(["USUBJID", "ASTDT"])
    rows = []
    for r in a.itertuples(index=False):
        rows.append([short_id(r.USUBJID), _lvl(r.DOSELVL), "CRS" if r.CRSFL == "Y" else "ICANS", _n(r.ATOXGRN),
                     _d(r.ASTDT, r.ASTDTF), f"{r.PRINFPRD or EMDASH} {_d(r.PRINFDT)}", _n(r.PRINFDY),
                     _n(r.ADURN) if not pd.isna(r.ADURN) else "ongoing", r.TOCIFL or "", r.CORTFL or "",
                     r.TRTEMFL])
    cols = ["Subject", "Level", "Event", "ASTCT grade", "Onset", "Preceding infusion", "Onset day after it",
            "Duration, days", "Tocilizumab", "Corticosteroids", "TEAE"]
    return Table(id="L-CRS", title="Cytokine release syndrome and ICANS, per event", population=f"{len(a)} events",
                 columns=cols, rows=_empty(rows, len(cols), "CRS or ICANS event"),
                 footnotes=["Preceding infusion: product and date of the last infusion on or before the onset; "
                            "onset day after it: infusion day = 0. Duration: end - start + 1. Tocilizumab, "
                            "corticosteroids: a CM 'CRS MANAGEMENT' record overlapping the event."],
                 label="tbl-l-crs")


def listing_hyslaw(pairs: pd.DataFrame, window: int) -> Table:
    rows = []
    for r in pairs.itertuples(index=False):
        rows.append([short_id(r.USUBJID), _lvl(r.DOSELVL), r.PARAMCD, _d(r.ADT), f"{r.AVAL:g}", f"{r.ANRHI:g}",
                     _n(r.R2ANRHI, 1), _d(r.ADT_BILI), f"{r.AVAL_BILI:g}", f"{r.ANRHI_BILI:g}", _n(r.R2ANRHI_BILI, 1)])
    cols = ["Subject", "Level", "Test", "Date", "Value", "ULN", "\u00d7ULN", "Bilirubin date", "Bilirubin",
            "Bilirubin ULN", "Bilirubin \u00d7ULN"]
    return Table(id="L-HYSLAW", title="Potential Hy's law cases", population=f"safety set, {pairs['USUBJID'].nunique()} subjects",
                 columns=cols, rows=_empty(rows, len(cols), "subject met the potential Hy's law criteria"),
                 footnotes=[f"ALT or AST > 3 \u00d7 ULN and total bilirubin > 2 \u00d7 ULN within {window} days "
                            "of each other (either order), on-treatment values (after the first infusion, in the "
                            "TEAE window). Every qualifying pair is listed. Bilirubin in \u00b5mol/L, ALT/AST in U/L."],
                 label="tbl-l-hyslaw")
