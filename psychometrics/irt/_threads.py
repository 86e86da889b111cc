"""Limit the BLAS thread pool around small matrix products.

The EM's products (persons × items × nodes) are small enough that OpenBLAS's thread start-up and spin-waits
cost more than they save, and on a busy machine two spinning threads slowed a 2,000 × 30 calibration from
0.08 s to 2.4 s. ``blas_threads(1)`` sets the pool of the OpenBLAS that numpy loaded (found in the process
map, called through ctypes) and restores it afterwards; where no OpenBLAS is found it does nothing.
"""
from __future__ import annotations

import contextlib
import ctypes
import re

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
            "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
            "openblas_get_num_threads")
_cache: list = []


def _functions():
    if _cache:
        return _cache[0]
    found = (None, None)
    try:
        import numpy  # noqa: F401  (makes sure numpy's BLAS is loaded)
        with open("/proc/self/maps") as fh:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", fh.read())))
        for path in paths:
            lib = ctypes.CDLL(path)
            setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
            getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
            if setter is not None and getter is not None:
                found = (setter, getter)
                break
    except (OSError, ValueError):
        pass
    _cache.append(found)
    return found


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Run the block with ``n`` BLAS threads (None: leave the pool alone)."""
    setter, getter = _functions()
    if n is None or setter is None:
        yield
        return
    before = int(getter())
    setter(int(n))
    try:
        yield
    finally:
        setter(before)


#: Below this many multiply–adds per product a single thread is faster.
SINGLE_THREAD_WORK = 3e8


def threads_for(work: float) -> int | None:
    return 1 if work < SINGLE_THREAD_WORK else None
