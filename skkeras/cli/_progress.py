"""Progress lines on standard error: on for a terminal, off under ``--quiet`` or in a pipe."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints what a long command is doing, one line per step, trial or split.

    Parameters
    ----------
    quiet : bool
        The user's ``--quiet``: no progress and no summary.
    stream : file, default=sys.stderr
        Where progress goes; progress is shown only when it is a terminal.
    """

    def __init__(self, quiet: bool, stream: TextIO | None = None):
        self.stream = sys.stderr if stream is None else stream
        self.quiet = quiet
        self.enabled = not quiet and _is_terminal(self.stream)
        self._start = time.perf_counter()

    def step(self, message: str) -> None:
        """Announce a stage of the command."""
        if self.enabled:
            elapsed = time.perf_counter() - self._start
            print(f"[{elapsed:6.1f}s] {message}", file=self.stream, flush=True)

    def detail(self, message: str) -> None:
        """A line within a stage (a trial, a split)."""
        if self.enabled:
            print(f"          {message}", file=self.stream, flush=True)

    def summary(self, text: str) -> None:
        """The command's result (tables, paths) on standard output, unless ``--quiet``."""
        if not self.quiet:
            print(text, flush=True)

    def trial_callback(self, n_trials: int):
        """An Optuna callback printing one line per finished trial."""
        seen = {"count": 0}

        def callback(study, trial) -> None:
            seen["count"] += 1
            state = trial.state.name.lower()
            value = "" if trial.value is None else f" score {trial.value:.4f}"
            try:
                best = f" (best {study.best_value:.4f})"
            except ValueError:
                best = ""
            self.detail(f"trial {trial.number} [{seen['count']}/{n_trials}] {state}{value}{best}")

        return callback


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
