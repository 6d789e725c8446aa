"""Time to event (SAP §7): ADTTE from ADSL and ADRS, with events and censoring rules
written as data.

A parameter (``TTEDef``) names its origin and lists its event and censoring sources
(``Source``), each a date column of a per-subject *date table* (``tte_dates``),
optionally restricted to subjects where some boolean columns hold (``when``), with
the CNSR code and descriptions it gives. ``derive_param_tte`` applies them:

* the event is the *earliest* event-source date (CNSR 0); a tie goes to the source
  listed first;
* without an event, the censoring date comes from the censor sources, either as
  admiral does (``censor_select="latest"``: the latest date, a tie to the source
  listed last) or by priority (``"priority"``: the first source listed that applies);
* ADT = max(date, STARTDT); AVAL = ADT - STARTDT + 1 (days); a subject without an
  origin or without any usable date gets no record.

``sap_definitions`` gives the SAP's PFS, OS and DOR (new anticancer therapy, missed
assessments, no post-baseline assessment); ``admiral_definitions`` the admiralonco
template's simpler OS, PFS and RSD (the pharmaverse reference). Both run through the
same code; only the data differ.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from analysis.response import ADEQUATE


@dataclass(frozen=True)
class Source:
    """One event or censoring source: the date column ``date`` of the date table,
    used for subjects where every column in ``when`` is true."""
    date: str
    cnsr: int
    evntdesc: str
    cnsdtdsc: str = ""
    srcdom: str = ""
    srcvar: str = ""
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class TTEDef:
    paramcd: str
    param: str
    start: str                                  # origin column of the date table
    events: tuple[Source, ...]
    censors: tuple[Source, ...]
    censor_select: Literal["latest", "priority"] = "latest"
    population: str | None = None               # boolean column: who gets a record


# --------------------------------------------------------------------------- engine

def derive_param_tte(dt: pd.DataFrame, d: TTEDef) -> pd.DataFrame:
    """One TTE parameter from the date table ``dt`` (index USUBJID)."""
    t = dt if d.population is None else dt[dt[d.population].fillna(False).astype(bool)]
    start = pd.to_datetime(t[d.start])

    def candidates(sources):
        out = []
        for order, s in enumerate(sources):
            date = pd.to_datetime(t[s.date]) if s.date in t.columns else pd.Series(pd.NaT, index=t.index)
            ok = date.notna()
            for w in s.when:
                ok &= t[w].fillna(False).astype(bool)
            out.append(pd.DataFrame({"USUBJID": t.index[ok], "DATE": date[ok].values, "_order": order}))
        out = [o for o in out if len(o)]
        c = (pd.concat(out, ignore_index=True) if out
             else pd.DataFrame({"USUBJID": pd.Series(dtype="string"), "DATE": pd.Series(dtype="datetime64[ns]"),
                                "_order": pd.Series(dtype=int)}))
        return c, sources

    ev, _ = candidates(d.events)
    ev = ev.sort_values(["USUBJID", "DATE", "_order"]).groupby("USUBJID").head(1)
    ev["_src"] = [d.events[i] for i in ev["_order"]]
    cn, _ = candidates(d.censors)
    cn = cn[~cn["USUBJID"].isin(ev["USUBJID"])]
    if d.censor_select == "latest":
        cn = cn.sort_values(["USUBJID", "DATE", "_order"]).groupby("USUBJID").tail(1)
    else:
        cn = cn.sort_values(["USUBJID", "_order"]).groupby("USUBJID").head(1)
    cn["_src"] = [d.censors[i] for i in cn["_order"]]
    sel = pd.concat([x for x in (ev, cn) if len(x)] or [ev], ignore_index=True)
    sel["STARTDT"] = start.reindex(sel["USUBJID"]).values
    sel = sel[sel["STARTDT"].notna()]
    sel["ADT"] = sel[["DATE", "STARTDT"]].max(axis=1)
    out = pd.DataFrame({
        "USUBJID": sel["USUBJID"].astype("string").values,
        "PARAMCD": d.paramcd, "PARAM": d.param,
        "STARTDT": pd.to_datetime(sel["STARTDT"]).values,
        "ADT": pd.to_datetime(sel["ADT"]).values,
        "CNSR": [s.cnsr for s in sel["_src"]],
        "EVNTDESC": [s.evntdesc for s in sel["_src"]],
        "CNSDTDSC": [s.cnsdtdsc if s.cnsr else "" for s in sel["_src"]],
        "SRCDOM": [s.srcdom for s in sel["_src"]],
        "SRCVAR": [s.srcvar for s in sel["_src"]],
    })
    out["AVAL"] = ((out["ADT"] - out["STARTDT"]).dt.days + 1).astype(float)
    out["CNSR"] = out["CNSR"].astype(int)
    for c in ("EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "PARAMCD", "PARAM"):
        out[c] = out[c].astype("string").replace("", pd.NA)
    return out.sort_values("USUBJID").reset_index(drop=True)


def derive_adtte(dt: pd.DataFrame, defs: list[TTEDef]) -> pd.DataFrame:
    """ADTTE: every parameter of ``defs``; ASEQ numbered within subject by PARAMCD."""
    parts = [p for p in (derive_param_tte(dt, d) for d in defs) if len(p)]
    if not parts:
        return derive_param_tte(dt.iloc[:0], defs[0]).assign(ASEQ=pd.Series(dtype=int))
    out = pd.concat(parts, ignore_index=True).sort_values(["USUBJID", "PARAMCD"]).reset_index(drop=True)
    out["ASEQ"] = out.groupby("USUBJID").cumcount() + 1
    return out


# --------------------------------------------------------------------------- date table

def adrs_dates(adrs: pd.DataFrame, params=("PD", "RSP", "CRSP", "LSTA", "DEATH")) -> pd.DataFrame:
    """Per subject, the ADT of each per-subject ADRS parameter (Y records; LSTA any)."""
    if "ADT" not in adrs.columns or not len(adrs):
        return pd.DataFrame(index=pd.Index([], name="USUBJID", dtype="string"))
    a = adrs[adrs["PARAMCD"].isin(params) & adrs["ADT"].notna() & ~adrs["AVALC"].eq("N").fillna(False)]
    if not len(a):
        return pd.DataFrame(index=pd.Index([], name="USUBJID", dtype="string"))
    return a.pivot_table(index="USUBJID", columns="PARAMCD", values="ADT", aggfunc="min")


def tte_dates(adsl: pd.DataFrame, adrs: pd.DataFrame, *, start: str = "RFSTDT",
              new_therapy: pd.Series | None = None, missed_window_days: int | None = None,
              timepoints: pd.DataFrame | None = None, responders: str = "CRSP") -> pd.DataFrame:
    """The date table: ADSL dates, the ADRS per-subject dates and, for the SAP's rules,
    dates and flags derived from the analysis-set timepoints (``timepoints``: OVR
    records with ADT, AVALC, ANL01FL, ANL03FL).

    Columns: STARTDT, DTHDT, LSTALVDT, PD, RSP, CRSP, LSTA, DEATH (ADRS), NACTDT;
    LADQDT (last adequate assessment, i.e. not NE, after the origin and on or before a
    new anticancer therapy), EVDT (first PD or death counted as an event), PREVADQDT
    (last adequate assessment before EVDT, else STARTDT), and the flags
    DTHEVFL (death not preceded by a new anticancer therapy), GAPFL (EVDT more than
    ``missed_window_days`` after PREVADQDT), NOGAPFL, NACTFL (new therapy started),
    NOADQFL (no adequate post-baseline assessment), RESPFL (``responders`` = Y).
    """
    a = adsl.set_index("USUBJID")
    dt = pd.DataFrame(index=a.index.astype("string"))
    dt.index.name = "USUBJID"
    dt["STARTDT"] = pd.to_datetime(a[start])
    for c in ("DTHDT", "LSTALVDT", "RANDDT"):
        if c in a.columns:
            dt[c] = pd.to_datetime(a[c])
    rd = adrs_dates(adrs).reindex(dt.index)
    for c in ("PD", "RSP", "CRSP", "LSTA", "DEATH"):
        dt[c] = pd.to_datetime(rd[c]) if c in rd.columns else pd.NaT
    dt["NACTDT"] = (pd.to_datetime(new_therapy).reindex(dt.index) if new_therapy is not None
                    else pd.Series(pd.NaT, index=dt.index, dtype="datetime64[ns]"))
    dt["RESPFL"] = dt[responders].notna() if responders in dt.columns else False

    if timepoints is not None:
        tp = timepoints[timepoints["ANL01FL"].eq("Y").fillna(False) & timepoints["ANL03FL"].eq("Y").fillna(False)]
        adq = tp[tp["AVALC"].isin(list(ADEQUATE))][["USUBJID", "ADT"]]
        dt["LADQDT"] = adq.groupby("USUBJID")["ADT"].max().reindex(dt.index)
        dt["DTHEVFL"] = dt["DTHDT"].notna() & (dt["NACTDT"].isna() | (dt["DTHDT"] <= dt["NACTDT"]))
        ev = pd.concat([dt["PD"], dt["DTHDT"].where(dt["DTHEVFL"])], axis=1).min(axis=1)
        dt["EVDT"] = pd.to_datetime(ev)
        m = adq.join(dt["EVDT"], on="USUBJID")
        prev = m[m["ADT"] < m["EVDT"]].groupby("USUBJID")["ADT"].max().reindex(dt.index)
        dt["PREVADQDT"] = pd.to_datetime(prev).fillna(dt["STARTDT"])
        if missed_window_days is None:
            dt["GAPFL"] = False
        else:
            dt["GAPFL"] = ((dt["EVDT"] - dt["PREVADQDT"]).dt.days > missed_window_days).fillna(False)
        dt["NOGAPFL"] = ~dt["GAPFL"]
        dt["NACTFL"] = dt["NACTDT"].notna()
        dt["NOADQFL"] = dt["LADQDT"].isna()
        dt["LADQ0DT"] = dt["LADQDT"].fillna(dt["STARTDT"])
    return dt


# --------------------------------------------------------------------------- definitions

def admiral_definitions() -> list[TTEDef]:
    """The admiralonco ``ad_adtte`` template (pharmaverse reference): origin RANDDT;
    OS death vs. latest of last-alive and randomisation; PFS first PD or death vs.
    latest of last assessment (any value) and randomisation; RSD (duration of
    response) from the first unconfirmed CR/PR to PD or death, censored at the last
    assessment. No new-therapy or missed-assessment rule."""
    death = Source("DEATH", 0, "Death", srcdom="ADRS", srcvar="ADT")
    pd_ = Source("PD", 0, "Disease Progression", srcdom="ADRS", srcvar="ADT")
    alive = Source("LSTALVDT", 1, "Alive", "Alive During Study", "ADSL", "LSTALVDT")
    lsta = Source("LSTA", 1, "Last Tumor Assessment", "Last Tumor Assessment", "ADRS", "ADT")
    rand = Source("RANDDT", 1, "Randomization", "Randomization", "ADSL", "RANDDT")
    return [
        TTEDef("OS", "Overall Survival", "RANDDT", (death,), (alive, rand)),
        TTEDef("PFS", "Progression Free Survival", "RANDDT", (pd_, death), (lsta, rand)),
        TTEDef("RSD", "Duration of Response", "RSP", (pd_, death), (lsta,), population="RESPFL"),
    ]


# CNSR codes of the SAP's rules.
CNSR_LAST_ASSESSMENT = 1
CNSR_NEW_THERAPY = 2
CNSR_MISSED = 3
CNSR_NO_ASSESSMENT = 4
CNSR_ALIVE = 1


def sap_definitions() -> list[TTEDef]:
    """SAP §7. Origin = study day 1 (ADSL RFSTDT).

    PFS: event = first PD (investigator, before any new anticancer therapy) or death
    (not preceded by a new anticancer therapy), whichever is first, unless it follows
    two or more missed assessments (more than ``missed_window_days`` after the last
    adequate assessment, or after day 1). Censoring, by priority: no adequate
    post-baseline assessment -> day 1 (CNSR 4); event after missed assessments -> last
    adequate assessment before it (3); new anticancer therapy -> last adequate
    assessment on or before it (2); otherwise the last adequate assessment before the
    data cut (1).
    OS: death; censored at the last date known alive (ADSL LSTALVDT, itself capped at
    the data cut).
    DOR: confirmed responders, from the first CR/PR of the confirmed response to PD or
    death, censored like PFS.
    """
    pd_ = Source("PD", 0, "Disease progression (RECIST 1.1, investigator)", srcdom="ADRS",
                 srcvar="ADT", when=("NOGAPFL",))
    death = Source("DTHDT", 0, "Death", srcdom="ADSL", srcvar="DTHDT", when=("DTHEVFL", "NOGAPFL"))
    noadq = Source("STARTDT", CNSR_NO_ASSESSMENT, "No adequate post-baseline tumour assessment",
                   "Study day 1 (no adequate post-baseline tumour assessment)", "ADSL", "RFSTDT",
                   when=("NOADQFL",))
    gap = Source("PREVADQDT", CNSR_MISSED, "Event after two or more missed tumour assessments",
                 "Last adequate tumour assessment before the missed assessments", "ADRS", "ADT",
                 when=("GAPFL",))
    nact = Source("LADQ0DT", CNSR_NEW_THERAPY, "New anticancer therapy",
                  "Last adequate tumour assessment before new anticancer therapy", "ADRS", "ADT",
                  when=("NACTFL",))
    last = Source("LADQDT", CNSR_LAST_ASSESSMENT, "Last adequate tumour assessment",
                  "Last adequate tumour assessment before the data cut", "ADRS", "ADT")
    alive = Source("LSTALVDT", CNSR_ALIVE, "Alive", "Last date known alive", "ADSL", "LSTALVDT")
    start = Source("STARTDT", CNSR_ALIVE, "Alive", "Study day 1 (no later contact)", "ADSL", "RFSTDT")
    return [
        TTEDef("PFS", "Progression-free survival (days)", "STARTDT", (pd_, death),
               (noadq, gap, nact, last), censor_select="priority"),
        TTEDef("OS", "Overall survival (days)", "STARTDT", (Source("DTHDT", 0, "Death", srcdom="ADSL",
                                                                   srcvar="DTHDT"),),
               (alive, start), censor_select="priority"),
        TTEDef("DOR", "Duration of response (days)", "CRSP", (pd_, death), (gap, nact, last),
               censor_select="priority", population="RESPFL"),
    ]


def derive_adtte_sap(adsl: pd.DataFrame, adrs: pd.DataFrame, timepoints: pd.DataFrame,
                     new_therapy: pd.Series | None, missed_window_days: int | None,
                     responders: str = "CRSP") -> pd.DataFrame:
    """ADTTE by the SAP's rules (origin ADSL RFSTDT), with DOSELVL and the set flags."""
    dt = tte_dates(adsl, adrs, start="RFSTDT", new_therapy=new_therapy,
                   missed_window_days=missed_window_days, timepoints=timepoints, responders=responders)
    defs = sap_definitions()
    if responders != "CRSP":
        defs = [TTEDef(d.paramcd, d.param, responders, d.events, d.censors, d.censor_select, d.population)
                if d.paramcd == "DOR" else d for d in defs]
    out = derive_adtte(dt, defs)
    keep = [c for c in ("DOSELVL", "SAFFL", "EFFFL") if c in adsl.columns]
    return out.merge(adsl[["USUBJID"] + keep].astype({"USUBJID": "string"}), on="USUBJID", how="left")
