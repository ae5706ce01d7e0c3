"""One BLAS thread for the matrix products of skkeras's NumPy forward passes.

OpenBLAS (NumPy's BLAS) splits any product above a small size between its threads, and after
each product those threads keep spinning for a while before they sleep. The forward pass of a
small network on a few thousand rows gains little from the split, but a search scores a fold
after every fit: the spinning threads then hold the other cores while the next fit trains.
Measured on 2 cores with ``python -m benchmarks.blas_threads`` (``benchmarks/README.md``), the
benchmark's ``GridSearchCV`` in one process used 0.63 s of CPU time with one BLAS thread
against 1.15 s with OpenBLAS's threads on digits (a 0.61 s search either way), and 7.2 s
against 8.7 s on the 20k-row table (6,667-row folds), where it also took 5 % less time; a
forward pass alone takes 6-26 % longer on one thread (128 to 8,192 rows).

So batches of up to :data:`MAX_ROWS` rows are computed with the BLAS libraries limited to one
thread (through ``threadpoolctl``); larger batches keep BLAS's threads. Only the main thread
sets the limit: OpenBLAS's thread count is process-wide, and ``threadpoolctl`` lets one Python
thread at a time change it; fits and scores in other threads (a search in threads) leave it
alone. The thread counts found are put back after each forward pass.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext

#: Batches larger than this keep BLAS's threads: their products are long enough to pay for them.
MAX_ROWS = 8192

_libraries = None


def _blas_libraries() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded (found once: it scans the
    process's shared libraries, which takes milliseconds)."""
    global _libraries
    if _libraries is None:
        from threadpoolctl import ThreadpoolController

        _libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return _libraries


@contextmanager
def _one_thread():
    found = [(library, library.get_num_threads()) for library in _blas_libraries()]
    limited = [(library, count) for library, count in found if count is not None and count > 1]
    for library, _ in limited:
        library.set_num_threads(1)
    try:
        yield
    finally:
        for library, count in limited:
            library.set_num_threads(count)


def one_blas_thread(n_rows: int):
    """A context in which BLAS uses one thread if a forward pass of ``n_rows`` rows in this
    thread should (see the module's docstring), else a context that changes nothing."""
    if n_rows <= MAX_ROWS and threading.current_thread() is threading.main_thread():
        return _one_thread()
    return nullcontext()
