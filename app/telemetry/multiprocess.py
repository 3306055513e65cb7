"""The directory ``prometheus_client`` shares between processes, prepared before any is started.

With ``serve --workers N`` every process writes its counters and histograms into files of one
directory, and whichever process is scraped sums them all. A file left by an earlier run would be
summed in too (its counts counted again), so the directory is emptied at every start, by the
parent, before it spawns a child: the children inherit the variable and find it empty. It should
be a directory no earlier run can leave files in that this one's process ids could reopen (a
tmpfs, a container's own temporary folder), never a persistent volume.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """Empty (or create) the directory named by ``PROMETHEUS_MULTIPROC_DIR``; with no such
    variable and ``workers > 1``, make a fresh one for this run and set the variable for the
    children. One process and no variable: nothing to share, the in-memory registry serves."""
    given = os.environ.get(ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        own = f"_{os.getpid()}.db"
        for stale in path.glob("*.db"):
            # This process may have opened its own files already (importing the instruments
            # does): removing them would lose whatever it counts from now on.
            if not stale.name.endswith(own):
                stale.unlink()
        return path
    if workers <= 1:
        return None
    path = Path(tempfile.mkdtemp(prefix="callfunnel-metrics-"))
    # Ours alone, so ours to remove when serve ends (the operator's own directory is kept).
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    os.environ[ENV] = str(path)
    return path
