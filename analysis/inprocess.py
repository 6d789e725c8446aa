"""Run the thin Snakemake scripts of workflow/scripts/ in forks of one preloaded process.

A `script:` job starts a new Python interpreter and imports pandas, pyarrow, plotnine,
… again: about a second or two per job, paid dozens of times per run. Running the
scripts in threads of the Snakemake process imports the stack once, but the threads
share one interpreter lock, so two cores do the work of one, and a job's memory cannot
be told apart from the others'.

Rules instead call `run_script(name, input, output, params, wildcards, threads, log)`
from a `run:` block. The job's thread asks a *fork server* (started once per run, it
imports the stack and the package once: `analysis.worker`) for a fresh child process,
which runs the script and exits. Each job so gets its own process — real parallelism,
its own memory (freed when it ends) and its own peak-memory figure — for the price of
a fork (milliseconds), not of an import. The scripts stay exactly as they are (they
read `snakemake.input`, `snakemake.output`, …), so `script:` would still work.

Only the rule's declared inputs, outputs, params, wildcards and log cross into the
child, as plain picklable values (`NamedList`). The child records its wall time, CPU
time and peak memory in `<stats dir>/<script>[-<wildcards>].json` (the Snakefile sets
the folder: `results/<cut>/logs/jobs`).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "workflow" / "scripts"
# Drawing is serialised within one process (matplotlib is not thread-safe); jobs in
# separate processes draw in parallel.
figures_lock = threading.RLock()
_server_lock = threading.Lock()
_ctx = None
_stats_dir: Path | None = None
_declared: set[str] | None = None  # in a job: its rule's input files (absolute paths)


class ScriptFailed(RuntimeError):
    pass


class NamedList(list):
    """A picklable stand-in for Snakemake's Namedlist: items, with names for some of
    them (`obj.name` gives the item, or a NamedList for a named group of items)."""

    def __init__(self, items=(), names: dict[str, tuple[int, int | None]] | None = None):
        super().__init__(items)
        self._names = dict(names or {})

    def __getattr__(self, key):
        names = self.__dict__.get("_names", {})
        if key not in names:
            raise AttributeError(key)
        start, end = names[key]
        return self[start] if end is None else NamedList(self[start:end])

    def keys(self):
        return self._names.keys()

    def items(self):
        for name in self._names:
            yield name, getattr(self, name)

    def __reduce__(self):
        return (NamedList, (list(self), self._names))


def plain(obj, files: bool) -> NamedList:
    """A Snakemake Namedlist (or None) as a NamedList of plain values (`str` for files)."""
    if obj is None:
        return NamedList()
    items = [str(x) for x in obj] if files else list(obj)
    names = dict(obj._get_names()) if hasattr(obj, "_get_names") else {}
    return NamedList(items, names)


def _context():
    """The fork-server context, started on first use with the stack preloaded."""
    global _ctx
    with _server_lock:
        if _ctx is None:
            os.environ.setdefault("MPLBACKEND", "Agg")
            ctx = mp.get_context("forkserver")
            # Each forked job would import the main script (Snakemake's, and with it
            # snakemake.cli: ~0.2 s a job) to set up its `__main__`, unless `__main__`
            # already names that file; the server learns the path (analysis/worker.py).
            from multiprocessing import spawn

            main_path = spawn.get_preparation_data("job").get("init_main_from_path")
            if main_path:
                os.environ["ANALYSIS_MAIN_PATH"] = main_path
            ctx.set_forkserver_preload(["analysis.worker"])
            _ctx = ctx
        return _ctx


def set_stats_dir(path: Path | str | None) -> None:
    """Folder where each job records its wall time, CPU time and peak memory."""
    global _stats_dir
    _stats_dir = Path(path) if path else None


def _stats_path(name: str, wildcards) -> str | None:
    if _stats_dir is None:
        return None
    tag = "-".join([name, *(str(v) for v in wildcards)]) if wildcards else name
    return str(_stats_dir / f"{tag}.json")


def run_script(name: str, input, output, params, wildcards, threads=1, log=None, resources=None) -> None:
    """Run workflow/scripts/<name>.py for one job in a fresh fork of the preloaded server."""
    spec = {
        "input": plain(input, True), "output": plain(output, True), "params": plain(params, False),
        "wildcards": plain(wildcards, False), "log": plain(log, True), "threads": int(threads or 1),
        "resources": None,
    }
    stats = _stats_path(name, wildcards)
    proc = _context().Process(target=_run_child, args=(name, spec, stats), name=f"job-{name}")
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise ScriptFailed(f"workflow/scripts/{name}.py stopped (exit {proc.exitcode}); "
                           "see the messages above")


def _run_child(name: str, spec: dict, stats: str | None) -> None:
    from analysis import worker

    worker.run_job(name, spec, stats)


def declared_inputs() -> set[str] | None:
    """The input files the running job's rule declares (absolute paths), or None outside
    a Snakemake job. Readers use it to refuse hidden dependencies."""
    return _declared


def set_declared_inputs(paths) -> None:
    global _declared
    _declared = None if paths is None else {str(Path(p).resolve()) for p in paths}
