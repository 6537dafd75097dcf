"""Square int64 matrices in shared memory, handed to the solver's processes by name.

A running day's travel matrices are tens of megabytes; pickling them to the
solver pool for every re-plan cost more than a tenth of a second each way.
A :class:`SharedMatrix` pickles as the name of its shared-memory block: the
other process maps the same pages read-only (and keeps the mapping for the
next job). The owner never changes a cell another process may be reading:
new places are written into rows and columns no problem refers to yet, and a
matrix that must shrink or grow is copied into a new block (see
:class:`backend.dispatch.network.DayMatrices`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from multiprocessing import shared_memory
from typing import Any

import numpy as np

# mappings a process keeps of blocks it was handed (a re-plan after another reuses them)
_ATTACHED_KEPT = 6
_attached: OrderedDict[str, tuple[Any, np.ndarray]] = OrderedDict()
_attached_lock = threading.Lock()


class SharedMatrix(np.ndarray):
    """An ndarray over a shared-memory block; pickles by name while it views the whole block."""

    _block: str | None

    def __array_finalize__(self, obj: Any) -> None:
        self._block = None  # slices and results of arithmetic are ordinary arrays in disguise

    def __reduce__(self) -> Any:
        if self._block is None:
            return np.asarray(self).__reduce__()
        return (_attach, (self._block, self.shape, self.dtype.str))


class Block:
    """A shared-memory block holding one square int64 matrix; the owner's side.

    The block is named and tracked by :mod:`multiprocessing.shared_memory` (the
    resource tracker unlinks it if this process dies), but mapped as a file of
    ``/dev/shm``: that mapping lives as long as an array uses it, whatever
    happens to the block's name. Without ``/dev/shm`` (not Linux) the matrix is
    an ordinary array and pickles by value; so too when /dev/shm has no room.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._shm: shared_memory.SharedMemory | None = None
        nbytes = max(8, size * size * 8)
        if _room_in_dev_shm(nbytes):
            shm = shared_memory.SharedMemory(create=True, size=nbytes)
            path = os.path.join("/dev/shm", shm.name.lstrip("/"))
            mapped = np.memmap(path, dtype=np.int64, mode="r+", shape=(size, size))
            shm.close()  # its own mapping only; the memmap has its own
            self._shm = shm
            array = mapped.view(SharedMatrix)
            array._block = shm.name
        else:
            array = np.zeros((size, size), dtype=np.int64).view(SharedMatrix)
        self.array: SharedMatrix = array

    @property
    def name(self) -> str | None:
        return None if self._shm is None else self._shm.name

    def release(self) -> None:
        """Unlink the block; mappings (here and in other processes) last while arrays use them."""
        if self._shm is not None:
            with contextlib.suppress(FileNotFoundError):
                self._shm.unlink()
            self._shm = None


def _room_in_dev_shm(nbytes: int) -> bool:
    # A block beyond the room of /dev/shm (64 MB in a default container) would be
    # created all right and then kill the process with SIGBUS when written.
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize > 2 * nbytes


def _attach(name: str, shape: tuple[int, int], dtype: str) -> np.ndarray:
    """The matrix of block ``name`` in this process (read-only; mapped once, kept a while)."""
    with _attached_lock:
        hit = _attached.get(name)
        if hit is not None:
            _attached.move_to_end(name)
            return hit[1]
        # mapped as a file: the resource tracker of this process stays out of it (it
        # would unlink a block it did not create when this process ends)
        path = os.path.join("/dev/shm", name.lstrip("/"))
        try:
            mapped = np.memmap(path, dtype=np.dtype(dtype), mode="r", shape=shape)
        except FileNotFoundError:
            raise RuntimeError(f"the day's matrices {name} are gone (unlinked before this job started)") from None
        array = np.asarray(mapped)
        _attached[name] = (mapped, array)
        while len(_attached) > _ATTACHED_KEPT:
            _attached.popitem(last=False)
        return array
