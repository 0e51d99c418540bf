"""Files in and out. Writes are atomic (a reader sees the old file or the complete new one, never half
of one) and honour the umask; a file that cannot be read raises ``BadFile``, one line naming its
path, what is wrong, and the command that rebuilds it."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


class BadFile(ValueError):
    """A file a job reads that is unreadable or inconsistent with what it claims to hold; ``remedy``: what
    to do about it, by default the command that rebuilds it."""

    def __init__(self, path: str | Path, problem: str, remedy: str | None = None):
        self.path = str(path)
        super().__init__(f"{path}: {problem}; {remedy or rebuild_hint(path)}")


def rebuild_hint(path: str | Path) -> str:
    """The command that rebuilds a workflow file, whatever is wrong with it."""
    return f"rebuild it with `snakemake --cores 1 --force {path}`, then run your target again"


def _umask() -> int:
    """This process's umask, read without setting it where Linux tells it (setting it, even back at once,
    would race with the files other threads create)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it over ``path`` on success, with
    the permissions a plain ``open`` would give (0644 under the usual umask 022)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
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


def read_json(path: str | Path, keys: Iterable[str] = ()) -> dict:
    """A JSON object holding at least ``keys``."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise BadFile(path, "missing") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadFile(path, f"not valid JSON ({error.msg}, line {error.lineno} column {error.colno})") from None
    if not isinstance(value, dict):
        raise BadFile(path, f"holds a JSON {type(value).__name__}, not an object")
    missing = [key for key in keys if key not in value]
    if missing:
        raise BadFile(path, f"lacks {', '.join(missing)}")
    return value


def read_csv(path: str | Path, columns: Iterable[str] = ()):
    """A whole CSV table (its last line ends, so nothing was cut off) holding at least ``columns``."""
    import pandas as pd

    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - 1, 0))
            last = handle.read(1)
    except FileNotFoundError:
        raise BadFile(path, "missing") from None
    if size == 0:
        raise BadFile(path, "empty")
    if last != b"\n":
        raise BadFile(path, "cut off: its last line does not end")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise BadFile(path, f"not a readable CSV table ({str(error).strip().splitlines()[0]})") from None
    missing = [column for column in columns if column not in frame]
    if missing:
        raise BadFile(path, f"lacks the column(s) {', '.join(missing)}")
    return frame


def load_npy(path: str | Path):
    """One numpy array (no pickles)."""
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BadFile(path, "missing") from None
    except (OSError, ValueError, EOFError) as error:
        raise BadFile(path, f"not a readable .npy file ({error})") from None


def load_npz(path: str | Path, keys: Iterable[str] = (), only: Iterable[str] | None = None) -> dict:
    """The arrays of an npz archive (no pickles; ``only`` these, else every one), which must hold ``keys``."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files if only is None or key in only}
    except FileNotFoundError:
        raise BadFile(path, "missing") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as error:
        raise BadFile(path, f"not a readable npz archive ({error})") from None
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise BadFile(path, f"lacks the array(s) {', '.join(missing)}")
    return arrays


PNG_START, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def read_png(path: str | Path) -> bytes:
    """A whole PNG file's bytes: its signature first and its end chunk last."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise BadFile(path, "missing") from None
    if not data.startswith(PNG_START) or not data.endswith(PNG_END):
        raise BadFile(path, "not a whole PNG image (cut off, or not a PNG)")
    return data
