"""A job's TensorFlow set-up (threads, seeds, determinism, the XLA program cache) and the host
facts a run records."""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
from pathlib import Path


def xla_cache_directory(root) -> Path:
    """Where XLA keeps compiled training steps between jobs: under ``root``, one folder per
    TensorFlow version and CPU. TensorFlow keys an entry by the program alone, so a folder shared
    by hosts of another instruction set or another TensorFlow would hand them programs they cannot
    run; the folder name keeps those apart."""
    from importlib import metadata

    versions = []
    for package in ("tensorflow", "tensorflow-cpu"):
        try:
            versions.append(f"{package}-{metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    model_and_flags = _cpuinfo("model name") + _cpuinfo("flags")
    cpu = platform.machine() + ("".join(model_and_flags) if model_and_flags else platform.processor())
    fingerprint = hashlib.sha256(cpu.encode()).hexdigest()[:12]
    return Path(root) / "xla" / f"{'_'.join(versions) or 'tensorflow'}-{platform.machine()}-{fingerprint}"


def prune_xla_cache(directory) -> list[Path]:
    """Delete the entries of an XLA cache folder that are not whole protocol buffers; return them.

    TensorFlow writes entries atomically, but a file damaged afterwards (a full disk, a copy cut
    short) makes it fail the training step, and Keras reports that as an epoch without a single
    step (loss NaN) instead of an error. A cache loses nothing by dropping an entry."""
    from google.protobuf import empty_pb2
    from google.protobuf.message import DecodeError

    removed = []
    for path in sorted(Path(directory).glob("*.pb")) if directory is not None else []:
        try:
            content = path.read_bytes()
            empty_pb2.Empty().ParseFromString(content)  # checks the wire format, whatever the message
            damaged = not content
        except DecodeError:
            damaged = True
        if damaged:
            path.unlink(missing_ok=True)
            removed.append(path)
            print(f"removed a damaged XLA cache entry: {path}")
    return removed


def configure_tensorflow(threads: int, seed: int, xla_cache=None, bfc_allocator: bool | None = None) -> None:
    """Thread counts, seeds and op determinism; call before any TensorFlow op runs.

    ``xla_cache``: a folder (``xla_cache_directory``) where XLA saves each compiled program and
    loads it in later jobs instead of compiling it again (the seeds of one variant share their
    programs). ``bfc_allocator``: True for TensorFlow's own best-fit allocator for CPU tensors, which
    keeps the memory it has mapped, so a steady epoch faults none in; False for TensorFlow's default,
    malloc, whose freed large blocks some C libraries hand back to the kernel and fault in again on the
    next step; None: the best-fit allocator unless the environment chooses (``TF_CPU_ALLOCATOR_USE_BFC``).
    Either gives the same bytes. It takes effect only before TensorFlow is first imported in the
    process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if bfc_allocator is None:
        os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    else:
        os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "true" if bfc_allocator else "false"
    if xla_cache is not None:
        prune_xla_cache(xla_cache)
        flag = f"--tf_xla_persistent_cache_directory={xla_cache}"
        flags = os.environ.get("TF_XLA_FLAGS", "")
        if "tf_xla_persistent_cache_directory" not in flags:
            os.environ["TF_XLA_FLAGS"] = f"{flags} {flag}".strip()
    keras = import_keras()
    import tensorflow as tf

    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) != (threads, threads):
        # Raises RuntimeError once TensorFlow has initialised its thread pools:
        # a job must call this first, and does.
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def import_keras():
    """Keras, imported without the packages it loads eagerly, when installed, only for helpers no job
    uses (matplotlib.pyplot for an image gallery, scikit-learn for its estimator wrappers): together
    a noticeable part of each training job's start. Afterwards both import as usual."""
    with _without("matplotlib", "sklearn"):
        import keras
    return keras


@contextlib.contextmanager
def _without(*packages: str):
    """Make ``import package`` fail inside the block for each package not imported already."""
    hidden = [package for package in packages if package not in sys.modules]
    for package in hidden:
        sys.modules[package] = None  # the import system's own "not importable" mark
    try:
        yield
    finally:
        for package in hidden:
            if sys.modules.get(package, 0) is None:
                del sys.modules[package]


def checkout_commit(repo) -> str | None:
    """The git commit of the checkout at ``repo``, marked when files tracked there were changed; None
    outside a git checkout."""
    import subprocess

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return commit


def host_facts() -> dict:
    """What a Keras run records about where and with what it ran (call after training: peak memory)."""
    import keras
    import tensorflow as tf

    return {
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        **machine_facts(),
        "device": _device(),
    }


def machine_facts() -> dict:
    """What every run records about where it ran, TensorFlow or not (call after the fit: peak memory)."""
    import resource
    import socket

    import numpy as np

    return {
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "device": _cpu_device(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        return "GPU: " + ", ".join(names)
    return _cpu_device()


def _cpu_device() -> str:
    return "CPU: " + (_cpu_model() or platform.processor() or platform.machine())


def _cpu_model() -> str | None:
    models = _cpuinfo("model name")
    return models[0] if models else None


def _cpuinfo(field: str) -> list[str]:
    """The values of one field of /proc/cpuinfo, one per processor (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as handle:
            fields = (line.partition(":") for line in handle)
            return [value.strip() for name, _, value in fields if name.strip() == field]
    except OSError:
        return []
