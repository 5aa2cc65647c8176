"""A process's memory: its resident size, read from Linux /proc (plain Python: both sides of the executor use
it), and the collections that keep a TensorFlow process's size flat from model to model."""
from __future__ import annotations

import gc
import os
from typing import Optional, Union


def rss_mb(pid: Union[int, str] = "self") -> Optional[float]:
    """Resident memory in MB of ``pid`` (this process by default), or None where it cannot be read."""
    try:
        with open("/proc/%s/statm" % pid) as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return None


def freeze(collect_first: bool = True) -> None:
    """Exempt every object alive now from later collections (``gc.freeze``), after freeing what is garbage.

    A TensorFlow process holds ~300,000 objects after its import, and every full collection, automatic ones
    during loads included, walked them all: 7 of them took 0.82 s of tf2.21's executor on the zoo. Frozen
    after the import (nothing to collect yet) and after the first model (TensorFlow's lazy imports), they
    took 0.50 s, the second freeze's collection included (measured with ``gc.callbacks``).
    """
    if collect_first:
        gc.collect()
    gc.freeze()
