"""Optimizer updates as one fused TensorFlow kernel per variable.

Keras's ``Adam.update_step`` builds about twenty small operations per variable (casts, powers,
square roots, three assignments); in a compiled training loop for a small network those dominate
the step, and TensorFlow's executor pays a fixed cost for each. TensorFlow ships the same
updates as single kernels (``ResourceApplyAdam``, ``ResourceApplyKerasMomentum``...), which
compute, to float rounding, exactly Keras's formulas:

* Adam: ``m += (g - m)(1 - b1)``, ``v += (g**2 - v)(1 - b2)``,
  ``var -= m * step / (sqrt(v) + epsilon)`` with ``step = lr * sqrt(1 - b2**t) / (1 - b1**t)``;
  with ``amsgrad``, ``v_hat = max(v_hat, v)`` replaces ``v``.
* SGD: ``var -= lr * g``; with momentum, ``m = momentum * m - lr * g`` and ``var += m``
  (Nesterov: ``var += momentum * m - lr * g``).

One rounding differs: the Adam kernel computes ``1 - b2`` in float32, Keras in float64, so with
``beta_2=0.999`` the kernel uses 0.00099998713 where Keras uses 0.001 (as if ``beta_2`` were
0.99900001). Training follows the same path to about 1e-5 relative (tf.keras 2 used these kernels).

:func:`apply_fused` uses them for exactly these optimizer classes with nothing else configured
(no clipping, weight decay, EMA, gradient accumulation, loss scaling or constraints) and returns
False for anything else, which then goes through ``optimizer.apply_gradients``.
"""

from __future__ import annotations

from ._keras import import_keras


def apply_fused(optimizer, gradients, variables) -> bool:
    """Apply one update with fused kernels (inside a traced graph); False if not supported."""
    update = _fused_update_for(optimizer)
    if update is None or not _plain_variables(gradients, variables):
        return False
    try:
        slots = [_slots_of(optimizer, variable) for variable in variables]
    except (AttributeError, KeyError, IndexError):  # a Keras version laid out differently
        return False
    import tensorflow as tf

    learning_rate = tf.cast(optimizer.learning_rate, tf.float32)
    update(optimizer, gradients, slots, learning_rate)
    optimizer.iterations.assign_add(1)
    return True


def _fused_update_for(optimizer):
    keras = import_keras()
    kind = type(optimizer)
    if kind not in (keras.optimizers.Adam, keras.optimizers.SGD) or _has_extras(optimizer):
        return None
    if kind is keras.optimizers.Adam:
        return _adam
    return _momentum if optimizer.momentum else _gradient_descent


def _has_extras(optimizer) -> bool:
    """Whether anything besides the bare update step is configured."""
    extras = (
        "clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "use_ema",
        "gradient_accumulation_steps", "loss_scale_factor",
    )
    return any(getattr(optimizer, name, None) for name in extras)


def _plain_variables(gradients, variables) -> bool:
    import tensorflow as tf

    return all(
        isinstance(gradient, tf.Tensor)  # not None, not IndexedSlices
        and gradient.dtype == tf.float32
        and variable.dtype == "float32"
        and variable.constraint is None
        and not getattr(variable, "overwrite_with_gradient", False)
        for gradient, variable in zip(gradients, variables, strict=True)
    )


def _slots_of(optimizer, variable) -> dict:
    """Resource handles of ``variable`` and of the optimizer's slots for it."""
    keras = import_keras()
    index = optimizer._get_variable_index(variable)
    slots = {"var": variable.value.handle}
    if isinstance(optimizer, keras.optimizers.Adam):
        slots["m"] = optimizer._momentums[index].value.handle
        slots["v"] = optimizer._velocities[index].value.handle
        if optimizer.amsgrad:
            slots["vhat"] = optimizer._velocity_hats[index].value.handle
    elif optimizer.momentum:
        slots["accum"] = optimizer.momentums[index].value.handle
    return slots


def _adam(optimizer, gradients, slots, learning_rate) -> None:
    import tensorflow as tf

    step = tf.cast(optimizer.iterations + 1, tf.float32)
    beta_1 = tf.constant(optimizer.beta_1, tf.float32)
    beta_2 = tf.constant(optimizer.beta_2, tf.float32)
    common = {
        "beta1_power": tf.pow(beta_1, step),
        "beta2_power": tf.pow(beta_2, step),
        "lr": learning_rate,
        "beta1": beta_1,
        "beta2": beta_2,
        "epsilon": tf.constant(optimizer.epsilon, tf.float32),
    }
    kernel = tf.raw_ops.ResourceApplyAdamWithAmsgrad if optimizer.amsgrad else (
        tf.raw_ops.ResourceApplyAdam
    )
    for gradient, handles in zip(gradients, slots, strict=True):
        kernel(**handles, **common, grad=gradient)


def _momentum(optimizer, gradients, slots, learning_rate) -> None:
    import tensorflow as tf

    momentum = tf.constant(optimizer.momentum, tf.float32)
    for gradient, handles in zip(gradients, slots, strict=True):
        tf.raw_ops.ResourceApplyKerasMomentum(
            **handles,
            lr=learning_rate,
            grad=gradient,
            momentum=momentum,
            use_nesterov=bool(optimizer.nesterov),
        )


def _gradient_descent(optimizer, gradients, slots, learning_rate) -> None:
    import tensorflow as tf

    for gradient, handles in zip(gradients, slots, strict=True):
        tf.raw_ops.ResourceApplyGradientDescent(**handles, alpha=learning_rate, delta=gradient)
