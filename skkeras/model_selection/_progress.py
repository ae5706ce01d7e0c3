"""A progress bar over trials showing the best score so far (an Optuna study callback)."""

from __future__ import annotations

import math
import threading

from optuna.trial import TrialState


class ProgressBar:
    """Advance a tqdm bar by one per finished trial; show best score, pruned and failed counts."""

    def __init__(self, total: int | None):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc="trials", unit="trial", leave=True)
        self._lock = threading.Lock()
        self._pruned = self._failed = 0
        self._best = -math.inf

    def __call__(self, study, trial) -> None:
        with self._lock:
            if trial.state == TrialState.PRUNED:
                self._pruned += 1
            elif trial.state == TrialState.FAIL:
                self._failed += 1
            elif trial.state == TrialState.COMPLETE and trial.value > self._best:
                self._best = trial.value
            best = "-" if self._best == -math.inf else f"{self._best:.4f}"
            self._bar.set_postfix(best=best, pruned=self._pruned, failed=self._failed)
            self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
