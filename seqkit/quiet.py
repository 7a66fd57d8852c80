"""TensorFlow's start-up chatter, kept off the command line's output.

Loading TensorFlow's shared libraries prints lines from C++ that ``TF_CPP_MIN_LOG_LEVEL`` does
not silence (they are written before absl's logging is set up): "All log messages before
absl::InitializeLog() is called are written to STDERR", "oneDNN custom operations are on ...",
"This TensorFlow binary is optimized to use available CPU instructions ...". ``seqkit``
installs :class:`QuietTensorFlowImport` so that while ``tensorflow`` is first imported, file
descriptor 2 goes to a temporary file; afterwards every line that is not one of these known
notices is written back to stderr, so real warnings and errors are kept. Setting
``TF_CPP_MIN_LOG_LEVEL=0`` shows everything.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys

NOTICES = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|oneDNN custom operations are on"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags"
    r"|Could not find cuda drivers on your machine, GPU will not be used"
)


@contextlib.contextmanager
def filtered_stderr(pattern: re.Pattern = NOTICES):
    """Run the body with file descriptor 2 captured; write back the lines that do not match
    ``pattern``."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr (embedded interpreters): nothing to filter
        yield
        return
    import tempfile

    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines() if not pattern.search(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Import hook: the first ``import tensorflow`` (also the one Keras makes) runs inside
    :func:`filtered_stderr`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        remove()
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec_module(module):
            with filtered_stderr():
                exec_module(module)

        spec.loader.exec_module = quiet_exec_module
        return spec


def install(level: str | None = None) -> None:
    """Filter the notices of the first TensorFlow import in this process (no effect when it is
    already imported or ``TF_CPP_MIN_LOG_LEVEL`` is ``0``). ``level`` is the default for
    ``TF_CPP_MIN_LOG_LEVEL`` (a value the user set is kept); it must be set before TensorFlow
    loads to count."""
    if "tensorflow" in sys.modules:
        return
    if level is not None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", level)
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") == "0":
        return
    if not any(isinstance(finder, QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())


def remove() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, QuietTensorFlowImport)]
