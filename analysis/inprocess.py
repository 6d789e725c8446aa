"""Run the thin Snakemake scripts of workflow/scripts/ inside the Snakemake process.

A `script:` job starts a new Python interpreter and imports pandas, pyarrow, plotnine,
… again: about a second or two per job, paid dozens of times per run. Rules instead
call `run_script(name, input, output, params, wildcards, threads, log)` from a `run:`
block; with the profile's `force-use-threads`, local jobs run in threads of the one
Snakemake process, which imports the stack once. The scripts stay exactly as they are
(they read `snakemake.input`, `snakemake.output`, …), so `script:` would still work.
Figure drawing is serialised by `analysis.figures_lock` (matplotlib is not
thread-safe).
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "workflow" / "scripts"
figures_lock = threading.RLock()
_preload_lock = threading.Lock()
_preloaded = False
# Imported once, in one thread, before the first job runs: two threads importing the
# same package for the first time can see it half-initialised ("partially initialized
# module"). A dry run or a rerun with nothing to do never pays for this.
PRELOAD = ("numpy", "pandas", "pyarrow.parquet", "scipy.stats", "statsmodels.api", "lifelines",
           "matplotlib", "plotnine", "great_tables", "polars", "rtflite", "yaml", "jsonschema",
           "pyreadstat", "pandera")


def preload() -> None:
    """Import the stack and every module of the package, once per process."""
    global _preloaded
    with _preload_lock:
        if _preloaded:
            return
        import importlib
        import pkgutil

        import matplotlib
        matplotlib.use("Agg")
        for name in PRELOAD:
            importlib.import_module(name)
        import analysis
        for mod in sorted(m.name for m in pkgutil.iter_modules(analysis.__path__)):
            importlib.import_module(f"analysis.{mod}")
        _preloaded = True


class ScriptFailed(RuntimeError):
    pass


def run_script(name: str, input, output, params, wildcards, threads=1, log=None, resources=None) -> None:
    preload()
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    snakemake = SimpleNamespace(input=input, output=output, params=params, wildcards=wildcards,
                                threads=threads, log=log, resources=resources,
                                scriptdir=str(SCRIPTS), config=None)
    path = SCRIPTS / f"{name}.py"
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    try:
        exec(code, {"snakemake": snakemake, "__name__": f"_wf_{name}", "__file__": str(path)})
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise ScriptFailed(f"{path.name} stopped (exit {exc.code}); see the messages above") from None
