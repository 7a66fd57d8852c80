"""Every test session of the plugins gets its own data cache (seqkit.data.cache), not ~/.cache/seqkit."""

import os
import tempfile

os.environ["SEQKIT_CACHE"] = tempfile.mkdtemp(prefix="seqkit-test-cache-")
