"""Atomic writes: all or nothing, and an ordinary file mode (not mkstemp's 0600)."""
from __future__ import annotations

import os
import stat

import pytest

from analysis import atomic


def test_written_file_gets_the_mode_of_an_ordinary_new_file(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_MODE", 0o666 & ~0o022)
    atomic.write_text(tmp_path / "out" / "t.md", "x\n")
    assert stat.S_IMODE(os.stat(tmp_path / "out" / "t.md").st_mode) == 0o644


def test_failed_write_leaves_neither_target_nor_temporary_file(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(tmp_path / "t.parquet") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_default_mode_follows_the_umask():
    old = os.umask(0o027)
    try:
        assert atomic._default_mode() == 0o640
    finally:
        os.umask(old)
