"""Dose escalation (SAP §1, §4): DLT per level, the rule replay of accelerated titration
then 3+3, the MTD status and the isotonic (pool-adjacent-violators) DLT estimate.

The rules are data (config `escalation`), interpreted here:

- `titration_levels`: levels run by accelerated titration, one patient per cohort;
  `titration_decisions` maps the outcome of a titration patient (`no_trigger`,
  `trigger`, `not_evaluable`) to a decision. A trigger event (CRS grade >=
  `trigger_min_grade`, or another treatment-related AE of that grade, in the DLT window)
  or a DLT switches the whole study to 3+3 at the current level; the titration patient
  counts as the first patient of the level's 3+3 cohort.
- `decision_table`: the 3+3 decision keyed by "<evaluable>/<DLT>" at the level (all
  cohorts at the level so far). "<n>/<k>+" means k or more DLTs, "*" any number of
  evaluable subjects. A state not in the table is an incomplete cohort: the next
  cohort stays at the level (a non-evaluable subject is replaced, an expansion goes on).
- `cohort_size` (3) subjects per 3+3 cohort; subjects 4-6 at a level form its expansion
  cohort. `mtd_min_evaluable` (6): the MTD level needs this many evaluable subjects.

Decisions the engine knows (the table's values): `escalate`, `expand`, `stay`,
`switch_to_3+3`, `mtd_exceeded`. The engine adds the context the table cannot know:
escalating past the top level, escalating into a level already exceeded, and
de-escalating after `mtd_exceeded`.

Cohorts are built from the CAR-T subjects of Phase IA in order of first CAR-T infusion:
consecutive subjects at the same level form one cohort, one subject per cohort in
titration mode, and a new cohort starts at every `cohort_size` boundary of the level
(counting DLT-evaluable subjects and those still in their window: a subject who left the
window without a DLT is replaced and joins the cohort without taking a place).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from analysis.stats import compute_clopper_pearson

DECISIONS = ("escalate", "expand", "stay", "switch_to_3+3", "mtd_exceeded")
NOT_REACHED = "NOT REACHED"

DECISION_TEXT = {
    "escalate": "escalate",
    "expand": "expand the level to {max}",
    "stay": "stay at the level (cohort incomplete)",
    "switch_to_3+3": "trigger event: switch to 3+3 at the level",
    "mtd_exceeded": "MTD exceeded",
    "pending": "wait: DLT window not complete at the data cut",
}

_KEY_RE = re.compile(r"^(?P<n>\*|\d+)/(?P<k>\d+)(?P<plus>\+?)$")


@dataclass(frozen=True)
class Rules:
    levels: tuple[str, ...]
    titration_levels: tuple[str, ...] = ("DL1",)
    titration_decisions: dict = field(default_factory=lambda: {
        "no_trigger": "escalate", "trigger": "switch_to_3+3", "not_evaluable": "stay"})
    decision_table: dict = field(default_factory=dict)
    cohort_size: int = 3
    mtd_min_evaluable: int = 6

    @classmethod
    def from_config(cls, cfg: dict) -> "Rules":
        esc = cfg["escalation"]
        table = esc.get("decision_table") or DEFAULT_TABLE
        rules = cls(levels=tuple(cfg["dose_levels"]),
                    titration_levels=tuple(esc.get("titration_levels", [])),
                    titration_decisions=dict(esc.get("titration_decisions") or Rules.__dataclass_fields__[
                        "titration_decisions"].default_factory()),
                    decision_table=dict(table),
                    cohort_size=int(esc.get("cohort_size", 3)),
                    mtd_min_evaluable=int(esc.get("mtd_min_evaluable", 6)))
        rules.check()
        return rules

    def check(self) -> None:
        for key, dec in self.decision_table.items():
            if not _KEY_RE.match(str(key)):
                raise ValueError(f"escalation.decision_table: key {key!r} is not '<evaluable>/<DLT>[+]'")
            if dec not in DECISIONS:
                raise ValueError(f"escalation.decision_table[{key!r}] = {dec!r}; allowed: {', '.join(DECISIONS)}")
        for key, dec in self.titration_decisions.items():
            if dec not in DECISIONS:
                raise ValueError(f"escalation.titration_decisions[{key!r}] = {dec!r}; allowed: {', '.join(DECISIONS)}")

    def lookup(self, n_eval: int, n_dlt: int) -> str | None:
        """The 3+3 decision for a level's (evaluable, DLT) state; None = incomplete."""
        best = None  # (specificity, decision)
        for key, dec in self.decision_table.items():
            m = _KEY_RE.match(str(key))
            n, k, plus = m["n"], int(m["k"]), m["plus"] == "+"
            if n != "*" and int(n) != n_eval:
                continue
            if (plus and n_dlt < k) or (not plus and n_dlt != k):
                continue
            spec = (n != "*", not plus)
            if best is None or spec > best[0]:
                best = (spec, dec)
        return best[1] if best else None

    def exceeded(self, n_eval: int, n_dlt: int) -> bool:
        return self.lookup(n_eval, n_dlt) == "mtd_exceeded"

    def next_level(self, level: str, step: int) -> str | None:
        i = self.levels.index(level) + step
        return self.levels[i] if 0 <= i < len(self.levels) else None


