"""Target encoding: from scikit-learn targets to what a Keras loss expects, and back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target

SUPPORTED_CLASSIFICATION_TARGETS = ("binary", "multiclass", "multilabel-indicator")

# How a classifier's encoded target is laid out for its loss.
SPARSE = "sparse"  # integer class index per sample
ONEHOT = "onehot"  # one column per class
BINARY = "binary"  # one 0/1 column (single sigmoid unit)
MULTILABEL = "multilabel"  # indicator matrix, one sigmoid unit per label


def loss_name(loss) -> str:
    """A normalised name for a Keras loss given as string, function, class or instance."""
    if loss is None:
        return ""
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "name", None) or getattr(loss, "__name__", None)
        name = name or type(loss).__name__
    return re.sub(r"[^a-z]", "", str(name).lower())


def is_integer_labels(y) -> bool:
    """Whether ``y`` is a non-empty 1-D NumPy array of integers or bools."""
    return isinstance(y, np.ndarray) and y.ndim == 1 and y.size > 0 and y.dtype.kind in "biu"


def is_onehot(y) -> bool:
    """Whether the 2-D ``y`` holds only 0s and 1s with exactly one 1 per row (scikeras's test
    for a "multiclass-onehot" target)."""
    y = y.toarray() if hasattr(y, "toarray") else np.asarray(y)
    if y.ndim != 2 or y.size == 0:
        return False
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def is_categorical_loss(loss) -> bool:
    """Whether ``loss`` (a name, function, class or instance) is categorical cross-entropy on
    one-hot targets (not the sparse one, which takes class indices)."""
    name = loss_name(loss)
    return name in ("categoricalcrossentropy", "cce")


def _require_two_classes(classes: np.ndarray, estimator_name: str) -> None:
    if len(classes) < 2:
        raise ValueError(
            f"{estimator_name} needs samples of at least 2 classes in y; got only one class "
            f"({classes[0]!r}). Classifier can't train when only one class is present."
        )


@dataclass
class ClassifierTarget:
    """Fitted description of a classification target."""

    target_type: str
    classes: np.ndarray
    y_dtype: np.dtype
    label_encoder: LabelEncoder | None = None
    encoding: str = field(default=SPARSE)
    #: Whether ``y`` is a one-hot matrix treated as one class per row (scikeras's
    #: "multiclass-onehot"): ``target_type`` stays ``"multilabel-indicator"`` (as scikeras's
    #: ``target_type_``), but the classes are the columns and ``predict`` takes the argmax.
    onehot: bool = False

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def multilabel(self) -> bool:
        """Whether each label (column) is predicted on its own (a multilabel target)."""
        return self.target_type == "multilabel-indicator" and not self.onehot

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.multilabel else 1

    @classmethod
    def fit(
        cls, y: np.ndarray, *, estimator_name: str, classes=None, onehot_as_classes: bool = False
    ) -> ClassifierTarget:
        """Describe ``y``; with ``onehot_as_classes``, an indicator matrix whose every row has
        exactly one 1 is a one-hot encoded multiclass target (see :func:`is_onehot`)."""
        if classes is None and is_integer_labels(y):
            return cls._of_integer_labels(y, estimator_name)
        target_type = type_of_target(y, input_name="y")
        if target_type not in SUPPORTED_CLASSIFICATION_TARGETS:
            check_classification_targets(y)  # scikit-learn's error for non-classification targets
            raise ValueError(
                f"{estimator_name} supports binary, multiclass and multilabel-indicator targets; "
                f"y is {target_type!r}. Fit one estimator per output instead."
            )
        if target_type == "multilabel-indicator":
            classes = np.arange(y.shape[1])
            if onehot_as_classes and is_onehot(y):
                return cls(target_type, classes, y.dtype, encoding=ONEHOT, onehot=True)
            return cls(target_type, classes, y.dtype, encoding=MULTILABEL)
        encoder = LabelEncoder().fit(y if classes is None else np.asarray(classes))
        unknown = [] if classes is None else np.setdiff1d(np.unique(y), encoder.classes_)
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not in classes="
                f"{encoder.classes_.tolist()}."
            )
        _require_two_classes(encoder.classes_, estimator_name)
        return cls(target_type, encoder.classes_, y.dtype, label_encoder=encoder)

    @classmethod
    def _of_integer_labels(cls, y: np.ndarray, estimator_name: str) -> ClassifierTarget:
        """:meth:`fit` for a 1-D array of integer (or bool) labels: the classes and target type
        ``LabelEncoder`` and ``type_of_target`` would give, found with one ``np.unique`` (their
        checks cost a noticeable share of a small fit; other labels still go through them)."""
        classes = np.unique(y)
        _require_two_classes(classes, estimator_name)
        return cls("binary" if len(classes) == 2 else "multiclass", classes, y.dtype)

    def choose_encoding(self, loss, n_units: int | None) -> str:
        """Pick the target layout from the loss and the model's number of output units."""
        if self.multilabel:
            return MULTILABEL
        name = loss_name(loss)
        if "sparse" in name:
            return SPARSE
        if "categorical" in name:
            return ONEHOT
        if n_units == 1:
            return BINARY
        if "binary" in name:
            return ONEHOT
        return SPARSE

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.encoding == MULTILABEL:
            return np.asarray(y, dtype="float32")
        indices = self.indices(y)
        if self.encoding == SPARSE:
            return indices.astype("int32")
        if self.encoding == BINARY:
            return indices.astype("float32").reshape(-1, 1)
        return np.eye(self.n_classes, dtype="float32")[indices]

    def indices(self, y: np.ndarray) -> np.ndarray:
        """Class index of each sample (for the encoded target, stratification, class weights).

        Numeric labels are looked up by binary search in the sorted classes, a tenth of
        ``LabelEncoder.transform``'s time (which a cross-validation's small fits notice);
        other labels go through the encoder.
        """
        if self.onehot:
            return self._onehot_indices(y)
        y = np.asarray(y)
        if y.dtype.kind not in "biuf" or self.classes.dtype.kind not in "biuf":
            if self.label_encoder is None:  # integer classes, other labels
                raise ValueError(f"y contains previously unseen labels: {np.unique(y).tolist()}")
            return self.label_encoder.transform(y)
        indices = np.searchsorted(self.classes, y)
        found = self.classes[np.minimum(indices, len(self.classes) - 1)] == y
        if not found.all():
            raise ValueError(
                f"y contains previously unseen labels: {np.unique(y[~found]).tolist()}"
            )
        return indices

    def _onehot_indices(self, y) -> np.ndarray:
        """The class (column) of each one-hot row of ``y``; refuse other rows."""
        y = np.asarray(y.toarray() if hasattr(y, "toarray") else y)
        if y.ndim != 2 or y.shape[1] != self.n_classes:
            raise ValueError(
                f"y has shape {y.shape} but the classifier was fitted on one-hot targets with "
                f"{self.n_classes} columns (one per class)."
            )
        if not is_onehot(y):
            raise ValueError(
                "y must be one-hot encoded like the y the classifier was fitted on: 0/1 values "
                "with exactly one 1 per row."
            )
        return np.argmax(y, axis=1)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Turn raw model outputs into an (n_samples, n_classes) probability matrix."""
        outputs = np.asarray(outputs, dtype="float64")
        if self.encoding == MULTILABEL:
            return outputs.reshape(len(outputs), -1)
        if self.encoding == BINARY or (outputs.ndim == 2 and outputs.shape[1] == 1):
            positive = np.clip(outputs.reshape(-1), 0.0, 1.0)
            return np.column_stack([1.0 - positive, positive])
        outputs = outputs.reshape(len(outputs), -1)
        if outputs.shape[1] != self.n_classes:
            raise ValueError(
                f"The model returned {outputs.shape[1]} outputs per sample but y has "
                f"{self.n_classes} classes; the output layer needs one unit per class "
                "(or one sigmoid unit for a binary target)."
            )
        outputs = np.clip(outputs, 0.0, None)
        totals = outputs.sum(axis=1, keepdims=True)
        totals[totals == 0] = 1.0
        return outputs / totals

    def decode(self, probabilities: np.ndarray) -> np.ndarray:
        if self.encoding == MULTILABEL:
            return (probabilities > 0.5).astype(self.y_dtype)
        if self.onehot:  # one-hot rows of ints, as scikeras returns them
            return np.eye(self.n_classes, dtype=int)[np.argmax(probabilities, axis=1)]
        return self.classes[np.argmax(probabilities, axis=1)]


@dataclass
class RegressorTarget:
    """Fitted description of a regression target."""

    n_outputs: int
    one_dimensional: bool

    @classmethod
    def fit(cls, y: np.ndarray) -> RegressorTarget:
        return cls(n_outputs=1 if y.ndim == 1 else y.shape[1], one_dimensional=y.ndim == 1)

    @property
    def target_type(self) -> str:
        return "continuous" if self.n_outputs == 1 else "continuous-multioutput"

    def encode(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype="float32").reshape(len(y), -1)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
        return outputs.ravel() if self.one_dimensional else outputs
