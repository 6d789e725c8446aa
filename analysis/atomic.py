"""Atomic writes: every output is written under a temporary name in its own folder
and renamed into place, so an interrupted run never leaves a complete-looking file."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _default_mode() -> int:
    """The mode an ordinary new file gets (0666 minus the umask), not mkstemp's 0600:
    colleagues who may read the results folder can read every output."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()


@contextlib.contextmanager
def atomic_path(target: Path | str):
    """Yield a temporary path next to `target`; rename it onto `target` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _MODE)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(target: Path | str, text: str) -> None:
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8", newline="\n")


def write_bytes(target: Path | str, data: bytes) -> None:
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(data)
