"""A real browser's view of a run's report.html: headless Chromium takes a full-page screenshot.

    python bench/report_screenshot.py [RUN_DIR] [--out bench/results/report.png] [--height 6000]

Without RUN_DIR it takes the newest run of `make run` (runs/reviews-sentiment/*). It rebuilds the
report with `seqkit report`, screenshots it with Chromium (`chromium`, `chromium-browser` or
`google-chrome` on PATH, no network: the page is self-contained) and prints JSON: the page's size,
its sections, the number of inline images, and the PNG written. Look at the PNG.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import RESULTS, write_report  # noqa: E402


def newest_run(root: Path) -> Path:
    runs = sorted(p for p in root.glob("*") if (p / "status.json").is_file() and not (p / "keras_tuner").is_dir())
    if not runs:
        raise SystemExit(f"no run directory under {root}; run `make run` first or give RUN_DIR")
    return runs[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS / "report_screenshot.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=6000)
    args = parser.parse_args()
    run_dir = args.run_dir or newest_run(Path("runs") / "reviews-sentiment")
    from seqkit.export.report import report_folder
    from seqkit.plugins import get_plugin_manager

    page = report_folder(run_dir, get_plugin_manager())
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no chromium on PATH")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={args.out}",
            f"--window-size={args.width},{args.height}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    html = page.read_text(encoding="utf-8")
    report = {
        "report": str(page),
        "bytes": page.stat().st_size,
        "sections": re.findall(r"<h2>(.*?)</h2>", html),
        "inline_images": len(re.findall(r'src="data:image/png;base64,', html)),
        "external_references": len(re.findall(r"""(?:src|href)=["'](?:https?:|//)""", html)),
        "screenshot": str(args.out) if args.out.is_file() else None,
        "browser": browser,
        "browser_exit": done.returncode,
    }
    write_report("report_screenshot", report)
    return 0 if done.returncode == 0 and args.out.is_file() else 1


if __name__ == "__main__":
    sys.exit(main())
