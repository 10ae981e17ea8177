"""A small filesystem that a test can fill up: a tmpfs of a few MiB mounted on a temporary
folder (``mount -t tmpfs -o size=8m``), unmounted afterwards.

Mounting needs root (or CAP_SYS_ADMIN): where it is not permitted the test is skipped with
the reason, loudly; ``AGENTCRON_REQUIRE_TMPFS=1`` makes that a failure.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["Disk", "small_disk"]

REQUIRED = os.environ.get("AGENTCRON_REQUIRE_TMPFS", "") not in ("", "0", "false")


class Disk:
    """A mounted tmpfs: ``fill()`` takes every free byte with a filler file, ``free()``
    deletes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self) -> int:
        """Write the filler until the disk is full; return its size."""
        chunk = b"\0" * 65536
        with open(self.filler, "ab", buffering=0) as out:
            while True:
                try:
                    out.write(chunk[: max(1, min(len(chunk), self.free_bytes()))])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        return self.filler.stat().st_size

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextlib.contextmanager
def small_disk(
    size: str = "8m", *, uid: int | None = None, gid: int | None = None
) -> Iterator[Disk]:
    """A tmpfs of ``size`` (owned by ``uid``/``gid`` when given), unmounted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="agentcron-disk-"))
    options = f"size={size},mode=0755"
    if uid is not None:
        options += f",uid={uid},gid={gid if gid is not None else uid}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        reason = (done.stderr or done.stdout).strip() or f"exit {done.returncode}"
        message = f"FULL-DISK TEST NOT RUN: cannot mount a tmpfs here ({reason})"
        if REQUIRED:
            pytest.fail(message + " (AGENTCRON_REQUIRE_TMPFS is set)", pytrace=False)
        pytest.skip(message)
    try:
        yield Disk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
