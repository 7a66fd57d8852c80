"""TensorFlow's start-up notices are kept off the command line's stderr; other lines are kept."""

from __future__ import annotations

import os
import subprocess
import sys

from seqkit import quiet

NOTICE = "I0000 00:00:1 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results"


def test_filtered_stderr_drops_only_the_known_notices(capfd):
    with quiet.filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, (NOTICE + "\n").encode())
        os.write(2, "a real warning \u00e9\n".encode())
    assert capfd.readouterr().err == "a real warning \u00e9\n"


def test_filtered_stderr_writes_back_when_the_body_fails(capfd):
    try:
        with quiet.filtered_stderr():
            os.write(2, b"the library says why\n")
            raise RuntimeError("import failed")
    except RuntimeError:
        pass
    assert capfd.readouterr().err == "the library says why\n"


def test_the_first_tensorflow_import_in_the_cli_prints_no_notices():
    code = (
        "import os, sys; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
        "from seqkit import quiet; quiet.install(); import keras; import tensorflow as tf\n"
        "assert not any(isinstance(f, quiet.QuietTensorFlowImport) for f in sys.meta_path)\n"
        "print(int(tf.constant(2) + 1))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_BACKEND"] = "tensorflow"
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
    assert "oneDNN custom operations" not in result.stderr
    assert "absl::InitializeLog" not in result.stderr


def test_the_api_sets_a_default_log_level_and_keeps_the_users():
    code = "import os, seqkit; seqkit._quiet_tensorflow(); print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def run(extra):
        return subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, env={**env, **extra}
        )

    assert run({}).stdout.strip() == "3"
    assert run({"TF_CPP_MIN_LOG_LEVEL": "0"}).stdout.strip() == "0"
