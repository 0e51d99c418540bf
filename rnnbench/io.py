"""Atomic file writes: a reader sees the old file or the complete new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(value: Any, path: str | Path) -> None:
    write_text(json.dumps(value, indent=1, sort_keys=True), path)


def write_csv(frame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_npy(array, path: str | Path) -> None:
    import numpy as np

    with atomic_path(path) as tmp:
        np.save(tmp, array, allow_pickle=False)


def log_to(path: str | Path):
    """Send this process's stdout and stderr, Python's and native code's alike, to ``path``.

    TensorFlow's C++ logging writes to file descriptor 2 directly, so reassigning
    ``sys.stderr`` is not enough to keep it out of Snakemake's console.
    """
    import sys

    log = open(path, "w", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    return log


def exit_now(status: int = 0):
    """End this process at once: run its ``atexit`` handlers, flush Python's streams, and skip the
    interpreter's teardown of its modules.

    With TensorFlow loaded that teardown takes about 1 s (docs/performance.md, "P2: the seconds
    after the last line"), paid by every training job; a job's outputs are all
    written by then. Call it as a job's last statement, on success only."""
    import atexit
    import sys

    atexit._run_exitfuncs()  # logging's shutdown among them
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    os._exit(status)
