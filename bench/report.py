"""Shared by the benchmarks: print a report as JSON and keep it under bench/results/."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(name: str, report: dict, path: Path | None = None) -> Path:
    text = json.dumps(report, indent=2)
    print(text)
    out = path or RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return out
