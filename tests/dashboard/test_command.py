"""``edge-pose dashboard`` as a user runs it: options, the page served, a clean exit, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mosquitto_process import Mosquitto, free_port

from edge.cli import main
from edge.dashboard.broker import BrokerSettings, broker_settings, settings_from_config
from edge.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_ok__dashboard_command_serves_the_page_and_exits_cleanly_on_sigterm(
    broker: Mosquitto, tmp_path: Path
) -> None:
    port = free_port()
    token = tmp_path / "token"
    token.write_text("t0k\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge",
            "dashboard",
            "--port",
            str(port),
            "--mqtt-port",
            str(broker.port),
            "--command-token-file",
            str(token),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        health = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as res:
                    health = json.loads(res.read())
                if health["broker"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert health == {"ok": True, "broker": True, "devices": 0, "pages": 0}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as res:
            assert b"edge-pose" in res.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
    assert b"lost the broker" not in err, "an orderly stop is not a lost broker"
    assert (
        f"edge-pose dashboard at http://127.0.0.1:{port}/ (broker mqtt://127.0.0.1:{broker.port})".encode()
        in out
    )


def test_fail__port_in_use_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code = main(["dashboard", "--port", str(busy.getsockname()[1]), "--mqtt-port", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("edge-pose: error: dashboard.port: cannot listen on 127.0.0.1:")
    assert err.count("\n") == 1


def test_fail__unreadable_password_file_names_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["dashboard", "--password-file", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert code == 2 and "--password-file: cannot read" in err and err.count("\n") == 1


def test_ok__command_line_beats_config_which_beats_defaults() -> None:
    class Mqtt:
        host, port, embedded_port, username, password, password_file = (
            "",
            1883,
            1884,
            "cfg-user",
            "cfg-pw",
            "",
        )
        topic_prefix, tls, keepalive, transport, protocol = "shop", False, 20, "tcp", "5"

    class Config:
        mqtt = Mqtt()

    from_config = settings_from_config(Config())
    assert (from_config.host, from_config.port, from_config.protocol) == ("127.0.0.1", 1884, "5"), (
        "empty mqtt.host = the daemon's embedded broker on loopback"
    )
    import argparse

    args = argparse.Namespace(
        mqtt_host="broker.lan",
        mqtt_port=8883,
        tls=True,
        topic_prefix=None,
        username=None,
        password_file=None,
        transport=None,
        mqtt_protocol=None,
        ca_file=None,
        cert_file=None,
        key_file=None,
        tls_insecure=None,
    )
    merged = broker_settings(args, Config(), "x")
    assert (merged.host, merged.port, merged.tls, merged.username, merged.topic_prefix) == (
        "broker.lan",
        8883,
        True,
        "cfg-user",
        "shop",
    )
    assert broker_settings(argparse.Namespace(), None, "x") == BrokerSettings(client_id_prefix="x")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"port": 0}, "mqtt.port"),
        ({"transport": "udp"}, "mqtt.transport"),
        ({"topic_prefix": "a/#"}, "mqtt.topic_prefix"),
    ],
)
def test_fail__bad_broker_settings_name_their_key(changes: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        BrokerSettings(**changes)


def test_ok__service_from_a_loaded_config_uses_its_sections() -> None:
    """What ``edge-pose run`` calls with ``[dashboard] enabled``: broker, address, token from config."""
    from types import SimpleNamespace

    from edge.dashboard.service import DashboardService

    config = SimpleNamespace(
        mqtt=SimpleNamespace(host="", port=1883, embedded_port=18830, topic_prefix="gym", keepalive=30),
        dashboard=SimpleNamespace(host="127.0.0.1", port=0),
        commands=SimpleNamespace(token="abc"),
    )
    service = DashboardService.from_config(config)
    try:
        assert (service.settings.host, service.settings.port, service.settings.topic_prefix) == (
            "127.0.0.1",
            18830,
            "gym",
        )
        assert service.http.command_token == "abc" and service.url.startswith("http://127.0.0.1:")
        assert service.link.topics[0] == "gym/+/availability"
    finally:
        service.stop()
