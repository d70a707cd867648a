"""scripts/soak.py runs end to end (a few seconds, scripted estimator) and reports what it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ok__soak_reports_memory_latency_fps_and_skips(shared: Path, tmp_path: Path) -> None:
    """The lead runs the 10-minute soak with the real model; this proves the harness works."""
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "soak.py"),
            "--estimator",
            "scripted",
            "--duration",
            "4",
            "--sample-every",
            "1",
            "--warmup",
            "1",
            "--json",
            str(out),
        ],
        env=dict(os.environ, EDGE_POSE_SHARED=str(shared)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert 3.5 <= report["duration_s"] <= 6.0
    assert 60 <= report["frames"] <= 160  # a 30 fps clip played in real time for ~4 s
    assert 20 <= report["fps"] <= 40
    assert (
        report["latency_ms"]["p50"] is not None and report["latency_ms"]["p99"] >= report["latency_ms"]["p50"]
    )
    assert report["rss_mb"]["start"] > 0 and report["rss_mb"]["slope_mb_per_h"] is not None
    assert len(report["samples"]) >= 4
    assert report["published"]["pose"] > 0
    assert "RSS" in result.stdout and "slope" in result.stdout
