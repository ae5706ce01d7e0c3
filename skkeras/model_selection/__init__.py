"""Model selection for skkeras estimators: bootstrapped benchmarking of hyperparameters."""

from ._bootstrap import BootstrapResult, bootstrap_evaluate

__all__ = ["BootstrapResult", "bootstrap_evaluate"]
