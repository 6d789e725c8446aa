import sys
from pathlib import Path

# Make the test helpers (hand-written fixtures) and the package importable.
HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One clean run of the whole workflow on the demo export, in a temporary copy of
    the repository; returns (work folder, results/<cut> folder)."""
    from pipeline_runs import CUT, copy_repo, run_pipeline

    work = copy_repo(tmp_path_factory.mktemp("e2e"))
    run_pipeline(work)
    return work, work / "results" / CUT
