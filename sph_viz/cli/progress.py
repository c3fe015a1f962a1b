"""A tqdm progress bar on stderr fed by `train_model`'s `on_progress`, one per run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import SimpleNamespace

from tqdm import tqdm

from sph_viz.training.loop import Progress


class StepBar:
    """Call with each `Progress`; the bar opens on the first call and closes on the last step."""

    def __init__(self, label: str) -> None:
        self.label, self.bar = label, None

    def __call__(self, p: Progress) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=p.total_steps, desc=self.label, unit="step", file=sys.stderr, mininterval=0.5
            )
        self.bar.update(p.step - self.bar.n)
        self.bar.set_postfix_str(f"epoch {p.epoch} loss {p.loss:.4f} acc {p.accuracy:.2%}", refresh=False)
        if p.step == p.total_steps:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_bar(progress: Callable | None, name: str, train) -> Callable:
    """The bar for one run: the CLI's factory (called with an object with .name and .train, as
    `sph_viz.cli.main` passes it), else a `StepBar` labelled "name seed S"."""
    if progress is not None:
        return progress(SimpleNamespace(name=name, train=train))
    return StepBar(f"{name} seed {train.seed}")
