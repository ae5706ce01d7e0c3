"""Meta-estimators that combine several trained networks.

``KFoldEnsembleClassifier`` and ``KFoldEnsembleRegressor`` train one model per fold of a k-fold
split and average them, keep the best one or refit one on all the data. For stacking and
blending, use scikit-learn's ``StackingClassifier``/``StackingRegressor`` with skkeras estimators.
"""

from ._kfold import KFoldEnsembleClassifier, KFoldEnsembleRegressor

__all__ = ["KFoldEnsembleClassifier", "KFoldEnsembleRegressor"]
