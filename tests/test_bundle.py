"""The ethics-amendment bundle: every file listed with a matching SHA-256, `verify`
detects a changed byte anywhere, and a finished bundle is not overwritten by a run on
different input data."""
import json
import shutil
import zipfile

import pytest

from analysis.bundle import (MANIFEST, BundleRefused, check_overwrite, main, read_manifest,
                             verify_bundle)
from pipeline_runs import CUT


@pytest.fixture(scope="module")
def bundle(demo_run):
    _, res = demo_run
    return res / "bundle" / f"ethics-amendment-{CUT}.zip"


def test_bundle_contents(bundle, demo_run):
    _, res = demo_run
    assert bundle.is_file()
    m = read_manifest(bundle)
    names = {f["file"] for f in m["files"]}
    assert {"reports/interim-report.pdf", "reports/interim-report.docx",
            "tlf/tables/T-SETS.rtf", "tlf/tables/T-SETS.csv", "validation/validation-report.md",
            "manifest.json"} <= names
    assert m["inputs"] and all(len(i["sha256"]) == 64 for i in m["inputs"])
    assert m["settings"]["data_cut"] == CUT and m["software"]["pandas"]
    with zipfile.ZipFile(bundle) as z:
        assert z.read(f"ethics-amendment-{CUT}/reports/interim-report.pdf") == (res / "reports/interim-report.pdf").read_bytes()
        assert z.read(f"ethics-amendment-{CUT}/tlf/tables/T-SETS.rtf").startswith(b"{\\rtf1")
    assert verify_bundle(bundle) == []
    assert main(["verify", str(bundle)]) == 0


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            data = change(info.filename, data)
            if data is not None:
                zout.writestr(info, data)


@pytest.mark.parametrize("target", ["reports/interim-report.pdf", "tlf/tables/T-DISP.csv",
                                    "validation/validation-report.json"])
def test_verify_detects_one_changed_byte(bundle, tmp_path, target, capsys):
    bad = tmp_path / "bad.zip"

    def flip(name, data):
        if name.endswith("/" + target):
            i = len(data) // 2
            return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
        return data
    _rewrite(bundle, bad, flip)
    problems = verify_bundle(bad)
    assert len(problems) == 1 and problems[0].startswith(target + ": SHA-256")
    assert main(["verify", str(bad)]) == 1
    assert target in capsys.readouterr().out


def test_verify_detects_missing_and_extra_files(bundle, tmp_path):
    bad = tmp_path / "bad.zip"
    _rewrite(bundle, bad, lambda n, d: None if n.endswith("T-SETS.rtf") else d)
    with zipfile.ZipFile(bad, "a") as z:
        z.writestr(f"ethics-amendment-{CUT}/notes.txt", b"extra")
    problems = verify_bundle(bad)
    assert any("T-SETS.rtf: listed in MANIFEST but missing" in p for p in problems)
    assert any("notes.txt: in the bundle but not listed" in p for p in problems)


def test_finished_bundle_not_overwritten_by_different_input(bundle):
    inputs = read_manifest(bundle)["inputs"]
    check_overwrite(bundle, inputs, allow=False)          # same data: allowed
    changed = [dict(i) for i in inputs]
    changed[0]["sha256"] = "0" * 64
    with pytest.raises(BundleRefused, match=rf"{changed[0]['file']} \(changed\).*allow_overwrite"):
        check_overwrite(bundle, changed, allow=False)
    check_overwrite(bundle, changed, allow=True)           # explicit setting


def test_ingest_refuses_to_replace_a_bundle_built_from_other_data(demo_run, tmp_path):
    from analysis.ingest import ingest

    work, res = demo_run
    export = tmp_path / "export"
    shutil.copytree(work / "data" / "demo", export)
    out = tmp_path / "results" / CUT
    (out / "bundle").mkdir(parents=True)
    zipped = out / "bundle" / f"ethics-amendment-{CUT}.zip"
    shutil.copy2(res / "bundle" / zipped.name, zipped)
    ingest(export, CUT, out, existing_bundle=zipped)                   # same data: goes on
    with open(export / "ae.csv", "a", encoding="utf-8") as f:         # one changed byte
        f.write("\n")
    shutil.rmtree(out / "sdtm")
    with pytest.raises(BundleRefused, match=r"ae\.csv \(changed\)"):
        ingest(export, CUT, out, existing_bundle=zipped)
    assert not (out / "sdtm").exists()                                  # nothing written
    ingest(export, CUT, out, existing_bundle=zipped, allow_overwrite=True)
    assert (out / "sdtm" / "ingest.json").exists()
