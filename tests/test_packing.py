"""The packed form of a fit's state: one vector per dtype, the same arrays back."""

import numpy as np
import pytest

from skkeras._packing import Layout

ARRAYS = [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.array(41, dtype=np.int64),  # a scalar (an optimizer's step counter)
    np.zeros((0, 4), dtype=np.float32),  # an empty array
    np.array([1.5, -2.0], dtype=np.float32),
    np.array([[3], [9]], dtype=np.uint32),
    np.array([7, 8], dtype=np.int64),
]


def test_the_layout_groups_arrays_by_dtype_in_order_of_appearance():
    layout = Layout.of(ARRAYS)
    assert layout.dtypes == (np.dtype("float32"), np.dtype("int64"), np.dtype("uint32"))
    assert layout.sizes == (8, 3, 2)
    vectors = layout.pack(ARRAYS)
    np.testing.assert_array_equal(vectors[0], [0, 1, 2, 3, 4, 5, 1.5, -2.0])
    np.testing.assert_array_equal(vectors[1], [41, 7, 8])
    np.testing.assert_array_equal(vectors[2], [3, 9])


def test_unpacking_gives_the_arrays_back():
    layout = Layout.of(ARRAYS)
    for original, restored in zip(ARRAYS, layout.unpack(layout.pack(ARRAYS)), strict=True):
        assert restored.dtype == original.dtype
        assert restored.shape == original.shape
        np.testing.assert_array_equal(restored, original)


def test_layouts_of_tensors_and_of_arrays_agree():
    tf = pytest.importorskip("tensorflow")
    variables = [tf.Variable(array) for array in ARRAYS]
    assert Layout.of(variables) == Layout.of(ARRAYS)
    assert Layout.of([array.astype(np.float64) for array in ARRAYS]) != Layout.of(ARRAYS)


def test_packing_in_a_graph_matches_packing_in_numpy():
    tf = pytest.importorskip("tensorflow")
    layout = Layout.of(ARRAYS)

    @tf.function(autograph=False)
    def round_trip(vectors):
        arrays = layout.unpack_in_graph(vectors)
        return arrays, layout.pack_in_graph([array + 1 for array in arrays])

    arrays, repacked = round_trip(layout.tensors(layout.pack(ARRAYS)))
    for original, restored in zip(ARRAYS, arrays, strict=True):
        assert tuple(restored.shape) == original.shape
        np.testing.assert_array_equal(restored.numpy(), original)
    expected = layout.pack([array + 1 for array in ARRAYS])
    for vector, wanted in zip(repacked, expected, strict=True):
        np.testing.assert_array_equal(vector.numpy(), wanted)
