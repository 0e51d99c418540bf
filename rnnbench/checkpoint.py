"""Checkpoint and resume: the state after each finished epoch, so a killed run continues where it stopped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from rnnbench.io import BadFile, atomic_path, read_csv


class Checkpoint:
    """The state after each finished epoch, in ``directory``: weights with the optimizer's state,
    and the history so far. Each epoch is written to its own folder and then published by
    atomically replacing the ``latest`` pointer, so a kill at any moment leaves a usable state."""

    def __init__(self, directory, identity: str = ""):
        self.directory = Path(directory) if directory else None
        self.identity = identity  # what was being trained: a checkpoint of anything else is discarded

    def restore(self, model) -> tuple[pd.DataFrame, list | None] | None:
        """The history so far and the best weights kept for early stopping (or None)."""
        if self.directory is None or not (self.directory / "latest").exists():
            return None
        identity = self.directory / "identity.json"
        if not identity.exists() or identity.read_text() != self.identity:
            print(f"discarding {self.directory}: it checkpoints another spec or seed")
            self.remove()
            return None
        folder = self.directory / (self.directory / "latest").read_text().strip()
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        best = None
        try:
            if (folder / "best.weights.h5").exists():
                model.load_weights(folder / "best.weights.h5")
                best = model.get_weights()
            model.load_weights(folder / "state.weights.h5")
            history = read_csv(folder / "history.csv", ["epoch"])
        except (OSError, ValueError) as error:
            raise BadFile(folder, f"a checkpoint that cannot be read ({' '.join(str(error).split())[:200]})",
                          f"delete {self.directory} to train the run again from its first epoch") from None
        return history, best

    def save(self, model, history: pd.DataFrame, best: list | None = None) -> None:
        if self.directory is None:
            return
        name = f"epoch-{int(history['epoch'].iloc[-1]):04d}"
        folder = self.directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        identity = self.directory / "identity.json"
        # Written once and whole: a kill mid-write must not leave it naming another run.
        if not identity.is_file() or identity.read_text() != self.identity:
            with atomic_path(identity) as tmp:
                tmp.write_text(self.identity)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        try:
            model.save_weights(folder / "state.weights.h5")
            if best is not None:
                current = model.get_weights()
                model.set_weights(best)
                model.save_weights(folder / "best.weights.h5")
                model.set_weights(current)
            history.to_csv(folder / "history.csv", index=False)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # a half-written epoch (a full disk) frees its space
            raise
        with atomic_path(self.directory / "latest") as tmp:
            tmp.write_text(name)
        for old in self.directory.glob("epoch-*"):
            if old.name != name:
                shutil.rmtree(old)

    def remove(self) -> None:
        if self.directory is not None and self.directory.exists():
            shutil.rmtree(self.directory)


