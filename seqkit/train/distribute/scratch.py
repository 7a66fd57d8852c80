"""Where a worker that is not the chief keeps its files: a scratch run folder."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from seqkit.train.distribute.plan import Plan

#: What a worker copies from the chief's run directory to resume (the rest is the chief's).
RESUME_FILES = ("recipe.yaml", "run.json", "status.json", "checkpoints")


@contextlib.contextmanager
def worker_directory(plan: Plan, resume_from: Path | None = None):
    """A scratch run folder for a worker that is not the chief, deleted afterwards.

    To resume, the worker reads the chief's run directory (shared storage or a copy):
    its recipe, status and checkpoints are copied into the scratch folder.
    """
    from seqkit.train.rundir import RunDirectory

    scratch = Path(tempfile.mkdtemp(prefix=f"seqkit-worker{plan.worker_index}-"))
    try:
        if resume_from is not None:
            for name in RESUME_FILES:
                source = Path(resume_from) / name
                if source.is_dir():
                    shutil.copytree(source, scratch / name)
                elif source.is_file():
                    shutil.copy2(source, scratch / name)
        yield RunDirectory(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
