"""The ethics-amendment bundle: one zip with the reports (PDF, DOCX), the TLF package
(every table and figure as its own file, tables also as RTF), the validation report,
and a MANIFEST listing every file with its SHA-256, the input files' SHA-256, the
settings and the software versions.

`verify_bundle` rechecks a bundle against its MANIFEST and says exactly what differs:
    python -m analysis.bundle verify results/<cut>/bundle/ethics-amendment-<cut>.zip
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from analysis.atomic import atomic_path

MANIFEST = "MANIFEST"
# Fixed member timestamp (zip stores local time without zone; 1980 is its epoch).
ZIP_TIME = (2000, 1, 1, 0, 0, 0)


class BundleRefused(RuntimeError):
    """A finished bundle would be overwritten by a run on different input data."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle_name(cut: str) -> str:
    return f"ethics-amendment-{cut}"


def plan_members(results_dir: Path, documents: list[str], tables: list[str], figures: list[str]) -> list[tuple[str, Path]]:
    """(name in the zip, file on disk) for every member, in a stable order."""
    res = Path(results_dir)
    members: list[tuple[str, Path]] = []
    for doc in documents:
        for ext in ("pdf", "docx"):
            members.append((f"reports/{doc}.{ext}", res / "reports" / f"{doc}.{ext}"))
    for tid in tables:
        for ext in ("rtf", "csv", "html"):
            p = res / "tables" / f"{tid}.{ext}"
            if p.exists() or ext != "html":
                members.append((f"tlf/tables/{tid}.{ext}", p))
    for fid in figures:
        for ext in ("png", "svg"):
            members.append((f"tlf/figures/{fid}.{ext}", res / "figures" / f"{fid}.{ext}"))
    for name in ("validation-report.md", "validation-report.csv", "validation-report.json"):
        members.append((f"validation/{name}", res / "validation" / name))
    members.append(("manifest.json", res / "manifest.json"))
    missing = [str(p) for _, p in members if not p.is_file()]
    if missing:
        raise FileNotFoundError("bundle: missing files: " + ", ".join(missing))
    return members


def build_manifest(cut: str, members: list[tuple[str, bytes]], run_manifest: dict) -> dict:
    return {
        "bundle": bundle_name(cut),
        "data_cut": cut,
        "files": [{"file": name, "sha256": sha256_bytes(data), "bytes": len(data)} for name, data in members],
        "inputs": run_manifest.get("inputs", []),
        "settings": run_manifest.get("settings", {}),
        "software": run_manifest.get("software", {}),
        "git": run_manifest.get("git", {}),
        "renderers": run_manifest.get("renderers", []),
    }


def _zipinfo(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    return zi


def write_bundle(results_dir: Path | str, cut: str, documents: list[str], tables: list[str],
                 figures: list[str], out_zip: Path | str) -> dict:
    """Write the bundle zip (deterministic: fixed member times, sorted members)."""
    results_dir = Path(results_dir)
    plan = plan_members(results_dir, documents, tables, figures)
    members = [(name, path.read_bytes()) for name, path in plan]
    run_manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest = build_manifest(cut, members, run_manifest)
    prefix = bundle_name(cut) + "/"
    with atomic_path(out_zip) as tmp:
        with zipfile.ZipFile(tmp, "w") as z:
            z.writestr(_zipinfo(prefix + MANIFEST),
                       json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
            for name, data in members:
                z.writestr(_zipinfo(prefix + name), data)
    return manifest


def read_manifest(zip_path: Path | str) -> dict:
    with zipfile.ZipFile(zip_path) as z:
        names = [n for n in z.namelist() if n.endswith("/" + MANIFEST) or n == MANIFEST]
        if not names:
            raise ValueError(f"{zip_path}: no {MANIFEST} in the bundle")
        return json.loads(z.read(names[0]).decode("utf-8"))


def verify_bundle(zip_path: Path | str) -> list[str]:
    """Every difference between a bundle and its MANIFEST (empty list when it matches)."""
    problems = []
    try:
        z = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{zip_path}: not a readable zip file ({exc})"]
    with z:
        manifest = read_manifest(zip_path)
        prefix = manifest.get("bundle", "") + "/"
        listed = {f["file"]: f for f in manifest.get("files", [])}
        present = {n[len(prefix):] if n.startswith(prefix) else n for n in z.namelist() if not n.endswith("/")}
        present.discard(MANIFEST)
        for name, entry in sorted(listed.items()):
            if name not in present:
                problems.append(f"{name}: listed in {MANIFEST} but missing from the bundle")
                continue
            data = z.read(prefix + name)
            got = sha256_bytes(data)
            if got != entry["sha256"]:
                problems.append(f"{name}: SHA-256 {got} differs from the {MANIFEST} ({entry['sha256']})"
                                + (f"; size {len(data)} bytes, listed {entry.get('bytes')}" if entry.get("bytes") != len(data) else ""))
        for name in sorted(present - set(listed)):
            problems.append(f"{name}: in the bundle but not listed in the {MANIFEST}")
    return problems


def check_overwrite(zip_path: Path | str, current_inputs: list[dict], allow: bool) -> None:
    """Refuse to replace a finished bundle built from different input data under the same
    data cut, unless explicitly allowed (setting bundle.allow_overwrite)."""
    zip_path = Path(zip_path)
    if allow or not zip_path.exists():
        return
    try:
        old = {i["file"]: i["sha256"] for i in read_manifest(zip_path).get("inputs", [])}
    except (ValueError, zipfile.BadZipFile, KeyError, OSError):
        old = None
    new = {i["file"]: i["sha256"] for i in current_inputs}
    if old == new:
        return
    if old is None:
        why = "its MANIFEST cannot be read"
    else:
        changed = sorted(f for f in set(old) | set(new) if old.get(f) != new.get(f))
        why = "the input data differ: " + ", ".join(
            f"{f} ({'new' if f not in old else 'removed' if f not in new else 'changed'})" for f in changed)
    raise BundleRefused(
        f"A finished ethics-amendment bundle already exists for this data cut ({zip_path}) and "
        f"{why}. It is not overwritten. Use a new data cut, move the old bundle away, or set "
        f"bundle.allow_overwrite: true if replacing it is intended.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.bundle", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="recheck a bundle against its MANIFEST")
    v.add_argument("zip", type=Path)
    args = ap.parse_args(argv)
    problems = verify_bundle(args.zip)
    if problems:
        print(f"{args.zip}: {len(problems)} difference(s) from its MANIFEST:")
        for p in problems:
            print(f"  - {p}")
        return 1
    n = len(read_manifest(args.zip).get("files", []))
    print(f"{args.zip}: OK, all {n} files match their SHA-256 in the MANIFEST")
    return 0


if __name__ == "__main__":
    sys.exit(main())
