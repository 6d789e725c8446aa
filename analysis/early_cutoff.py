"""Early cut-off: skip a job when the job before it ran but wrote the same bytes.

The Snakefile declares its hub rules (ingest, the ADaM datasets, the ARD parts) as
`checkpoint`s. After a checkpoint job has run, Snakemake re-evaluates which jobs still
need to run (`DAG.update_needrun`); a job whose inputs are newer than its outputs but
have the checksum recorded when it last ran is then skipped. That is what makes a
changed AE record rerun only the safety branch: ingest rewrites every domain, and all
but `ae.parquet` come out byte-identical.

Snakemake 9.27 keeps, across that re-evaluation, the reason "input files updated by
another job" that the first evaluation gave to jobs further downstream (only the
checkpoint's direct dependents are rebuilt). A job two steps below a checkpoint whose
output did not change would therefore still run. `enable()` clears that one stale
field for every job not yet finished or running before each re-evaluation; the
re-evaluation then sets it again for every job that really is downstream of a job
still to run. Nothing else of Snakemake's decision changes.

tests/test_early_cutoff.py runs a small chain of checkpoints and fails if a Snakemake
upgrade changes this behaviour (the version is pinned in requirements.lock).
"""
from __future__ import annotations

_MARK = "_analysis_early_cutoff"


def enable() -> None:
    """Patch `snakemake.dag.DAG.update_needrun` once per process (idempotent)."""
    from snakemake.dag import DAG

    original = DAG.update_needrun
    if getattr(original, _MARK, False):
        return

    async def update_needrun(self, *args, **kwargs):
        running = getattr(self, "_running", set())
        for job in self.jobs:
            if not self.finished(job) and job not in running:
                self.reason(job)._updated_input_run = None
        return await original(self, *args, **kwargs)

    setattr(update_needrun, _MARK, True)
    update_needrun.__doc__ = original.__doc__
    DAG.update_needrun = update_needrun
