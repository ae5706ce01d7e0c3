"""Model selection for skkeras estimators: bootstrapped benchmarking of hyperparameters, Optuna
search with pruning, search spaces, storage.

Importing this module imports Optuna (Keras only when a search runs).
"""

from ._bootstrap import BootstrapResult, bootstrap_evaluate
from ._optuna_search import OptunaSearchCV
from ._plots import save_optimization_history, save_param_importances
from ._search_spaces import LayerPyramid, SearchSpace, default_search_space, mlp_search_space
from ._storage import make_rdb_storage

__all__ = [
    "BootstrapResult",
    "LayerPyramid",
    "OptunaSearchCV",
    "SearchSpace",
    "bootstrap_evaluate",
    "default_search_space",
    "make_rdb_storage",
    "mlp_search_space",
    "save_optimization_history",
    "save_param_importances",
]
