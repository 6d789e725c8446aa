"""The job side of analysis/inprocess.py.

Importing this module imports the whole stack and every module of the package once:
the fork server imports it before it forks any job, so each job starts with everything
already in memory. `run_job` runs one thin script in the forked child.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import pkgutil
import resource
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

PRELOAD = ("numpy", "pandas", "pyarrow.parquet", "scipy.stats", "statsmodels.api", "lifelines",
           "matplotlib.pyplot", "plotnine", "great_tables", "polars", "rtflite", "yaml", "jsonschema",
           "pyreadstat", "pandera")
for _name in PRELOAD:
    importlib.import_module(_name)

import analysis  # noqa: E402
from analysis import inprocess  # noqa: E402

for _mod in sorted(m.name for m in pkgutil.iter_modules(analysis.__path__)):
    if _mod not in ("worker", "demo"):
        importlib.import_module(f"analysis.{_mod}")

SCRIPTS = Path(analysis.__file__).resolve().parent.parent / "workflow" / "scripts"


def _warm_up_figures() -> None:
    """Draw one tiny figure, so that fonts and matplotlib's caches are loaded once here
    rather than by the first figure of every forked figure job."""
    import io

    import matplotlib.pyplot as plt
    import pandas as pd
    import plotnine as p9

    fig = (p9.ggplot(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}), p9.aes("x", "y"))
           + p9.geom_line() + p9.labs(title="warm-up")).draw()
    fig.savefig(io.BytesIO(), format="png", dpi=30)
    plt.close(fig)


_warm_up_figures()


# The jobs need nothing from the parent's main script (Snakemake's command line): let
# `__main__` name it, so that multiprocessing does not import it again in every job.
if os.environ.get("ANALYSIS_MAIN_PATH") and not getattr(sys.modules["__main__"], "__file__", None):
    sys.modules["__main__"].__file__ = os.environ["ANALYSIS_MAIN_PATH"]


def _die_with_parent() -> None:
    """If the fork server (and so the Snakemake run) dies, this job dies too: no orphan
    keeps writing into results/ after a killed run (Linux only; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_job(name: str, spec: dict, stats: str | None) -> None:
    _die_with_parent()
    started = time.time()
    t0 = time.perf_counter()
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    inprocess.set_declared_inputs(spec["input"])
    snakemake = SimpleNamespace(scriptdir=str(SCRIPTS), config=None, **spec)
    path = SCRIPTS / f"{name}.py"
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, {"snakemake": snakemake, "__name__": f"_wf_{name}", "__file__": str(path)})
    if stats:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        record = {"job": Path(stats).stem, "pid": os.getpid(), "wall_s": round(time.perf_counter() - t0, 3),
                  "cpu_s": round(usage.ru_utime + usage.ru_stime, 3), "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
                  "started": round(started, 3), "ended": round(time.time(), 3)}
        Path(stats).parent.mkdir(parents=True, exist_ok=True)
        Path(stats).write_text(json.dumps(record) + "\n", encoding="utf-8")

# Everything imported so far is shared with the forked jobs, page for page, until a job
# writes to it. The garbage collector writes to every object it visits: frozen, these
# objects are left alone by the jobs' collections (the pre-fork use `gc.freeze` is for).
gc.collect()
gc.freeze()
