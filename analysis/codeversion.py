"""The version of the code a job runs, for Snakemake's params (rerun when code changes).

Snakemake reruns a job when its rule's `run:` block changes, but the logic lives in
the package `analysis/`, which Snakemake does not track: after `git pull`, outputs
made by the old code would be kept beside outputs of the new, and the manifest would
name a commit that did not make them. Each rule therefore has the parameter
`code=code_version("<script>")`: a SHA-256 over workflow/scripts/<script>.py and every
module of the package it imports, directly or through other modules. A change to
`analysis/adlb.py` reruns the jobs whose scripts reach it, and no others.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "analysis"
SCRIPTS = ROOT / "workflow" / "scripts"
# How jobs are run, not what they compute: a change here reruns nothing.
RUNNER = {PACKAGE / "inprocess.py", PACKAGE / "worker.py", PACKAGE / "early_cutoff.py",
          PACKAGE / "codeversion.py"}


def _module_file(name: str) -> Path | None:
    """analysis.x (or a script-local module such as _common) -> its file, else None."""
    parts = name.split(".")
    if parts[0] == "analysis":
        base = PACKAGE.joinpath(*parts[1:])
        for cand in (base.with_suffix(".py"), base / "__init__.py"):
            if cand.is_file():
                return cand
        return None
    cand = SCRIPTS / f"{name}.py"
    return cand if len(parts) == 1 and cand.is_file() else None


_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)", re.M)
_FROM = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)", re.M)


@lru_cache(maxsize=None)
def imported_files(path: Path) -> frozenset[Path]:
    """Files of the package (and script helpers) that `path` imports, one level (import
    statements anywhere in the file, also inside functions; read with two regular
    expressions: parsing every module's syntax tree at each start took seconds)."""
    text = path.read_text(encoding="utf-8")
    names: list[str] = []
    for m in _IMPORT.finditer(text):
        names += [n.strip() for n in m.group(1).split(",")]
    for m in _FROM.finditer(text):
        module = m.group(1)
        items = m.group(2).strip("() \t\n").replace("\n", " ")
        names.append(module)
        names += [f"{module}.{a.split(' as ')[0].strip()}" for a in items.split(",") if a.strip()]
    return frozenset(f for f in map(_module_file, names) if f is not None)


def code_files(script: str) -> list[Path]:
    """The script and everything of the package it reaches through imports."""
    todo = [SCRIPTS / f"{script}.py"]
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo.extend(imported_files(f) - seen - RUNNER)
    return sorted(seen)


@lru_cache(maxsize=None)
def code_version(script: str) -> str:
    h = hashlib.sha256()
    for f in code_files(script):
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]
