"""Keras's ``EarlyStopping``, comparing the monitored values as Python floats."""

from __future__ import annotations

import operator

import keras


class FloatEarlyStopping(keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` whose improvement test is a Python comparison.

    Keras compares the monitored value with the best one through backend operations: three
    eager TensorFlow operations per epoch, a noticeable share of an epoch that the compiled loop
    trains in a few milliseconds. The values are Python floats, so plain ``<``/``>`` decides the
    same. Anything else (another comparison, a Keras without this hook) keeps Keras's test.
    """

    _PLAIN = {keras.ops.less: operator.lt, keras.ops.greater: operator.gt}

    def _is_improvement(self, monitor_value, reference_value):
        compare = self._PLAIN.get(self.monitor_op)
        if reference_value is None or compare is None:
            return super()._is_improvement(monitor_value, reference_value)
        return compare(float(monitor_value) - self.min_delta, float(reference_value))
