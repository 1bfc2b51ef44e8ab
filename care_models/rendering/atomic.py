"""Publishing a folder atomically: write into a private staging directory, then rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_directory(out_dir: Path, target: Path, prefix: str) -> Iterator[Path]:
    """Yield a staging directory under ``out_dir``; on success it becomes ``target``.

    On any error the staging directory is removed and ``target`` is left as it was.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir))
    try:
        yield staging
        move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def move_into_place(staging: Path, target: Path) -> None:
    """Rename the staging directory to ``target``, replacing an earlier publication."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.rename(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=staging.parent))
    os.rename(target, retired / "previous")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired / "previous", target)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)


def write_file(target: Path, content: bytes) -> Path:
    """Write one file whole: a reader sees the old file or the new one, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.part")
    staging.write_bytes(content)
    os.replace(staging, target)
    return target
