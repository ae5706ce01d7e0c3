"""Stateless network builders: layers for the ready-made estimators."""

from __future__ import annotations

from collections.abc import Sequence

from ._keras import import_keras

#: Activations a ready-made estimator accepts by name. ``prelu`` and ``leaky_relu`` are layers
#: (PReLU learns its slope); the others are Keras activation functions.
ACTIVATIONS = frozenset(
    {
        "relu",
        "prelu",
        "leaky_relu",
        "elu",
        "selu",
        "tanh",
        "sigmoid",
        "hard_sigmoid",
        "exponential",
        "linear",
        "gelu",
        "swish",
        "silu",
        "softplus",
        "mish",
        "relu6",
        "softmax",
    }
)

#: Optimizers a ready-made estimator accepts by name.
OPTIMIZERS = frozenset(
    {"adam", "sgd", "rmsprop", "adagrad", "adadelta", "adamw", "nadam", "adamax", "ftrl", "lion"}
)
#: Optimizers that take a ``momentum`` argument.
MOMENTUM_OPTIMIZERS = frozenset({"sgd", "rmsprop"})


def activation_layer(name: str, *, layer_name: str):
    """A Keras layer (or a function of a tensor, made of layers) applying the named activation.

    ``layer_name`` names the layer: see :func:`build_mlp` for why every layer is named.
    """
    layers = import_keras().layers
    if name == "prelu":
        return layers.PReLU(name=layer_name)
    if name == "leaky_relu":
        return layers.LeakyReLU(name=layer_name)
    if name in ("swish", "silu"):
        return lambda x: _swish(x, layer_name)
    return layers.Activation(name, name=layer_name)


def _swish(x, layer_name: str):
    """``x * sigmoid(x)`` from built-in layers.

    Keras's own ``silu``/``swish`` on TensorFlow is ``tf.nn.silu``, a ``tf.custom_gradient``
    that TensorFlow registers process-wide for every graph it is traced in, so each network
    trained with it would keep its traced training graph for good (megabytes per trial in a
    study). The same function from a sigmoid and a product has an ordinary gradient.
    """
    layers = import_keras().layers
    gate = layers.Activation("sigmoid", name=f"{layer_name}_sigmoid")(x)
    return layers.Multiply(name=layer_name)([x, gate])


def regularizer(l1: float, l2: float):
    """An L1/L2 regularizer, or ``None`` when both are zero."""
    if not l1 and not l2:
        return None
    return import_keras().regularizers.L1L2(l1=l1, l2=l2)


def dense_block(
    x,
    units: int,
    *,
    activation: str,
    dropout: float,
    l1: float,
    l2: float,
    activity_l1: float,
    activity_l2: float,
    batch_normalization: bool,
    name: str,
):
    """Dense -> (BatchNormalization) -> activation -> (Dropout), as the notebook stacks them;
    the layers are named ``name``, ``name_bn``, ``name_activation`` and ``name_dropout``."""
    layers = import_keras().layers
    x = layers.Dense(
        units,
        kernel_regularizer=regularizer(l1, l2),
        activity_regularizer=regularizer(activity_l1, activity_l2),
        use_bias=not batch_normalization,
        name=name,
    )(x)
    if batch_normalization:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = activation_layer(activation, layer_name=f"{name}_activation")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def output_layer(x, n_units: int, activation: str):
    return import_keras().layers.Dense(n_units, activation=activation, name="output")(x)


def build_mlp(
    input_shape: tuple,
    hidden_layer_sizes: Sequence[int],
    n_outputs: int,
    output_activation: str,
    **block_options,
):
    """A functional MLP: ``hidden_layer_sizes`` dense blocks and an output layer.

    Every layer has a fixed name (``hidden_1``...). TensorFlow's runtime caches a kernel for each
    variable name it meets and never forgets one; with Keras's numbered default names
    (``dense_57``), every fit would add its variables' and optimizer slots' names to that cache:
    about 0.6 ms and 35 KiB each, for the life of the process.
    """
    keras = import_keras()
    inputs = keras.Input(shape=input_shape, name="X")
    x = inputs
    for index, units in enumerate(hidden_layer_sizes):
        x = dense_block(x, int(units), name=f"hidden_{index + 1}", **block_options)
    return keras.Model(inputs, output_layer(x, n_outputs, output_activation))
