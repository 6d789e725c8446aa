"""Reruns give the same bytes; a killed run resumes to the same bytes; the export is
never written to; no direct identifier reaches an output."""
import hashlib
from pathlib import Path
import os
import signal
import stat
import subprocess
import time

import pytest
import yaml

from pipeline_runs import CUT, SNAKEMAKE, copy_repo, result_hashes, run_pipeline


def _tree_state(folder):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def test_two_clean_runs_in_different_folders_are_byte_identical(demo_run, tmp_path):
    _, res1 = demo_run
    work2 = copy_repo(tmp_path / "second-clone")
    run_pipeline(work2)
    h1, h2 = result_hashes(res1), result_hashes(work2 / "results" / CUT)
    assert h1.keys() == h2.keys()
    differ = [k for k in h1 if h1[k] != h2[k]]
    assert differ == []
    assert any(k.endswith(".pdf") for k in h1) and any(k.endswith(".docx") for k in h1)


def test_killed_run_resumes_to_identical_outputs_and_export_is_untouched(demo_run, tmp_path):
    work1, res1 = demo_run
    # A real export folder (a copy of the demo export), read-only.
    export = tmp_path / "export" / "demo"
    export.parent.mkdir()
    import shutil
    shutil.copytree(work1 / "data" / "demo", export)
    for p in export.iterdir():
        p.chmod(stat.S_IRUSR | stat.S_IRGRP)
    export.chmod(stat.S_IRUSR | stat.S_IXUSR)
    before = _tree_state(export)

    work = copy_repo(tmp_path / "killed")
    (work / "real.yaml").write_text(yaml.safe_dump({"data": {"source": "export", "export_dir": str(export)}}))
    proc = subprocess.Popen([str(SNAKEMAKE), "--cores", "2", "--configfile", "real.yaml"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    res = work / "results" / CUT
    deadline = time.time() + 120
    while time.time() < deadline and not (res / "adam" / "adsl.parquet").exists():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (res / "manifest.json").exists(), "the run finished before it could be killed"

    # Whatever the killed run left under its final name is complete: equal to the clean run.
    clean = result_hashes(res1)
    left = result_hashes(res)
    assert left, "nothing was written before the kill"
    assert {k: v for k, v in left.items() if clean.get(k) != v} == {}

    run_pipeline(work, "--unlock", "--configfile", "real.yaml")
    run_pipeline(work, "--configfile", "real.yaml")
    resumed = result_hashes(res)
    assert resumed.keys() == clean.keys()
    # The settings differ (source: export), so only the manifest (and the bundle that
    # carries it) may differ.
    assert [k for k in clean if clean[k] != resumed[k]] == [f"bundle/ethics-amendment-{CUT}.zip", "manifest.json"]
    export.chmod(stat.S_IRWXU)
    assert _tree_state(export) == before
    assert sorted(p.name for p in export.iterdir()) == sorted(before)


CANARIES = {"name": "Zebulon Quartermaine", "initials": "ZQX", "birth": "1961-07-23",
            "phone": "+86 571 8899 4321", "extra": "Canaryvalue Oglethorpe"}


BINARY_IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".emf"}


def strip_data_uris(text: str) -> str:
    """Embedded images are base64 (a 3-letter canary turns up there by chance)."""
    import re
    return re.sub(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+", "data:", text)


def _plant_canaries(export):
    import pandas as pd

    dm = pd.read_csv(export / "dm.csv", dtype=str, keep_default_na=False)
    dm["BRTHDTC"] = CANARIES["birth"]
    dm["SUBJINIT"] = CANARIES["initials"]
    dm["PATNAME"] = CANARIES["name"]
    dm["PHONE"] = CANARIES["phone"]
    dm.to_csv(export / "dm.csv", index=False)
    ae = pd.read_csv(export / "ae.csv", dtype=str, keep_default_na=False)
    ae["AECONTACT"] = CANARIES["extra"]          # a column the contract does not know
    # Free text typed at the site: the verbatim AE term and medication name.
    ae.loc[ae.index[:3], "AETERM"] = ae.loc[ae.index[:3], "AETERM"] + f" (told {CANARIES['name']}, {CANARIES['phone']})"
    ae.to_csv(export / "ae.csv", index=False)
    cm = pd.read_csv(export / "cm.csv", dtype=str, keep_default_na=False)
    cm.loc[cm.index[:2], "CMTRT"] = f"brought by {CANARIES['name']} born {CANARIES['birth']}"
    cm.to_csv(export / "cm.csv", index=False)
    supp = pd.read_csv(export / "suppdm.csv", dtype=str, keep_default_na=False)
    extra = supp.drop_duplicates("USUBJID").copy()
    extra["QNAM"], extra["QLABEL"], extra["QVAL"] = "NOKNAME", "Next of kin", CANARIES["name"]
    pd.concat([supp, extra]).to_csv(export / "suppdm.csv", index=False)


def _all_output_text(res):
    import pandas as pd
    import zipfile

    for p in sorted(res.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            yield p, pd.read_parquet(p).to_csv(index=False)
            yield p, " ".join(pd.read_parquet(p).columns)
        elif p.suffix in {".zip", ".docx"}:
            with zipfile.ZipFile(p) as z:
                for n in z.namelist():
                    if Path(n).suffix.lower() in BINARY_IMAGES:
                        continue
                    yield p, strip_data_uris(z.read(n).decode("utf-8", errors="ignore"))
        elif p.suffix == ".pdf":
            out = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True)
            assert out.returncode == 0, "pdftotext is needed to scan the PDF"
            yield p, out.stdout
        elif p.suffix.lower() in BINARY_IMAGES:
            continue  # pixels: a canary could only be drawn text, which no figure carries
        else:
            yield p, strip_data_uris(p.read_bytes().decode("utf-8", errors="ignore"))


def test_no_direct_identifier_reaches_any_output(demo_run, tmp_path):
    import shutil

    work1, _ = demo_run
    export = tmp_path / "export"
    shutil.copytree(work1 / "data" / "demo", export)
    _plant_canaries(export)
    work = copy_repo(tmp_path / "canary")
    (work / "real.yaml").write_text(yaml.safe_dump({"data": {"source": "export", "export_dir": str(export)}}))
    run_pipeline(work, "--configfile", "real.yaml")
    res = work / "results" / CUT
    scanned = 0
    for path, text in _all_output_text(res):
        scanned += 1
        for kind, canary in CANARIES.items():
            assert canary not in text, f"{kind} canary {canary!r} found in {path.relative_to(res)}"
        for col in ("BRTHDTC", "SUBJINIT", "PATNAME", "PHONE", "NOKNAME", "AECONTACT"):
            if path.suffix == ".parquet":
                assert col not in text.split(), f"column {col} in {path.relative_to(res)}"
    assert scanned > 20
