"""The systemd unit, the sysusers snippet and the installer, checked with systemd's own tools.

PID 1 is not systemd here, so nothing is started; ``systemd-analyze verify`` and ``security
--offline`` read the unit file. ``verify`` checks that ExecStart exists and is executable and needs
the standard targets, so it runs in a temporary root holding a copy of this machine's units and a
stub ``/opt/edge-pose/bin/edge-pose``; the unit itself is copied unchanged. ``verify`` reports
unknown keys and bad values as warnings with exit code 0, so any output on stderr fails the test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "edge-pose.service"
SYSUSERS = REPO / "systemd" / "edge-pose.sysusers"
INSTALLER = REPO / "scripts" / "install-pi.sh"
SYSTEM_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()), None
)

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or SYSTEM_UNITS is None,
    reason="systemd-analyze not installed (apt install systemd)",
)


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


@pytest.fixture
def verify_root(tmp_path: Path) -> Path:
    """A root with the standard units, a stub ExecStart and our unit, unchanged."""
    assert SYSTEM_UNITS is not None
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    executable = unit_settings(UNIT.read_text())["ExecStart"][0].split()[0]
    stub = root / executable.lstrip("/")
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system" / UNIT.name)
    return root


def verify(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={root}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_systemd_analyze
def test_ok__unit_verifies_without_any_warning(verify_root: Path) -> None:
    """A misspelt key is only a warning to systemd and silently ignored: it must fail here."""
    result = verify(verify_root)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""


@needs_systemd_analyze
def test_fail__the_verify_harness_catches_a_typo(verify_root: Path) -> None:
    """Proves the test above can fail: a typo gives stderr (with exit code 0)."""
    unit = verify_root / "etc/systemd/system" / UNIT.name
    unit.write_text(unit.read_text().replace("WatchdogSec=", "WatchdogSecs="))
    result = verify(verify_root)
    assert "Unknown key 'WatchdogSecs'" in result.stderr


@needs_systemd_analyze
def test_ok__security_exposure_is_low(verify_root: Path) -> None:
    """Hardening must not regress: systemd-analyze's exposure score stays 'OK' (<= 2.5 of 10)."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", f"--root={verify_root}", UNIT.name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for edge-pose\.service: ([\d.]+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    score, verdict = float(match.group(1)), match.group(2)
    print(f"systemd-analyze security: {score} {verdict}")
    assert score <= 2.5 and verdict == "OK"


def test_ok__unit_keeps_the_contract_settings() -> None:
    """What the daemon relies on: notify + watchdog, restart on failure but not on config errors,
    a dedicated user, state/runtime directories, the camera devices allowed under DevicePolicy=closed."""
    settings = unit_settings(UNIT.read_text())
    one = {key: values[-1] for key, values in settings.items()}
    assert one["Type"] == "notify" and one["NotifyAccess"] == "main"
    assert one["Restart"] == "on-failure" and one["RestartPreventExitStatus"] == "2"
    assert one["User"] == one["Group"] == "edge-pose"
    assert one["StateDirectory"] == "edge-pose" and one["RuntimeDirectory"] == "edge-pose"
    assert one["DevicePolicy"] == "closed" and one["PrivateDevices"] == "no"
    devices = {value.split()[0] for value in settings["DeviceAllow"]}
    assert {"char-video4linux", "char-media", "char-dma_heap"} <= devices
    assert {"char-spi", "char-gpiochip", "char-fb", "char-usb_device", "char-apex"} <= devices
    assert settings["LoadCredential"] == ["mqtt_password"]
    assert "SupplementaryGroups" not in settings  # groups come from sysusers; a missing one fails the start
    watchdog = int(one["WatchdogSec"].removesuffix("s"))
    stop = int(one["TimeoutStopSec"].removesuffix("s"))
    assert watchdog >= 2  # the frame loop wakes every 0.25 s when idle; pings at WatchdogSec/2
    assert stop > 5 + 4 + 2 + 5 + 2  # edge-pose run's stop budgets: daemon, publisher, LCD, dashboard, broker


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers not installed")
def test_ok__sysusers_creates_the_user_in_the_groups_idempotently(tmp_path: Path) -> None:
    """The service user must be in video (cameras, DMA heaps) and the LCD/Coral groups; a second run
    (the installer run again) changes nothing."""
    (tmp_path / "etc").mkdir()
    for _ in range(2):
        result = subprocess.run(
            ["systemd-sysusers", f"--root={tmp_path}", "-"],
            input=SYSUSERS.read_text(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
    passwd = (tmp_path / "etc/passwd").read_text()
    assert re.search(
        r"^edge-pose:x:\d+:\d+:edge-pose daemon:/var/lib/edge-pose:/usr/sbin/nologin$", passwd, re.M
    )
    groups = {
        line.split(":")[0]: line.split(":")[3] for line in (tmp_path / "etc/group").read_text().splitlines()
    }
    for group in ("video", "render", "spi", "gpio", "plugdev"):
        assert "edge-pose" in groups[group].split(","), group
    assert [line.split(":")[0] for line in passwd.splitlines()].count("edge-pose") == 1


def test_ok__installer_is_valid_bash_and_shellcheck_clean() -> None:
    subprocess.run(["bash", "-n", str(INSTALLER)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt install shellcheck)")
    result = subprocess.run(["shellcheck", str(INSTALLER)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def fake_source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    (source / "systemd").mkdir(parents=True)
    (source / "pyproject.toml").write_text("[project]\nname = 'edge-pose'\n")
    shutil.copy(UNIT, source / "systemd")
    shutil.copy(SYSUSERS, source / "systemd")
    (source / "systemd" / "config.example.toml").write_text("# defaults\n")
    return source


def test_ok__installer_dry_run_plans_every_step_and_changes_nothing(tmp_path: Path) -> None:
    """What can be checked off a Pi: the plan, in order, with the Bookworm pins; nothing written."""
    source = fake_source(tmp_path)
    prefix = tmp_path / "opt-edge-pose"
    result = subprocess.run(
        ["bash", str(INSTALLER), "--dry-run", "--source", str(source), "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = [
        "--system-site-packages",
        f"{prefix}/bin/pip install",
        "systemd-sysusers /usr/lib/sysusers.d/edge-pose.conf",
        "systemctl daemon-reload",
        "systemctl enable edge-pose.service",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), out
    assert str(source) in out
    if "bookworm" in out.splitlines()[0]:
        assert "numpy<2" in out and "opencv-python-headless<4.12" in out
    assert not prefix.exists()


@pytest.mark.parametrize(("args", "code", "message"), [(["--bogus"], 2, "unknown option --bogus")])
def test_fail__installer_rejects_bad_arguments(args: list[str], code: int, message: str) -> None:
    result = subprocess.run(["bash", str(INSTALLER), *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == code and message in result.stderr


def test_fail__installer_refuses_a_tree_that_is_not_edge_pose(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(INSTALLER), "--dry-run", "--source", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "is not an edge-pose source tree" in result.stderr
