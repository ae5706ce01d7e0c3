"""Tests of KerasCNNClassifier and KerasCNNRegressor."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skkeras import KerasCNNClassifier, KerasCNNRegressor

keras = pytest.importorskip("keras")

FAST = {"epochs": 2, "learning_rate": 0.005, "random_state": 0}
TINY = {"filters": (4,), "convs_per_block": 1, "dense_units": (), **FAST}


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def small_images(digits):
    X, y = digits
    return X[:120].reshape(-1, 8, 8, 1), y[:120]


def _layers_of(model, layer_type):
    return [layer for layer in model.layers if isinstance(layer, layer_type)]


@pytest.mark.slow
def test_digits_cross_validation_beats_ninety_percent():
    X, y = load_digits(return_X_y=True)
    clf = make_pipeline(
        MinMaxScaler(),
        KerasCNNClassifier(
            filters=(16, 32),
            convs_per_block=1,
            dense_units=(),
            image_shape=(8, 8, 1),
            epochs=8,
            learning_rate=0.005,
            random_state=0,
        ),
    )
    scores = cross_val_score(clf, X, y, cv=3, error_score="raise")
    assert scores.mean() > 0.9


def test_four_three_and_two_dimensional_inputs_build_the_same_network(digits):
    X, y = digits
    X, y = X[:60], y[:60]
    flat = KerasCNNClassifier(image_shape=(8, 8, 1), **TINY).fit(X, y)
    images = KerasCNNClassifier(**TINY).fit(X.reshape(-1, 8, 8, 1), y)
    grey = KerasCNNClassifier(**TINY).fit(X.reshape(-1, 8, 8), y)
    assert flat.model_.input_shape == (None, 64)
    assert flat.model_.get_layer("to_images").output.shape == (None, 8, 8, 1)
    assert images.model_.input_shape == (None, 8, 8, 1)
    assert grey.model_.get_layer("to_images").output.shape == (None, 8, 8, 1)
    assert flat.n_parameters_ == images.n_parameters_ == grey.n_parameters_
    # Same seed, same architecture, same data: the same predictions whatever the layout.
    np.testing.assert_allclose(
        flat.predict_proba(X), images.predict_proba(X.reshape(-1, 8, 8, 1)), atol=1e-5
    )


def test_parameter_count_matches_the_layers(small_images):
    X, y = small_images
    clf = KerasCNNClassifier(**TINY).fit(X, y)
    # 3x3x1 conv with 4 filters (+bias), 2x2 pooling -> 4x4x4 = 64 features -> 10 outputs.
    assert clf.n_parameters_ == (9 * 1 * 4 + 4) + (64 * 10 + 10)
    assert clf.n_parameters_ == clf.model_.count_params()


def test_blocks_strides_padding_and_pooling_shapes(small_images):
    X, y = small_images
    clf = KerasCNNClassifier(
        filters=(4,),
        kernel_size=(3, 2),
        strides=(1, 2),
        padding="valid",
        pooling="average",
        convs_per_block=2,
        dense_units=(5,),
        **FAST,
    ).fit(X, y)
    model = clf.model_
    conv1 = model.get_layer("block1_conv1")
    assert conv1.kernel_size == (3, 2) and conv1.strides == (1, 2)
    assert model.get_layer("block1_conv2").strides == (1, 1)
    # 8x8 -> valid 3x2 kernel, strides (1, 2): 6x4 -> valid: 4x3 -> pool (same): 2x2.
    assert model.get_layer("block1_conv2").output.shape == (None, 4, 3, 4)
    assert isinstance(model.get_layer("block1_pool"), keras.layers.AveragePooling2D)
    assert model.get_layer("block1_pool").output.shape == (None, 2, 2, 4)
    assert len(_layers_of(model, keras.layers.Conv2D)) == 2
    assert model.get_layer("flatten").output.shape == (None, 2 * 2 * 4)
    assert model.get_layer("output").input.shape == (None, 5)


def test_residual_adds_skip_connections(small_images):
    X, y = small_images
    plain = KerasCNNClassifier(filters=(4, 4, 8), **FAST).fit(X, y)
    residual = KerasCNNClassifier(filters=(4, 4, 8), residual=True, **FAST).fit(X, y)
    assert _layers_of(plain.model_, keras.layers.Add) == []
    adds = _layers_of(residual.model_, keras.layers.Add)
    assert [layer.name for layer in adds] == ["block1_add", "block2_add", "block3_add"]
    # A 1x1 projection only where the block changes the number of channels (1 -> 4, 4 -> 8).
    names = {layer.name for layer in residual.model_.layers}
    assert {"block1_projection", "block3_projection"} <= names
    assert "block2_projection" not in names
    projection_weights = (1 * 4 + 4) + (4 * 8 + 8)
    assert residual.n_parameters_ == plain.n_parameters_ + projection_weights
    # The add really sums the block's last convolution and its (identity) shortcut.
    model = residual.model_
    probe = keras.Model(
        model.input,
        [
            model.get_layer("block2_conv2").output,
            model.get_layer("block1_pool").output,
            model.get_layer("block2_add").output,
        ],
    )
    conv, shortcut, added = (np.asarray(out) for out in probe.predict(X[:5], verbose=0))
    np.testing.assert_allclose(added, conv + shortcut, rtol=1e-5, atol=1e-5)


def test_residual_projection_follows_strides(small_images):
    X, y = small_images
    clf = KerasCNNClassifier(
        **{**TINY, "filters": (1,), "strides": 2, "residual": True, "pooling": None}
    ).fit(X, y)
    projection = clf.model_.get_layer("block1_projection")
    assert projection.strides == (2, 2) and projection.kernel_size == (1, 1)
    assert clf.model_.get_layer("block1_add").output.shape == (None, 4, 4, 1)


def test_augmentation_layers_act_only_in_training(small_images):
    X, y = small_images
    augmentation = {"flip": "horizontal", "translation": 0.2, "rotation": 0.1, "zoom": 0.2}
    clf = KerasCNNClassifier(augmentation=augmentation, **TINY).fit(X, y)
    model = clf.model_
    kinds = {
        "augment_flip": keras.layers.RandomFlip,
        "augment_translation": keras.layers.RandomTranslation,
        "augment_rotation": keras.layers.RandomRotation,
        "augment_zoom": keras.layers.RandomZoom,
    }
    for name, kind in kinds.items():
        assert isinstance(model.get_layer(name), kind)
    plain = KerasCNNClassifier(**TINY).fit(X, y)
    assert plain.n_parameters_ == clf.n_parameters_  # augmentation adds no weights
    assert not [layer for layer in plain.model_.layers if layer.name.startswith("augment_")]
    augmented = keras.Model(model.input, model.get_layer("augment_zoom").output)
    images = X[:16].astype("float32")
    np.testing.assert_allclose(np.asarray(augmented(images, training=False)), images)
    assert not np.allclose(np.asarray(augmented(images, training=True)), images)
    # Prediction is deterministic: augmentation is off outside training.
    np.testing.assert_array_equal(clf.predict_proba(X[:16]), clf.predict_proba(X[:16]))


def test_dropout_and_batch_normalization_layers(small_images):
    X, y = small_images
    clf = KerasCNNClassifier(
        filters=(4,), dense_units=(6,), dropout=0.3, batch_normalization=True, **FAST
    ).fit(X, y)
    dropouts = _layers_of(clf.model_, keras.layers.Dropout)
    assert [layer.rate for layer in dropouts] == [0.3, 0.3]
    assert len(_layers_of(clf.model_, keras.layers.BatchNormalization)) == 3
    assert clf.model_.get_layer("block1_conv1").use_bias is False


@pytest.mark.parametrize(
    ("X_shape", "kwargs", "match"),
    [
        ((20, 64), {}, r"got 2-D X of shape \(20, 64\); pass image_shape="),
        ((20, 64), {"image_shape": (8, 7, 1)}, r"X has 64 columns but image_shape=\(8, 7, 1\)"),
        (
            (20, 64),
            {"image_shape": (3, -1, 1)},
            r"X has 64 columns but image_shape=\(3, -1, 1\) needs a multiple of 3 columns",
        ),
        ((20, 8, 8, 1), {"image_shape": (8, 8, 3)}, r"samples of shape \(8, 8, 1\) but .*"),
        ((20, 8, 8), {"image_shape": (8, 8, 2)}, r"samples of shape \(8, 8, 1\)"),
        ((20, 2, 4, 4, 1), {}, r"got 5-D X of shape \(20, 2, 4, 4, 1\)"),
        ((20, 8, 8, 1), {"image_shape": (8, 8)}, r"'image_shape' parameter .* 3 positive ints"),
        ((20, 8, 8, 1), {"residual": True, "padding": "valid"}, r"residual=True needs padding"),
        ((20, 8, 8, 1), {"filters": ()}, r"'filters' parameter of KerasCNNClassifier must be"),
        ((20, 8, 8, 1), {"kernel_size": (3, 3, 3)}, r"'kernel_size' parameter .* pair"),
        ((20, 8, 8, 1), {"strides": (0, 1)}, r"'strides' parameter"),
        ((20, 8, 8, 1), {"pooling": "min"}, r"'pooling' parameter of KerasCNNClassifier must"),
        ((20, 8, 8, 1), {"augmentation": {"shear": 0.1}}, r"unknown keys \['shear'\]"),
        ((20, 8, 8, 1), {"augmentation": {"flip": "diagonal"}}, r"augmentation\['flip'\]"),
        ((20, 8, 8, 1), {"augmentation": {"zoom": 2.0}}, r"augmentation\['zoom'\]"),
        (
            (20, 8, 8, 1),
            {"augmentation": {"rotation": (0.25, 0.25)}},
            r"augmentation\['rotation'\] of KerasCNNClassifier must be a single float in "
            r"\[0, 1\] \(largest rotation either way, a fraction of a full turn\)\. Got "
            r"\(0\.25, 0\.25\)",
        ),
        (
            (20, 8, 8, 1),
            {"augmentation": {"zoom": [0.1, 0.2]}},
            r"augmentation\['zoom'\] .* must be a single float in \[0, 1\]",
        ),
        (
            (20, 8, 8, 1),
            {"augmentation": {"translation": (0.1, 0.2, 0.3)}},
            r"augmentation\['translation'\] .* a float in \[0, 1\] or a \(height, width\) pair",
        ),
        ((20, 8, 8, 1), {"augmentation": {"fill_mode": "x"}}, r"augmentation\['fill_mode'\]"),
        (
            (20, 8, 8, 1),
            {"padding": "valid", "kernel_size": 5, "filters": (2, 2)},
            r"too small .* convolution 1 of block 2",
        ),
    ],
)
def test_wrong_input_or_parameters_fail_before_training(X_shape, kwargs, match):
    clf = KerasCNNClassifier(**{**TINY, **kwargs})
    y = np.arange(X_shape[0]) % 2
    with pytest.raises(ValueError, match=match):
        clf.fit(np.zeros(X_shape), y)
    assert not hasattr(clf, "n_iter_")


def test_predict_refuses_other_image_sizes(small_images):
    X, y = small_images
    clf = KerasCNNClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(8, 8, 1\)"):
        clf.predict(np.zeros((3, 8, 7, 1)))
    # another height: not "X has 6 features" (validate_data's check of X.shape[1] alone)
    with pytest.raises(ValueError, match=r"X has shape \(3, 6, 8, 1\) but KerasCNNClassifier "
                                         r"was fitted on samples of shape \(8, 8, 1\)"):
        clf.predict_proba(np.zeros((3, 6, 8, 1)))


def test_regressor_learns_image_brightness():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 6, 6, 1)) * rng.uniform(size=(300, 1, 1, 1))
    y = X.mean(axis=(1, 2, 3)) * 10
    reg = KerasCNNRegressor(
        filters=(4,), convs_per_block=1, dense_units=(), epochs=20, learning_rate=0.01,
        random_state=0,
    ).fit(X[:240], y[:240])
    assert reg.score(X[240:], y[240:]) > 0.8
    assert reg.predict(X[240:]).shape == (60,)


@pytest.mark.parametrize("Estimator", [KerasCNNClassifier, KerasCNNRegressor])
def test_clone_and_pickle(Estimator, small_images):
    X, labels = small_images
    y = labels if Estimator is KerasCNNClassifier else labels / 10.0
    est = Estimator(
        residual=True,
        augmentation={"translation": (0.1, 0.2), "fill_mode": "constant"},
        image_shape=(8, 8, 1),
        **TINY,
    )
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert cloned.augmentation is not est.augmentation
    est.fit(X, y)
    assert not hasattr(clone(est), "model_")
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.predict(X[:10]), est.predict(X[:10]), rtol=1e-5)
    assert restored.n_parameters_ == est.n_parameters_
    assert restored.model_.get_layer("augment_translation").width_factor == 0.2


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", [KerasCNNClassifier, KerasCNNRegressor])
def test_grid_search_over_residual_and_augmentation(Estimator, digits):
    X, labels = digits
    X, labels = X[:90], labels[:90]
    y = labels if Estimator is KerasCNNClassifier else labels / 10.0
    search = GridSearchCV(
        Estimator(image_shape=(8, 8, 1), **TINY),
        {"residual": [False, True], "augmentation": [None, {"rotation": 0.05}]},
        cv=2,
        error_score="raise",
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.n_parameters_ > 0


@pytest.fixture
def channels_first():
    """Keras's global image_data_format set to channels_first for one test."""
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        yield
    finally:
        keras.config.set_image_data_format(previous)


