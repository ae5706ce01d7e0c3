"""Stacking and blending a Keras network with other scikit-learn models.

scikit-learn's own StackingClassifier/StackingRegressor do what the notebook does by hand; these
tests show they work with skkeras estimators, and that the notebook's manual blend gives the same
model as StackingClassifier.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.ensemble import (
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skkeras import KerasMLPClassifier, KerasMLPRegressor


def keras_classifier():
    return make_pipeline(
        StandardScaler(),
        KerasMLPClassifier((16,), epochs=20, learning_rate=0.01, random_state=0),
    )


def test_stacking_classifier_random_forest_and_keras():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    stack = StackingClassifier(
        [
            ("rf", RandomForestClassifier(n_estimators=30, random_state=0)),
            ("mlp", keras_classifier()),
        ],
        final_estimator=LogisticRegression(),
        cv=3,
    ).fit(X_train, y_train)
    # binary: one probability column per base model feeds the logistic regression
    features = stack.transform(X_test)
    assert features.shape == (len(X_test), 2)
    mlp_proba = stack.named_estimators_["mlp"].predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(features[:, 1], mlp_proba, rtol=1e-6)
    assert stack.score(X_test, y_test) > 0.93
    assert stack.final_estimator_.coef_.shape == (1, 2)


def test_stacking_regressor_random_forest_and_keras():
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    stack = StackingRegressor(
        [
            ("rf", RandomForestRegressor(n_estimators=30, random_state=0)),
            (
                "mlp",
                make_pipeline(
                    StandardScaler(),
                    KerasMLPRegressor((16,), epochs=20, learning_rate=0.01, random_state=0),
                ),
            ),
        ],
        final_estimator=RidgeCV(),
        cv=3,
    ).fit(X_train, y_train)
    features = stack.transform(X_test)
    assert features.shape == (len(X_test), 2)
    np.testing.assert_allclose(
        features[:, 1], stack.named_estimators_["mlp"].predict(X_test), rtol=1e-5
    )
    # the network carries weight in the final model, and the stack is no worse than its parts
    assert stack.final_estimator_.coef_[1] > 0
    base_scores = [model.score(X_test, y_test) for model in stack.named_estimators_.values()]
    assert stack.score(X_test, y_test) > max(base_scores) - 0.02
    assert stack.score(X_test, y_test) > 0.25


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    return train_test_split(X, y, stratify=y, test_size=0.25, random_state=0)


def test_manual_blend_matches_stacking_classifier(digits_split):
    """The notebook's blend: out-of-fold probabilities of each model, then a logistic regression."""
    X_train, X_test, y_train, y_test = digits_split
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    models = {
        "rf": RandomForestClassifier(n_estimators=30, random_state=0),
        "mlp": keras_classifier(),
    }
    # out-of-fold probabilities on the training data are the blender's features...
    blend_train = np.hstack(
        [
            cross_val_predict(model, X_train, y_train, cv=folds, method="predict_proba")
            for model in models.values()
        ]
    )
    # ...and each model refitted on all the training data gives the test features
    blend_test = np.hstack(
        [model.fit(X_train, y_train).predict_proba(X_test) for model in models.values()]
    )
    blender = LogisticRegression(max_iter=1000).fit(blend_train, y_train)
    manual_proba = blender.predict_proba(blend_test)
    assert blend_train.shape == (len(X_train), 20)
    assert blender.score(blend_test, y_test) > 0.9

    stack = StackingClassifier(
        list(models.items()),
        final_estimator=LogisticRegression(max_iter=1000),
        cv=folds,
        stack_method="predict_proba",
    ).fit(X_train, y_train)
    np.testing.assert_allclose(stack.transform(X_test), blend_test, atol=1e-5)
    np.testing.assert_allclose(stack.predict_proba(X_test), manual_proba, atol=1e-4)
    np.testing.assert_array_equal(stack.predict(X_test), blender.predict(blend_test))

