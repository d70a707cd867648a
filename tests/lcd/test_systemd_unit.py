"""systemd/edge-pose-lcd.service is a valid, tightly sandboxed unit (checked offline, no running systemd)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "edge-pose-lcd.service"
ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze not installed (apt-get install systemd)"
)


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at an existing binary (verify checks that it is executable)."""
    text = UNIT.read_text().replace("/opt/edge-pose/bin/edge-pose", "/bin/true")
    path = tmp_path / UNIT.name
    path.write_text(text)
    return path


def test_ok__unit_verifies_without_any_warning(unit: Path) -> None:
    """systemd-analyze verify exits 0 even on unknown keys, so any stderr output is a failure."""
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_ok__unit_exposure_is_low(unit: Path) -> None:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=yes", str(unit)], capture_output=True, text=True, timeout=60
    )
    match = re.search(r"Overall exposure level for .*: ([\d.]+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    assert float(match[1]) <= 2.5


def test_ok__unit_runs_the_lcd_command_and_does_not_loop_on_config_errors() -> None:
    text = UNIT.read_text()
    assert re.search(r"^ExecStart=\S+/edge-pose lcd --config /etc/edge-pose/config.toml$", text, re.M)
    assert "RestartPreventExitStatus=2" in text  # the CLI's exit code for a user error
    assert "char-video4linux" not in text, "the screen needs no camera access"