def test_images_stay_channels_last_whatever_keras_global_format(channels_first):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(24, 8, 6, 3)).astype("float32")
    y = np.arange(24) % 2
    clf = KerasCNNClassifier(
        filters=(4, 2), convs_per_block=1, residual=True, dense_units=(),
        augmentation={"flip": "horizontal", "translation": 0.1, "rotation": 0.1, "zoom": 0.1},
        **FAST,
    ).fit(X, y)
    formats = {
        layer.name: layer.get_config()["data_format"]
        for layer in clf.model_.layers if "data_format" in layer.get_config()
    }
    assert {"block1_conv1", "block1_projection", "block1_pool", "flatten",
            "augment_flip", "augment_zoom"} <= set(formats)
    assert set(formats.values()) == {"channels_last"}
    assert clf.model_.get_layer("block1_conv1").output.shape == (None, 8, 6, 4)
    assert clf.model_.get_layer("block2_pool").output.shape == (None, 2, 2, 2)
    assert clf.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize(
    ("shape", "axis", "padding"),
    [((12, 8, 0, 1), 2, "same"), ((12, 0, 8, 1), 1, "valid"), ((12, 8, 8, 0), 3, "same"),
     ((12, 8, 0), 2, "same")],
)
def test_images_with_an_empty_dimension_are_refused_before_training(shape, axis, padding):
    clf = KerasCNNClassifier(padding=padding, **TINY)
    shown = re.escape(str(shape))
    with pytest.raises(ValueError, match=rf"X has shape {shown}, with no values along axis "
                                         rf"{axis}: KerasCNNClassifier needs samples"):
        clf.fit(np.zeros(shape), np.arange(12) % 2)
    assert not hasattr(clf, "n_iter_")


def test_shapes_and_sizes_may_be_numpy_arrays():
    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(12, 48)), np.arange(12) % 2
    clf = KerasCNNClassifier(
        image_shape=np.array([4, -1, 2]), kernel_size=np.array([3, 1]),
        strides=np.array([1, 2]), filters=np.array([3]), convs_per_block=1, dense_units=(),
        **FAST,
    ).fit(X, y)
    conv = clf.model_.get_layer("block1_conv1")
    assert conv.kernel_size == (3, 1) and conv.strides == (1, 2)
    assert clf.model_.get_layer("to_images").output.shape == (None, 4, 6, 2)
    assert clf.predict(X[:2]).shape == (2,)