DEFAULT_TABLE = {"3/0": "escalate", "3/1": "expand", "6/0": "escalate", "6/1": "escalate", "*/2+": "mtd_exceeded"}


# --------------------------------------------------------------------------- cohorts

ESC_COLUMNS = ["USUBJID", "DOSELVL", "CARTSDT", "DLTEVLFL", "DLTFL", "TRIGFL", "PENDFL", "WINENDT"]


def escalation_subjects(adsl: pd.DataFrame, adae: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """CAR-T subjects of Phase IA in order of first CAR-T infusion, with their DLT,
    trigger-event and pending (DLT window not complete at the cut) flags."""
    a = adsl[adsl["CARTFL"].eq("Y")].copy()
    if "PHASE" in a.columns:
        a = a[a["PHASE"].fillna("IA").eq("IA")]
    trig = set(adae.loc[adae["TRIGFL"].eq("Y"), "USUBJID"]) if len(adae) else set()
    a["TRIGFL"] = a["USUBJID"].isin(trig).map({True: "Y", False: "N"})
    a["PENDFL"] = ((a["DLTEVLFL"] != "Y") & (a["WINENDT"] > cut)).map({True: "Y", False: "N"})
    a = a.sort_values(["CARTSDT", "USUBJID"], kind="stable").reset_index(drop=True)
    return a[ESC_COLUMNS]


def _state(subj: pd.DataFrame) -> tuple[int, int, int]:
    ev = subj["DLTEVLFL"].eq("Y")
    return int(ev.sum()), int((ev & subj["DLTFL"].eq("Y")).sum()), int(subj["PENDFL"].eq("Y").sum())


def build_cohorts(subjects: pd.DataFrame, rules: Rules) -> list[dict]:
    """Cohorts in order of treatment: consecutive subjects at one level, one per cohort in
    titration mode, split at every `cohort_size` boundary of the level."""
    cohorts: list[dict] = []
    pos: dict[str, int] = {}
    titration = True
    for r in subjects.itertuples(index=False):
        lvl = r.DOSELVL
        if lvl not in rules.titration_levels:
            titration = False
        # slots taken at the level before this subject: a subject who left the DLT window
        # without a DLT is replaced, so he joins the current cohort without taking a slot
        taken = pos.get(lvl, 0)
        if r.DLTEVLFL == "Y" or r.PENDFL == "Y":
            pos[lvl] = taken + 1
        mode = "titration" if titration and lvl in rules.titration_levels else "3+3"
        block = taken // rules.cohort_size
        last = cohorts[-1] if cohorts else None
        if (last is not None and mode == "3+3" and last["mode"] == "3+3" and last["level"] == lvl
                and last["block"] == block):
            last["subjects"].append(r.USUBJID)
        else:
            cohorts.append({"level": lvl, "mode": mode, "block": block, "subjects": [r.USUBJID]})
        if mode == "titration" and (r.TRIGFL == "Y" or r.DLTFL == "Y"):
            titration = False  # the study switches to 3+3 at this level
    for i, c in enumerate(cohorts, 1):
        c["cohort"] = i
        c["kind"] = "titration" if c["mode"] == "titration" else ("expansion" if c["block"] >= 1 else "3+3")
    return cohorts


# --------------------------------------------------------------------------- replay

def replay(subjects: pd.DataFrame, rules: Rules) -> tuple[pd.DataFrame, dict]:
    """Replay the escalation rules cohort by cohort.

    Returns one row per cohort (level, mode, subjects, its own and the level's cumulative
    evaluable/DLT counts, the rule's decision, the level the rule gives for the next
    cohort, the level the next cohort actually got, deviation flag and text) and the
    status (MTD, highest level tested, stopping condition)."""
    s = subjects.set_index("USUBJID", drop=False)
    cohorts = build_cohorts(subjects, rules)
    seen: dict[str, list[str]] = {}
    exceeded: set[str] = set()
    out = []
    for i, c in enumerate(cohorts):
        lvl = c["level"]
        seen.setdefault(lvl, []).extend(c["subjects"])
        own = s.loc[c["subjects"]]
        cum = s.loc[seen[lvl]]
        n_ev, n_dlt, n_pend = _state(own)
        c_ev, c_dlt, c_pend = _state(cum)
        n_trig = int(own["TRIGFL"].eq("Y").sum())
        decision, next_rule, note = _decide(c, own, c_ev, c_dlt, c_pend, rules, exceeded, seen, s)
        if decision == "mtd_exceeded":
            exceeded.add(lvl)
        nxt = cohorts[i + 1] if i + 1 < len(cohorts) else None
        actual = nxt["level"] if nxt else None
        deviation, dev_text = _compare(next_rule, actual, decision, lvl, rules)
        # Escalating before the cohort's DLT windows ended is a deviation too.
        if nxt is not None and actual is not None and rules.levels.index(actual) > rules.levels.index(lvl):
            first_next = s.loc[nxt["subjects"], "CARTSDT"].min()
            last_win = own["WINENDT"].max()
            if pd.notna(first_next) and pd.notna(last_win) and first_next <= last_win:
                deviation = True
                extra = (f"cohort {nxt['cohort']} dosed on {first_next.date()}, before the end of this cohort's "
                         f"DLT window ({last_win.date()})")
                dev_text = f"{dev_text}; {extra}" if dev_text else extra
        out.append({
            "cohort": c["cohort"], "level": lvl, "mode": c["mode"], "kind": c["kind"],
            "subjects": list(c["subjects"]), "n": len(c["subjects"]), "n_evaluable": n_ev, "n_dlt": n_dlt,
            "n_trigger": n_trig, "n_pending": n_pend, "cum_n_evaluable": c_ev, "cum_n_dlt": c_dlt,
            "decision": decision, "decision_text": note, "rule_next_level": next_rule or "",
            "actual_next_level": actual or "", "deviation": deviation, "deviation_text": dev_text,
        })
    table = pd.DataFrame(out, columns=["cohort", "level", "mode", "kind", "subjects", "n", "n_evaluable", "n_dlt",
                                       "n_trigger", "n_pending", "cum_n_evaluable", "cum_n_dlt", "decision",
                                       "decision_text", "rule_next_level", "actual_next_level", "deviation",
                                       "deviation_text"])
    return table, escalation_status(subjects, rules)


def _decide(c, own, c_ev, c_dlt, c_pend, rules: Rules, exceeded: set, seen: dict, s) -> tuple[str, str | None, str]:
    """(decision, level the rule gives for the next cohort or None = stop, text)."""
    lvl = c["level"]
    if c["mode"] == "titration":
        r = own.iloc[0]
        if r["TRIGFL"] == "Y" or r["DLTFL"] == "Y":
            key = "trigger"
        elif r["DLTEVLFL"] == "Y":
            key = "no_trigger"
        elif r["PENDFL"] == "Y":
            return "pending", None, DECISION_TEXT["pending"]
        else:
            key = "not_evaluable"
        dec = rules.titration_decisions.get(key, "stay")
    else:
        dec = rules.lookup(c_ev, c_dlt)
        if dec is None:
            if c_pend:
                return "pending", None, DECISION_TEXT["pending"]
            dec = "stay"
        elif dec != "mtd_exceeded" and c_pend:
            return "pending", None, DECISION_TEXT["pending"]
    text = DECISION_TEXT[dec].format(max=2 * rules.cohort_size)
    if dec in ("expand", "stay", "switch_to_3+3"):
        return dec, lvl, text
    if dec == "escalate":
        up = rules.next_level(lvl, +1)
        if up is not None and up in exceeded:
            if c_ev >= rules.mtd_min_evaluable:
                return dec, None, f"stop: MTD = {lvl} ({up} exceeded)"
            return dec, lvl, f"expand to {rules.mtd_min_evaluable} ({up} exceeded)"
        if up is None:
            if c_ev >= rules.mtd_min_evaluable:
                return dec, None, "stop: highest level done, MTD not reached"
            return dec, lvl, f"highest level: expand to {rules.mtd_min_evaluable}"
        return dec, up, f"escalate to {up}"
    # mtd_exceeded: de-escalate
    down = rules.next_level(lvl, -1)
    if down is None:
        return dec, None, "MTD exceeded at the lowest level: stop"
    d_subj = s.loc[seen.get(down, [])] if seen.get(down) else s.iloc[0:0]
    d_ev, d_dlt, _ = _state(d_subj)
    if d_ev >= rules.mtd_min_evaluable and not rules.exceeded(d_ev, d_dlt):
        return dec, None, f"MTD exceeded: stop, MTD = {down}"
    return dec, down, f"MTD exceeded: de-escalate, expand {down} to {rules.mtd_min_evaluable}"


def _compare(next_rule: str | None, actual: str | None, decision: str, lvl: str, rules: Rules) -> tuple[bool, str]:
    if decision == "pending":
        return False, ""
    if next_rule is None:
        if actual is None:
            return False, ""
        return True, f"the rules stop escalation here, but the next cohort was treated at {actual}"
    if actual is None:
        return False, ""
    if actual == next_rule:
        return False, ""
    ia, ir = rules.levels.index(actual), rules.levels.index(next_rule)
    how = "escalated" if ia > ir else "de-escalated"
    return True, f"{how} to {actual} against the rules (rule: {next_rule})"


# --------------------------------------------------------------------------- status

def level_counts(subjects: pd.DataFrame, levels) -> pd.DataFrame:
    rows = []
    for lvl in levels:
        sub = subjects[subjects["DOSELVL"].eq(lvl)]
        n_ev, n_dlt, n_pend = _state(sub)
        rows.append({"level": lvl, "n_treated": len(sub), "n_evaluable": n_ev, "n_dlt": n_dlt, "n_pending": n_pend})
    return pd.DataFrame(rows)


def escalation_status(subjects: pd.DataFrame, rules: Rules) -> dict:
    """MTD, highest level tested and whether a Phase IA stopping condition holds, from the
    per-level counts (SAP §4)."""
    cnt = level_counts(subjects, rules.levels).set_index("level")
    tested = [lvl for lvl in rules.levels if cnt.loc[lvl, "n_treated"] > 0]
    highest = tested[-1] if tested else None
    exceeded = [lvl for lvl in rules.levels if rules.exceeded(cnt.loc[lvl, "n_evaluable"], cnt.loc[lvl, "n_dlt"])]
    mtd, reason, stop, stop_reason = None, "", False, ""
    if exceeded:
        lx = exceeded[0]
        below = rules.next_level(lx, -1)
        if below is None:
            reason = f"MTD exceeded at the lowest level {lx}"
            stop, stop_reason = True, f"MTD exceeded at the lowest level {lx}: no tolerable dose"
        else:
            ev, dl = int(cnt.loc[below, "n_evaluable"]), int(cnt.loc[below, "n_dlt"])
            if ev >= rules.mtd_min_evaluable:
                mtd = below
                stop, stop_reason = True, f"MTD determined: {below} ({dl}/{ev} with DLT; {lx} exceeded)"
            else:
                reason = (f"MTD exceeded at {lx}; {below} has {ev} evaluable subjects "
                          f"({rules.mtd_min_evaluable} needed)")
    else:
        mtd = NOT_REACHED
        top = rules.levels[-1]
        ev, dl = int(cnt.loc[top, "n_evaluable"]), int(cnt.loc[top, "n_dlt"])
        if ev >= rules.mtd_min_evaluable:
            stop, stop_reason = True, (f"highest level {top} completed with {dl}/{ev} subjects with DLT: "
                                       f"MTD not reached")
        else:
            stop_reason = (f"escalation ongoing: highest level {top} has {ev} evaluable subjects "
                           f"({rules.mtd_min_evaluable} needed)" if top in tested else
                           f"escalation ongoing: highest level tested {highest or 'none'}")
    return {"mtd": mtd, "mtd_reason": reason, "highest": highest, "exceeded": exceeded,
            "stop": stop, "stop_reason": stop_reason, "counts": cnt.reset_index()}


# --------------------------------------------------------------------------- DLT rates

def dlt_rate(n_dlt: int, n_eval: int):
    return compute_clopper_pearson(n_dlt, n_eval)


def pava(values: list[float], weights: list[float]) -> list[float]:
    """Pool-adjacent-violators: the weighted non-decreasing fit of `values`."""
    blocks: list[list[float]] = []  # [weighted mean, weight, number of points]
    for v, w in zip(values, weights):
        blocks.append([float(v), float(w), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out: list[float] = []
    for m, _w, n in blocks:
        out += [m] * n
    return out
