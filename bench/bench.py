"""Benchmark of the pipeline on the machine it runs on.

    .venv/bin/python bench/bench.py [--reps 3] [--sizes phase1b,load] [--out bench/out/bench.json]

Measures, with several repetitions and medians:
  (a) a cold full run on the demo export (all reports and formats);
  (b) a rerun with nothing changed;
  (c) a rerun after one AE record changed: which jobs ran, and the time;
  (d) a rerun after a report setting changed: which jobs ran, and the time;
  (e) larger exports (Phase IB size, load size): wall time and peak memory of each job,
      from each job's own record (results/<cut>/logs/jobs/*.json);
  (f) the floor: one Python process that imports the stack once and renders each
      document in each format once.
Prints a table and writes JSON. Every run happens in a temporary copy of the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
SNAKEMAKE = PY.with_name("snakemake")
PARTS = ("Snakefile", "analysis", "workflow", "reports", "config")
JOB_RE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):", re.M)
# Jobs that derive ADaM datasets and ARD parts (scripts of workflow/scripts/): the
# part that must scale linearly with the number of subjects.
DERIVATION_JOBS = {"ingest", "adsl", "safety_adae", "safety_adlb", "safety_ard", "safety_ard_escalation",
                   "efficacy_adam", "efficacy_ard", "eligibility_adam", "eligibility_ard", "kinetics_adam",
                   "kinetics_ard", "subgroups_ard", "subgroups_demog", "ard_sets", "ard_combine"}


def copy_repo(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in PARTS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".render*"))
        else:
            shutil.copy2(src, dest / name)
    (dest / "profiles").symlink_to("workflow/profiles")
    return dest


def snakemake(work: Path, *args: str, sample_memory: bool = False) -> tuple[float, list[str], str] | tuple:
    """Run Snakemake in `work`; with sample_memory, also the peak over the run of the
    summed PSS (proportional set size: shared pages counted once) of Snakemake, its
    fork server and every job process, sampled every 0.2 s."""
    import threading

    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([str(SNAKEMAKE), "--cores", "2", *args], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sample():
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_full_info().pss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                break
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    out, _ = proc.communicate()
    dt = time.perf_counter() - t0
    if sample_memory:
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {work}:\n{out[-4000:]}")
    jobs = [j for j in JOB_RE.findall(out) if j != "all"]
    return (dt, jobs, out, peak[0]) if sample_memory else (dt, jobs, out)


def results_dir(work: Path, cut: str | None = None) -> Path:
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    return work / "results" / (cut or cfg["data_cut"])


def job_benchmarks(work: Path, cut: str | None = None) -> list[dict]:
    """Per job: wall and CPU time and peak memory, as each job's process recorded them
    (results/<cut>/logs/jobs/<script>.json, written by analysis/worker.py)."""
    rows = []
    for f in sorted((results_dir(work, cut) / "logs" / "jobs").glob("*.json")):
        r = json.loads(f.read_text())
        rows.append({"job": f.stem, "seconds": r["wall_s"], "cpu_s": r["cpu_s"], "max_rss_mb": r["max_rss_mb"]})
    return rows


def median(xs):
    return statistics.median(xs) if xs else None


def bench_cold_and_noop(tmp: Path, reps: int) -> dict:
    cold, noop = [], []
    last = None
    for i in range(reps):
        work = copy_repo(tmp / f"cold{i}")
        dt, jobs, _ = snakemake(work)
        cold.append(dt)
        last = work
    for _ in range(reps):
        dt, jobs, out = snakemake(last)
        assert "Nothing to be done" in out, out[-2000:]
        noop.append(dt)
    return {"cold_s": cold, "cold_median_s": median(cold),
            "noop_s": noop, "noop_median_s": median(noop), "work": last,
            "jobs_cold": job_benchmarks(last)}


def export_copy(work_src: Path, tmp: Path) -> Path:
    export = tmp / "export"
    if export.exists():
        shutil.rmtree(export)
    shutil.copytree(work_src / "data" / "demo", export)
    return export


def change_one_ae(export: Path, k: int) -> None:
    """Change the grade of one AE record so that the safety tables change: a grade 1-2
    record becomes grade 4 (the k-th such record, so that every repetition changes)."""
    import pandas as pd

    ae = pd.read_csv(export / "ae.csv", dtype=str, keep_default_na=False)
    low = ae.index[ae["AETOXGR"].isin(["1", "2"])]
    ae.loc[low[k % len(low)], "AETOXGR"] = "4"
    ae.to_csv(export / "ae.csv", index=False)


def bench_incremental(tmp: Path, reps: int, template: Path) -> dict:
    """(c) one AE record changed, (d) one report setting changed."""
    work = copy_repo(tmp / "incr")
    export = export_copy(template, tmp)
    # The export changes on purpose: allow the bundle of this cut to be replaced.
    (work / "real.yaml").write_text(yaml.safe_dump({"data": {"source": "export", "export_dir": str(export)},
                                                    "bundle": {"allow_overwrite": True}}))
    snakemake(work, "--configfile", "real.yaml")
    ae_times, ae_jobs = [], []
    for k in range(reps):
        change_one_ae(export, k)
        dt, jobs, _ = snakemake(work, "--configfile", "real.yaml")
        ae_times.append(dt)
        ae_jobs = jobs
    rep_times, rep_jobs = [], []
    for k in range(reps):
        (work / "report.yaml").write_text(yaml.safe_dump({"reports": {"version": f"0.{k + 2} (bench)"}}))
        dt, jobs, _ = snakemake(work, "--configfile", "real.yaml", "report.yaml")
        rep_times.append(dt)
        rep_jobs = jobs
    return {"ae_change_s": ae_times, "ae_change_median_s": median(ae_times), "ae_change_jobs": sorted(ae_jobs),
            "report_setting_s": rep_times, "report_setting_median_s": median(rep_times),
            "report_setting_jobs": sorted(rep_jobs)}


# The larger demo exports are the database a year later, when Phase IB has enrolled.
SIZE_CUT = {"phase1a": "2026-10-31", "phase1b": "2027-10-31", "load": "2027-10-31"}


def bench_size(tmp: Path, size: str) -> dict:
    """Wall time of a cold run; per job (each runs in its own process) wall and CPU time
    and peak memory; the peak memory of the whole run (all its processes together)."""
    work = copy_repo(tmp / f"size-{size}")
    cut = SIZE_CUT[size]
    (work / "size.yaml").write_text(yaml.safe_dump({"data": {"demo_size": size, "export_dir": f"data/demo-{size}"},
                                                    "data_cut": cut}))
    dt, jobs, _, peak_mb = snakemake(work, "--configfile", "size.yaml", sample_memory=True)
    rows = job_benchmarks(work, cut)
    lb = work / f"data/demo-{size}" / "lb.csv"
    n_lb = sum(1 for _ in open(lb)) - 1 if lb.exists() else None
    dm = work / f"data/demo-{size}" / "dm.csv"
    n_dm = sum(1 for _ in open(dm)) - 1 if dm.exists() else None
    deriv = [j for j in rows if j["job"] in DERIVATION_JOBS]
    return {"size": size, "data_cut": cut, "subjects": n_dm, "lb_rows": n_lb, "wall_s": dt,
            "peak_pss_mb": peak_mb, "jobs": rows,
            "max_job_rss_mb": max((j["max_rss_mb"] for j in rows), default=None),
            "derivation_wall_s": sum(j["seconds"] for j in deriv),
            "derivation_cpu_s": sum(j["cpu_s"] for j in deriv)}


FLOOR_CODE = r"""
import json, sys, time, shutil
from pathlib import Path
t0 = time.perf_counter()
import pandas, numpy, pyarrow, scipy, statsmodels.api, lifelines, plotnine, great_tables, pandera, yaml
import analysis.render as R
t_import = time.perf_counter() - t0
res = Path(sys.argv[1]); out = Path(sys.argv[2])
from analysis.pipeline import stage_generated
times = {}
for doc in sorted(p.stem for p in Path("reports").glob("*.qmd")):
    for fmt in ("html", "pdf", "docx"):
        stage = stage_generated(res, out / f"gen-{doc}-{fmt}")
        t = time.perf_counter()
        R.render_document(Path("reports") / f"{doc}.qmd", stage, fmt, out / f"{doc}.{fmt}", out / f"work-{doc}-{fmt}", engine="pandoc")
        times[f"{doc}.{fmt}"] = time.perf_counter() - t
