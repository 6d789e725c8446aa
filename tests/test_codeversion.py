"""A job reruns when the code it runs changes: code_version follows the imports."""
from __future__ import annotations

import pytest

from analysis import codeversion as cv


@pytest.fixture
def tree(tmp_path, monkeypatch):
    pkg, scripts = tmp_path / "analysis", tmp_path / "workflow" / "scripts"
    pkg.mkdir()
    scripts.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from analysis import b\n")
    (pkg / "b.py").write_text("import pandas\nX = 1\n")
    (pkg / "c.py").write_text("Y = 2\n")
    (pkg / "inprocess.py").write_text("Z = 3\n")
    (scripts / "_common.py").write_text("")
    (scripts / "s.py").write_text("import _common\nfrom analysis.a import b\nfrom analysis import inprocess\n")
    (scripts / "t.py").write_text("import analysis.c\n")
    monkeypatch.setattr(cv, "ROOT", tmp_path)
    monkeypatch.setattr(cv, "PACKAGE", pkg)
    monkeypatch.setattr(cv, "SCRIPTS", scripts)
    monkeypatch.setattr(cv, "RUNNER", {pkg / "inprocess.py"})
    cv.code_version.cache_clear()
    yield tmp_path
    cv.code_version.cache_clear()


def test_code_files_follow_imports_through_modules_and_skip_the_runner(tree):
    names = {str(p.relative_to(tree)) for p in cv.code_files("s")}
    assert names == {"workflow/scripts/s.py", "workflow/scripts/_common.py", "analysis/__init__.py",
                     "analysis/a.py", "analysis/b.py"}
    assert {p.name for p in cv.code_files("t")} == {"t.py", "c.py"}


def test_a_change_two_imports_away_changes_the_version_of_that_script_only(tree):
    s0, t0 = cv.code_version("s"), cv.code_version("t")
    (tree / "analysis" / "b.py").write_text("import pandas\nX = 2\n")
    cv.code_version.cache_clear()
    assert cv.code_version("s") != s0
    assert cv.code_version("t") == t0
    (tree / "analysis" / "inprocess.py").write_text("Z = 4\n")
    cv.code_version.cache_clear()
    s1 = cv.code_version("s")
    (tree / "analysis" / "inprocess.py").write_text("Z = 5\n")
    cv.code_version.cache_clear()
    assert cv.code_version("s") == s1
