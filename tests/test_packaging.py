"""Packaging and import hygiene: the wheel names every package, and importing edge stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def test_ok__pyproject_lists_every_package_under_edge() -> None:
    """The package list is explicit (models/ maps to edge._models); a new folder under edge/, code or
    data (the dashboard's static files), must be added."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = [
        REPO / "edge",
        *(p for p in (REPO / "edge").rglob("*") if p.is_dir() and p.name != "__pycache__"),
    ]
    found = {".".join(folder.relative_to(REPO).parts) for folder in folders}
    assert found | {"edge._models"} == listed


def test_ok__importing_edge_and_building_the_cli_imports_no_hardware_or_runtime_library() -> None:
    code = (
        "import sys, edge, edge.cli; edge.cli.build_parser(); "
        "import edge.blazepose, edge.reps, edge.silhouette, edge.mqtt, edge.camera, edge.daemon, edge.lcd; "
        "bad = [m for m in ('picamera2', 'libcamera', 'ai_edge_litert', 'tflite_runtime', 'paho', 'luma') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
