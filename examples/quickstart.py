"""End-to-end example: a Keras MLP next to a random forest, and a stack of both.

Run with ``bash scripts/demo.sh`` (sets up .venv first) or ``python examples/quickstart.py``.
"""

from __future__ import annotations

import time

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skkeras import KerasMLPClassifier


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    mlp = make_pipeline(
        StandardScaler(),
        KerasMLPClassifier(
            hidden_layer_sizes=(64, 32),
            activation="prelu",
            dropout=0.2,
            l2=1e-4,
            early_stopping=True,
            epochs=200,
            random_state=0,
        ),
    )
    forest = RandomForestClassifier(n_estimators=200, random_state=0)
    stack = StackingClassifier(
        [("mlp", mlp), ("forest", forest)], final_estimator=LogisticRegression(), cv=3
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    print(f"{'model':<14}{'ROC AUC':>16}{'accuracy':>18}{'fit s':>8}")
    for name, model in [("keras mlp", mlp), ("random forest", forest), ("stack", stack)]:
        start = time.perf_counter()
        scores = cross_validate(model, X, y, cv=cv, scoring=["roc_auc", "accuracy"])
        auc, acc = scores["test_roc_auc"], scores["test_accuracy"]
        print(
            f"{name:<14}{auc.mean():>9.4f} ± {auc.std():.4f}{acc.mean():>11.4f} ± {acc.std():.4f}"
            f"{time.perf_counter() - start:>8.1f}"
        )


if __name__ == "__main__":
    main()
