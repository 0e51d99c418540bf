"""A training job's hold on its run: one job at a time trains a run, and none trains on once the
Snakemake process that started it is gone (killed, it leaves its jobs running)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator


class RunBusy(RuntimeError):
    """Another live process trains the same run."""


@contextlib.contextmanager
def hold_run(directory, wait: float = 15.0) -> Iterator[None]:
    """Hold ``directory``'s lock (``.lock``, naming this process, removed when the block succeeds) while
    the block runs. A run held by another process is waited for ``wait`` seconds (an orphan stops
    within a second of losing its Snakemake), then refused with a message naming that process."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".lock"
    handle = open(path, "a+")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise RunBusy(
                        f"{directory} is being trained by {holder}; wait for it to end, or stop it, "
                        "then run the same command again"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
        path.unlink(missing_ok=True)
    finally:
        handle.close()


def snakemake_ancestor():
    """The nearest ancestor process that runs Snakemake (a ``psutil.Process``), or None (a job run by
    hand, as ``python -m rnnbench.jobs`` does)."""
    import psutil

    for process in psutil.Process().parents():
        try:
            if any("snakemake" in Path(part).name for part in process.cmdline()[:3]):
                return process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


class SnakemakeWatch:
    """Ends this process (exit status 75) within ``interval`` seconds of the Snakemake process that started
    it ending. The run's last checkpoint stays, and the next job resumes from it."""

    STATUS = 75

    def __init__(self, interval: float = 0.5):
        self.snakemake = snakemake_ancestor()
        self.interval = interval
        if self.snakemake is not None:
            threading.Thread(target=self._watch, name="snakemake-watch", daemon=True).start()

    def alive(self) -> bool:
        import psutil

        if self.snakemake is None:
            return True
        try:  # a killed process not yet reaped is a zombie, and psutil counts a zombie as running
            return self.snakemake.is_running() and self.snakemake.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def check(self) -> None:
        """End this process now if its Snakemake is gone."""
        if not self.alive():
            print(f"Snakemake (process {self.snakemake.pid}) is gone: stopping; the next job resumes from "
                  "the last checkpoint", file=sys.stderr, flush=True)
            os._exit(self.STATUS)

    def _watch(self) -> None:
        while True:
            time.sleep(self.interval)
            self.check()
