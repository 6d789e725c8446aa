"""Ingestion: read -> validate -> data cut -> strip identifiers -> write.

``ingest(export_dir, cut, out_dir)`` writes, each file atomically and deterministically:

- ``<out_dir>/validation/validation-report.{md,csv,json}``, always (also on failure);
- on success only: ``<out_dir>/sdtm/<dom>.parquet`` for every domain of the contract (an
  absent optional domain with 0 rows and its contract columns; a contract column absent from
  the export is added empty), ``<out_dir>/sdtm/domains.json`` (the domains present and
  absent: what the analyses read) and ``<out_dir>/sdtm/ingest.json`` (written last; also
  every input file's SHA-256, record counts and data-cut exclusions).

Any validation error stops the run before anything but the report is written:
``ValidationFailed`` is raised after the problems are printed to stderr.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.atomic import atomic_path, write_text
from analysis.contract import DOMAINS, VERBATIM_TEXT, DomainSpec
from analysis.datacut import apply_data_cut, as_cut_date
from analysis.io import ROW_COL, Problem, read_export
from analysis.validate import format_problems, validate_and_normalise, write_validation_report

__all__ = ["ValidationFailed", "ingest", "sdtm_frame"]


class ValidationFailed(Exception):
    """The export broke the input contract; ``problems`` holds every problem found."""

    def __init__(self, problems: list[Problem], report_dir: Path | str):
        self.problems = problems
        self.report_dir = Path(report_dir)
        errors = [p for p in problems if p.severity == "error"]
        n_warn = len(problems) - len(errors)
        rules = Counter(p.rule for p in errors)
        files = sorted({p.file for p in errors})
        top = ", ".join(f"{rule} ({n})" for rule, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])))
        super().__init__(
            f"Input validation failed: {len(errors)} error{'s' if len(errors) != 1 else ''}"
            f" and {n_warn} warning{'s' if n_warn != 1 else ''} in {', '.join(files)}. "
            f"Errors by rule: {top}. Nothing was ingested; every problem (file, row, variable, value, rule) "
            f"is listed in {self.report_dir / 'validation-report.md'}."
        )


def sdtm_frame(df: pd.DataFrame | None, spec: DomainSpec, folded: list[str] | tuple[str, ...] = ()
               ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The frame written for one domain: allowed columns only (identifier stripping), every
    contract column present (added empty when absent), stable order, conventional types.
    Returns (frame, columns dropped, contract columns added empty)."""
    if df is None:
        df = pd.DataFrame(index=pd.RangeIndex(0))
    present = [c for c in df.columns if c != ROW_COL]
    verbatim = set(VERBATIM_TEXT.get(spec.code, ()))
    keep = [c for c in spec.allowed_columns(present, frozenset(folded)) if c not in verbatim]
    dropped = [c for c in present if c not in keep]
    added = [c for c in spec.columns if c not in present and c not in verbatim]
    order = [c for c in spec.columns if c not in verbatim] + [c for c in keep if c not in spec.columns]
    lead = [c for c in ("STUDYID", "DOMAIN", "USUBJID") if c in order]
    order = lead + [c for c in order if c not in lead]
    numeric = set(spec.numeric_all)
    data = {}
    for c in order:
        if c in df.columns:
            s = df[c]
        else:
            s = pd.Series(pd.NA, index=df.index, dtype="object")
        data[c] = (pd.to_numeric(s, errors="coerce").astype("float64") if c in numeric
                   else s.astype("string"))
    out = pd.DataFrame(data, index=pd.RangeIndex(len(df)))
    return out, dropped, added


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def ingest(export_dir: Path | str, cut, out_dir: Path | str, *, dose_levels: dict[str, float] | None = None,
           dose_tolerance: float = 0.05, existing_bundle: Path | str | None = None,
           allow_overwrite: bool = False) -> dict:
    """Ingest one export for the data cut ``cut`` (date or ``YYYY-MM-DD``) into ``out_dir``
    (``results/<cut>``). Returns the content of ``sdtm/ingest.json``. Raises
    ``ValidationFailed`` when the export breaks the contract (the report is written first).
    ``dose_levels`` / ``dose_tolerance``: the ``dose_levels`` and ``dose_match_tolerance``
    settings; when given, every CAR-T infusion must be at one of these levels (checked here, so
    that ADSL never meets a dose it cannot place).
    ``existing_bundle``: a finished ethics-amendment bundle of this cut; if it was built from
    other input data, ``BundleRefused`` is raised before anything is written, unless
    ``allow_overwrite``."""
    cut_day = as_cut_date(cut)
    out_dir = Path(out_dir)
    report_dir = out_dir / "validation"

    domains, problems, files = read_export(export_dir)
    if existing_bundle is not None:
        from analysis.bundle import check_overwrite
        check_overwrite(existing_bundle, [{"file": n, "sha256": h} for n, h in files.items()], allow_overwrite)
    folded = {code: list(df.attrs.get("supp_qnams", [])) for code, df in domains.items()}
    found, typed = validate_and_normalise(domains, files, dose_levels=dose_levels, dose_tolerance=dose_tolerance)
    problems = problems + found
    write_validation_report(problems, report_dir)
    n_err = sum(p.severity == "error" for p in problems)
    if n_err:
        sys.stderr.write(format_problems(problems))
        raise ValidationFailed(problems, report_dir)

    cut_domains, summary = apply_data_cut(typed, cut_day)
    summary = summary.set_index("domain")

    sdtm_dir = out_dir / "sdtm"
    dropped_by: dict[str, list[str]] = {}
    added_by: dict[str, list[str]] = {}
    records: dict[str, dict] = {}
    for code, spec in DOMAINS.items():
        frame, dropped, added = sdtm_frame(cut_domains.get(code), spec, folded.get(code, ()))
        _write_parquet(frame, sdtm_dir / f"{code.lower()}.parquet")
        if code in cut_domains:
            if dropped:
                dropped_by[code] = dropped
            if added:
                added_by[code] = added
            records[code] = {
                "read": int(summary.at[code, "records_in"]),
                "excluded_by_data_cut": int(summary.at[code, "records_excluded"]),
                "written": len(frame),
            }

    domain_of = {}
    for name in files:
        stem = name.rsplit(".", 1)[0].upper()
        domain_of[name] = stem if stem in DOMAINS or stem[4:] in DOMAINS else None
    meta = {
        "data_cut": cut_day.strftime("%Y-%m-%d"),
        "export": Path(export_dir).name,
        "files": [{"file": name, "domain": domain_of[name], "sha256": sha} for name, sha in files.items()],
        "domains_present": [c for c in DOMAINS if c in domains],
        "domains_absent": [c for c in DOMAINS if c not in domains],
        "records": records,
        "data_cut_excluded": {c: r["excluded_by_data_cut"] for c, r in records.items()},
        "deaths_after_cut_blanked": int(summary.at["DM", "values_blanked"]) if "DM" in summary.index else 0,
        "supp_qualifiers_folded": {c: q for c, q in folded.items() if q},
        "columns_dropped": dropped_by,
        "columns_added_empty": added_by,
        "validation": {
            "errors": 0,
            "warnings": len(problems),
            "report": "validation/validation-report.md",
        },
    }
    # What the analyses need to know about the export, apart from its bytes: which
    # domains it has. Kept apart from ingest.json (which holds every input file's
    # SHA-256), so that a changed record reruns only the analyses of its domain.
    present = {k: meta[k] for k in ("domains_present", "domains_absent")}
    write_text(sdtm_dir / "domains.json", json.dumps(present, indent=2) + "\n")
    write_text(sdtm_dir / "ingest.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return meta