print(json.dumps({"import_s": t_import, "render_s": times, "total_s": time.perf_counter() - t0}))
"""


def bench_floor(work: Path, reps: int) -> dict:
    runs = []
    for i in range(reps):
        out = Path(tempfile.mkdtemp(prefix="floor-"))
        t0 = time.perf_counter()
        proc = subprocess.run([str(PY), "-c", FLOOR_CODE, str(results_dir(work)), str(out)], cwd=work,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["wall_s"] = wall
        runs.append(r)
        shutil.rmtree(out, ignore_errors=True)
    return {"runs": runs, "wall_median_s": median([r["wall_s"] for r in runs]),
            "import_median_s": median([r["import_s"] for r in runs])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="phase1b,load", help="comma-separated demo sizes for (e); '' to skip")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "bench.json")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="nkg2d-bench-"))
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}, "reps": args.reps}
    try:
        a = bench_cold_and_noop(tmp, args.reps)
        template = a.pop("work")
        result["cold_and_noop"] = a
        result["incremental"] = bench_incremental(tmp, args.reps, template)
        result["floor"] = bench_floor(template, args.reps)
        result["sizes"] = [bench_size(tmp, s) for s in args.sizes.split(",") if s]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_table(result)
    print(f"\nJSON: {args.out}")
    return 0


def print_table(r: dict) -> None:
    c, i, f = r["cold_and_noop"], r["incremental"], r["floor"]
    fmt = lambda x: f"{x:.2f}" if isinstance(x, (int, float)) else "-"  # noqa: E731
    print(f"{'measure':<44} {'median s':>9}   runs")
    print("-" * 80)
    print(f"{'(a) cold full run, demo export':<44} {fmt(c['cold_median_s']):>9}   {', '.join(map(fmt, c['cold_s']))}")
    print(f"{'(b) rerun, nothing changed':<44} {fmt(c['noop_median_s']):>9}   {', '.join(map(fmt, c['noop_s']))}")
    print(f"{'(c) rerun after one AE record changed':<44} {fmt(i['ae_change_median_s']):>9}   jobs: {', '.join(i['ae_change_jobs'])}")
    print(f"{'(d) rerun after a report setting changed':<44} {fmt(i['report_setting_median_s']):>9}   jobs: {', '.join(i['report_setting_jobs'])}")
    print(f"{'(f) floor: one process, import + renders':<44} {fmt(f['wall_median_s']):>9}   import {fmt(f['import_median_s'])}")
    if c["cold_median_s"] and f["wall_median_s"]:
        print(f"{'    cold run / floor':<44} {c['cold_median_s'] / f['wall_median_s']:>9.1f}x")
    sizes = r.get("sizes", [])
    for s in sizes:
        print(f"\n(e) size {s['size']} (cut {s['data_cut']}): {s['subjects']} subjects, {s['lb_rows']} LB rows, "
              f"wall {fmt(s['wall_s'])} s, peak memory of the run (PSS, all processes) {fmt(s['peak_pss_mb'])} MB, "
              f"largest job {fmt(s['max_job_rss_mb'])} MB; derivations "
              f"and ARD: {fmt(s['derivation_wall_s'])} s wall, {fmt(s['derivation_cpu_s'])} s CPU")
        print(f"    {'job':<40} {'wall s':>8} {'CPU s':>8} {'peak MB':>9}")
        for j in sorted(s["jobs"], key=lambda j: -j["seconds"]):
            print(f"    {j['job']:<40} {fmt(j['seconds']):>8} {fmt(j['cpu_s']):>8} {fmt(j['max_rss_mb']):>9}")
    by = {s["size"]: s for s in sizes}
    if "phase1b" in by and "load" in by and by["phase1b"]["subjects"] and by["load"]["subjects"]:
        per = {k: by[k]["derivation_cpu_s"] / by[k]["subjects"] for k in ("phase1b", "load")}
        print(f"\n    derivation+ARD CPU s per subject: Phase IB {per['phase1b'] * 1000:.1f} ms, load "
              f"{per['load'] * 1000:.1f} ms, ratio {per['load'] / per['phase1b']:.2f} (target <= 1.5)")
    print("\n(a) per-job time of the last cold run:")
    for j in sorted(c["jobs_cold"], key=lambda j: -j["seconds"]):
        print(f"    {j['job']:<40} {fmt(j['seconds']):>8} {fmt(j['cpu_s']):>8} {fmt(j['max_rss_mb']):>9}")


if __name__ == "__main__":
    sys.exit(main())
