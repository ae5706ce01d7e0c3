"""A fit's state as one flat vector per dtype: how the whole-fit graph takes and returns it.

Every tensor a compiled TensorFlow call takes costs Python work on each call (checking it
against the traced signature). A small MLP with Adam has some twenty variables (weights,
optimizer slots and counters), and a pruned study's fits make one call per epoch, so on small
data those checks cost as much as the epoch's arithmetic. Packed, the state is one tensor per
dtype (float32 values, the int64 step counter...) whatever the network's depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Slot:
    """Where one array lies in a :class:`Layout`: ``group``'s vector ``[start:stop]``."""

    group: int
    start: int
    stop: int
    shape: tuple


@dataclass(frozen=True)
class Layout:
    """How a list of arrays lies in one flat vector per dtype.

    Attributes
    ----------
    dtypes : tuple of numpy.dtype
        The groups' dtypes, in the order they first appear.
    slots : tuple of Slot
        Each array's place, in the order of the list.
    """

    dtypes: tuple
    slots: tuple

    @classmethod
    def of(cls, arrays) -> Layout:
        """The layout of ``arrays`` (anything with ``shape`` and ``dtype``: NumPy arrays,
        tensors, variables)."""
        dtypes, sizes, slots = [], [], []
        for array in arrays:
            dtype = np.dtype(getattr(array.dtype, "as_numpy_dtype", array.dtype))
            if dtype not in dtypes:
                dtypes.append(dtype)
                sizes.append(0)
            group = dtypes.index(dtype)
            shape = tuple(int(dimension) for dimension in array.shape)
            start = sizes[group]
            sizes[group] = start + int(np.prod(shape, dtype=np.int64))
            slots.append(Slot(group, start, sizes[group], shape))
        return cls(tuple(dtypes), tuple(slots))

    @cached_property
    def sizes(self) -> tuple:
        """The length of each group's vector."""
        return tuple(
            max((slot.stop for slot in self.slots if slot.group == group), default=0)
            for group in range(len(self.dtypes))
        )

    def pack(self, arrays) -> tuple:
        """NumPy vectors, one per group, holding ``arrays`` (given in the layout's order)."""
        vectors = tuple(np.empty(size, dtype) for size, dtype in zip(self.sizes, self.dtypes,
                                                                     strict=True))
        for slot, array in zip(self.slots, arrays, strict=True):
            vectors[slot.group][slot.start : slot.stop] = np.ravel(array)
        return vectors

    def unpack(self, vectors) -> list:
        """The arrays packed in ``vectors`` (NumPy arrays or tensors), as NumPy arrays (views of
        the vectors, which must not be written to)."""
        vectors = [np.asarray(vector) for vector in vectors]
        return [
            vectors[slot.group][slot.start : slot.stop].reshape(slot.shape) for slot in self.slots
        ]

    def pack_in_graph(self, tensors) -> tuple:
        """In a traced function: one vector per group holding ``tensors``."""
        import tensorflow as tf

        groups = [[] for _ in self.dtypes]
        for slot, tensor in zip(self.slots, tensors, strict=True):
            groups[slot.group].append(tensor if len(slot.shape) == 1 else tf.reshape(tensor, [-1]))
        return tuple(tf.concat(group, axis=0) for group in groups)

    def unpack_in_graph(self, vectors) -> list:
        """In a traced function: the tensors packed in ``vectors`` (one split per group, few
        operations to trace)."""
        import tensorflow as tf

        pieces = [
            iter(tf.split(vector, [slot.stop - slot.start for slot in self.slots
                                   if slot.group == group]))
            for group, vector in enumerate(vectors)
        ]
        tensors = []
        for slot in self.slots:
            piece = next(pieces[slot.group])
            tensors.append(piece if len(slot.shape) == 1 else tf.reshape(piece, slot.shape))
        return tensors

    def tensors(self, vectors) -> tuple:
        """``vectors`` (NumPy, from :meth:`pack`) as the tensors a compiled call takes."""
        import tensorflow as tf

        return tuple(tf.convert_to_tensor(vector) for vector in vectors)
