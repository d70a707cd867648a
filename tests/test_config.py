"""Configuration: schema, layering (defaults < file < environment < command line), one-line errors."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from edge import cli
from edge.config import (
    REDACTED,
    SECTIONS,
    Config,
    ConfigError,
    default_config_path,
    default_device_id,
    dump_toml,
    load,
)

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "systemd" / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def load_text(tmp_path: Path, text: str, env: dict[str, str] | None = None, **overrides: Any) -> Config:
    return load(
        write(tmp_path, text),
        env=env or {},
        overrides={k.replace("__", "."): v for k, v in overrides.items()},
    )


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text, env, **overrides)
    message = str(info.value)
    assert "\n" not in message, "a config error must be one line"
    return message


# -- defaults and files -----------------------------------------------------------------------------


def test_ok__missing_default_file_gives_defaults(tmp_path: Path) -> None:
    """A fresh install has no /etc/edge-pose/config.toml: the daemon must start on defaults."""
    config = load(None, env={"CONFIGURATION_DIRECTORY": str(tmp_path)})
    assert config == Config()
    assert config.path is None
    assert config.mqtt.port == 1883 and config.publish.pose_hz == 10.0 and config.reps.exercise == "auto"


def test_ok__default_path_follows_systemd_configuration_directory(tmp_path: Path) -> None:
    """Under systemd ConfigurationDirectory= the file lives in $CONFIGURATION_DIRECTORY."""
    write(tmp_path, "[mqtt]\nport = 1884\n")
    env = {"CONFIGURATION_DIRECTORY": str(tmp_path)}
    assert default_config_path(env) == tmp_path / "config.toml"
    config = load(None, env=env)
    assert config.mqtt.port == 1884 and config.path == tmp_path / "config.toml"
    assert default_config_path({}) == Path("/etc/edge-pose/config.toml")


def test_fail__explicit_missing_file(tmp_path: Path) -> None:
    """`--config typo.toml` must not silently run on defaults."""
    with pytest.raises(ConfigError, match="config file not found: .*nope.toml"):
        load(tmp_path / "nope.toml", env={})


def test_fail__invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[mqtt]\nport = = 3\n")
    assert "config.toml: invalid TOML" in message and "line 2" in message


def test_ok__values_are_read_and_typed(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
[device]
id = "gym-1"
[mqtt]
host = "broker.lan"
protocol = "5"
keepalive = 10
[publish]
pose_hz = 5
[lcd]
rotate = 90
""",
    )
    assert config.device.id == "gym-1" and config.device_id == "gym-1"
    assert config.mqtt.host == "broker.lan" and config.mqtt.protocol == "5" and config.mqtt.keepalive == 10
    assert config.publish.pose_hz == 5.0 and isinstance(config.publish.pose_hz, float)
    assert config.lcd.rotate == 90
    assert config.client_id == "edge-pose-gym-1" and config.device_name == "edge-pose gym-1"


def test_ok__config_is_frozen(tmp_path: Path) -> None:
    """Validated once: nobody may change a value behind the validation's back."""
    config = load_text(tmp_path, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.mqtt.port = 1  # type: ignore[misc]


# -- one-line errors naming the key, for every section ------------------------------------------------

BAD_VALUES = [
    ("device", "id", '"Gym 1"', "device.id: expected a device id"),
    ("device", "name", "5", "device.name: expected a string"),
    ("source", "kind", '"webcam"', "source.kind: expected one of 'auto'"),
    ("source", "width", "0", "source.width: expected an integer in 16..8192"),
    ("source", "realtime", '"yes"', "source.realtime: expected true or false"),
    ("source", "retry_max_s", "-1", "source.retry_max_s: expected a number"),
    ("pose", "model", '"huge"', "pose.model: expected one of 'lite', 'full', 'heavy'"),
    ("pose", "threads", "0", "pose.threads: expected an integer in 1..64"),
    ("pose", "edgetpu_device", '"usb0"', "pose.edgetpu_device: expected 'usb'"),
    ("pose", "min_detection_confidence", "1.5", "pose.min_detection_confidence: expected a number in 0..1"),
    ("pose", "segmentation", "1", "pose.segmentation: expected true or false"),
    ("reps", "exercise", '"Squat!"', "reps.exercise: expected an exercise name"),
    ("silhouette", "source", '"mask"', "silhouette.source: expected one of"),
    ("silhouette", "max_points", "2", "silhouette.max_points: expected an integer in 3..4096"),
    ("mqtt", "port", '"abc"', "mqtt.port: expected an integer in 1..65535, got 'abc'"),
    ("mqtt", "port", "70000", "mqtt.port: expected an integer in 1..65535, got 70000"),
    ("mqtt", "port", "true", "mqtt.port: expected an integer in 1..65535, got true"),
    ("mqtt", "protocol", '"3"', "mqtt.protocol: expected one of '3.1.1', '5'"),
    ("mqtt", "transport", '"udp"', "mqtt.transport: expected one of 'tcp', 'websockets'"),
    ("mqtt", "host", '"mqtt://x"', "mqtt.host: expected a host name"),
    ("mqtt", "topic_prefix", '"a/#"', "mqtt.topic_prefix: expected an MQTT topic prefix"),
    ("mqtt", "keepalive", "0", "mqtt.keepalive: expected an integer in 1..65535"),
    ("publish", "pose_hz", "100", "publish.pose_hz: expected a number in 0..60"),
    ("publish", "outbox_max_messages", "0", "publish.outbox_max_messages: expected an integer"),
    ("commands", "enabled", '"no"', "commands.enabled: expected true or false"),
    ("commands", "token", "[1]", "commands.token: expected a string, got an array"),
    ("homeassistant", "prefix", '"/ha"', "homeassistant.prefix: expected an MQTT topic prefix"),
    ("lcd", "rotate", "45", "lcd.rotate: expected one of 0, 90, 180, 270"),
    ("lcd", "output", '"hdmi"', "lcd.output: expected one of 'fb', 'luma', 'png'"),
    ("lcd", "fps", "0", "lcd.fps: expected an integer in 1..60"),
    ("dashboard", "port", "0", "dashboard.port: expected an integer in 1..65535"),
    ("logging", "level", '"verbose"', "logging.level: expected one of 'debug'"),
]


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"), BAD_VALUES, ids=[f"{s}.{k}={v}" for s, k, v, _ in BAD_VALUES]
)
def test_fail__bad_value_names_its_key(
    tmp_path: Path, section: str, key: str, value: str, expected: str
) -> None:
    """A wrong value must say which key, what was expected and what was given, in one line."""
    message = error_of(tmp_path, f"[{section}]\n{key} = {value}\n")
    assert message.startswith(expected), message
    assert "config.toml" in message


def test_ok__every_section_has_a_bad_value_case() -> None:
    """Guards the table above: a new section must come with its error test."""
    assert {s for s, *_ in BAD_VALUES} == set(SECTIONS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mqtt]\nhots = 'x'\n", "mqtt.hots: unknown key; did you mean 'host'?"),
        ("[mqt]\nhost = 'x'\n", "mqt: unknown section; did you mean 'mqtt'?"),
        ("[zzz]\n", "zzz: unknown section; expected one of device, source"),
        ("mqtt = 5\n", "mqtt: expected a table [mqtt], got 5"),
        ("[publish]\nrate = 1\n", "publish.rate: unknown key; expected one of pose_hz"),
    ],
)
def test_fail__unknown_keys_and_sections(tmp_path: Path, text: str, expected: str) -> None:
    """Typos must not be ignored: `hots = ...` would otherwise silently use the embedded broker."""
    assert error_of(tmp_path, text).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[pose]\ndelegate = "edgetpu"\n', "pose.edgetpu_model: required with pose.delegate = 'edgetpu'"),
        (
            '[pose]\ndelegate = "edgetpu"\nedgetpu_model = "/nope.tflite"\n',
            "pose.edgetpu_model: file not found",
        ),
        (
            '[mqtt]\nusername = "u"\npassword = "p"\npassword_file = "{pw}"\n',
            "mqtt.password_file: set either",
        ),
        ('[mqtt]\npassword = "p"\n', "mqtt.username: required when a password is set"),
        ('[mqtt]\nusername = "u"\npassword_file = "/nope/pw"\n', "mqtt.password_file: file not found"),
        ('[mqtt]\ntls = true\nca_file = "/nope/ca.crt"\n', "mqtt.ca_file: file not found"),
        ('[mqtt]\nca_file = "{pw}"\n', "mqtt.ca_file: set, but mqtt.tls is false"),
        ("[mqtt]\ntls_insecure = true\n", "mqtt.tls_insecure: set, but mqtt.tls is false"),
        ('[mqtt]\ntls = true\nkey_file = "{pw}"\n', "mqtt.cert_file: required with mqtt.key_file"),
        ("[mqtt]\nembedded_port = 9001\n", "mqtt.embedded_ws_port: must differ from mqtt.embedded_port"),
        ("[dashboard]\nenabled = true\nport = 9001\n", "dashboard.port: collides"),
        ('[source]\nkind = "file"\n', "source.uri: required with source.kind = 'file'"),
        ("[source]\nretry_initial_s = 60\n", "source.retry_initial_s: must not exceed source.retry_max_s"),
        ('[pose]\nmodel_dir = "/nope"\n', "pose.model_dir: folder not found"),
    ],
)
def test_fail__cross_field_rules(tmp_path: Path, text: str, expected: str) -> None:
    """Settings that contradict each other are caught at load, not at the first connection."""
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    message = error_of(tmp_path, text.replace("{pw}", str(pw)))
    assert message.startswith(expected), message


def test_ok__tls_files_and_password_file_that_exist(tmp_path: Path) -> None:
    for name in ("ca.crt", "client.crt", "client.key", "pw"):
        (tmp_path / name).write_text("x")
    config = load_text(
        tmp_path,
        f"""
[mqtt]
tls = true
ca_file = "{tmp_path}/ca.crt"
cert_file = "{tmp_path}/client.crt"
key_file = "{tmp_path}/client.key"
username = "edge"
password_file = "{tmp_path}/pw"
""",
    )
    assert config.mqtt.tls and config.mqtt.key_file.endswith("client.key")


def test_ok__paths_expand_variables_from_the_given_environment(tmp_path: Path) -> None:
    """systemd's LoadCredential= puts secrets in $CREDENTIALS_DIRECTORY; the example config uses it."""
    (tmp_path / "mqtt_password").write_text("s3cret\n")
    config = load_text(
        tmp_path,
        '[mqtt]\nusername = "u"\npassword_file = "$CREDENTIALS_DIRECTORY/mqtt_password"\n',
        env={"CREDENTIALS_DIRECTORY": str(tmp_path)},
    )
    assert config.mqtt.password_file == f"{tmp_path}/mqtt_password"


def test_fail__unset_variable_in_a_path(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[mqtt]\nusername = "u"\npassword_file = "${CREDENTIALS_DIRECTORY}/pw"\n')
    assert message.startswith("mqtt.password_file: environment variable $CREDENTIALS_DIRECTORY")


def test_ok__exercise_accepts_any_lowercase_name_until_reps_lands(tmp_path: Path) -> None:
    """The reps package validates names later (marked call site in edge/config.py)."""
    assert load_text(tmp_path, '[reps]\nexercise = "bicep_curl"\n').reps.exercise == "bicep_curl"


# -- layering -----------------------------------------------------------------------------------------


def test_ok__precedence_defaults_file_env_cli(tmp_path: Path) -> None:
    """defaults < file < environment < command line, key by key."""
    text = '[mqtt]\nhost = "file.lan"\nport = 1884\nkeepalive = 11\n'
    env = {"EDGE_POSE_MQTT__HOST": "env.lan", "EDGE_POSE_MQTT__PORT": "1885"}
    config = load_text(tmp_path, text, env, mqtt__host="cli.lan")
    assert config.mqtt.host == "cli.lan"  # CLI beats env and file
    assert config.mqtt.port == 1885  # env beats file
    assert config.mqtt.keepalive == 11  # file beats default
    assert config.mqtt.transport == "tcp"  # default


@pytest.mark.parametrize(
    ("name", "raw", "key", "expected"),
    [
        ("EDGE_POSE_MQTT__PORT", "1999", "mqtt.port", 1999),
        ("EDGE_POSE_MQTT__TLS", "false", "mqtt.tls", False),
        ("EDGE_POSE_PUBLISH__POSE_HZ", "2.5", "publish.pose_hz", 2.5),
        ("EDGE_POSE_SOURCE__REALTIME", "no", "source.realtime", False),
        ("EDGE_POSE_SOURCE__URI", "0", "source.uri", "0"),  # text keys keep digits as text
        ("EDGE_POSE_DEVICE__ID", "123", "device.id", "123"),
        ("EDGE_POSE_MQTT__PROTOCOL", "5", "mqtt.protocol", "5"),
        ("EDGE_POSE_MQTT__USERNAME", '"quoted"', "mqtt.username", "quoted"),
        ("EDGE_POSE_HOMEASSISTANT__PREFIX", "ha", "homeassistant.prefix", "ha"),
    ],
)
def test_ok__environment_values_are_parsed_for_their_key(
    tmp_path: Path, name: str, raw: str, key: str, expected: Any
) -> None:
    config = load_text(tmp_path, "", {name: raw})
    section, _, field = key.partition(".")
    assert getattr(getattr(config, section), field) == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"EDGE_POSE_MQTT__PORT": "abc"},
            "mqtt.port: expected an integer in 1..65535, got 'abc' (from EDGE_POSE_MQTT__PORT)",
        ),
        (
            {"EDGE_POSE_MQTT__HOTS": "x"},
            "mqtt.hots: unknown key; did you mean 'host'? (from EDGE_POSE_MQTT__HOTS)",
        ),
        (
            {"EDGE_POSE_MQQT__HOST": "x"},
            "mqqt: unknown section; did you mean 'mqtt'? (from EDGE_POSE_MQQT__HOST)",
        ),
        (
            {"EDGE_POSE_MQTT_HOST": "x"},
            "EDGE_POSE_MQTT_HOST: use two underscores between section and key: EDGE_POSE_MQTT__HOST",
        ),
    ],
)
def test_fail__environment_errors_name_the_variable(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    assert error_of(tmp_path, "", env) == expected


def test_ok__unrelated_edge_pose_variables_are_ignored(tmp_path: Path) -> None:
    """EDGE_POSE_SHARED (the tests' data folder) is not a config override."""
    assert load_text(tmp_path, "", {"EDGE_POSE_SHARED": "/x", "PATH": "/bin"}) == Config()


def test_ok__cli_overrides_parse_text_and_skip_none(tmp_path: Path) -> None:
    config = load(
        write(tmp_path, ""),
        env={},
        overrides={"mqtt.port": "1999", "mqtt.host": None, "publish.pose_hz": 3, "reps.exercise": "squat"},
    )
    assert config.mqtt.port == 1999 and config.mqtt.host == "" and config.publish.pose_hz == 3.0
    assert config.reps.exercise == "squat"


def test_fail__cli_override_error_says_command_line(tmp_path: Path) -> None:
    assert error_of(tmp_path, "", mqtt__port="x").endswith("(from the command line)")
    assert error_of(tmp_path, "", mqtt__bogus="x").startswith("mqtt.bogus: unknown key")


def test_ok__cli_argument_helpers(tmp_path: Path) -> None:
    """`edge-pose run --mqtt-host H --set publish.pose_hz=4` reaches the config."""
    import argparse

    from edge.config import add_config_arguments, overrides_from_args

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    args = parser.parse_args(
        [
            "--config",
            str(write(tmp_path, "")),
            "--mqtt-host",
            "h.lan",
            "--device-id",
            "d2",
            "--set",
            "publish.pose_hz=4",
            "--set",
            "mqtt.protocol=5",
        ]
    )
    overrides = overrides_from_args(args)
    assert overrides == {
        "mqtt.host": "h.lan",
        "device.id": "d2",
        "publish.pose_hz": "4",
        "mqtt.protocol": "5",
    }
    config = load(args.config, env={}, overrides=overrides)
    assert (config.mqtt.host, config.device.id, config.publish.pose_hz, config.mqtt.protocol) == (
        "h.lan",
        "d2",
        4.0,
        "5",
    )
    with pytest.raises(ConfigError, match="--set pose_hz=4: expected SECTION.KEY=VALUE"):
        overrides_from_args(parser.parse_args(["--set", "pose_hz=4"]))


# -- output ---------------------------------------------------------------------------------------------


def test_ok__secrets_are_redacted(tmp_path: Path) -> None:
    """show-config output is pasted into bug reports: passwords and tokens must not leak."""
    config = load_text(
        tmp_path, '[mqtt]\nusername = "u"\npassword = "hunter2"\n[commands]\ntoken = "t0k3n"\n'
    )
    text = config.to_toml()
    assert "hunter2" not in text and "t0k3n" not in text
    assert (
        config.to_dict()["mqtt"]["password"] == REDACTED and config.to_dict()["commands"]["token"] == REDACTED
    )
    assert config.to_dict(redact_secrets=False)["mqtt"]["password"] == "hunter2"
    assert config.to_dict()["mqtt"]["username"] == "u"
    assert Config().to_dict()["mqtt"]["password"] == ""  # an unset secret is shown as unset


def test_ok__to_toml_round_trips(tmp_path: Path) -> None:
    """The TOML show-config prints is itself a valid config with the same values."""
    config = load_text(
        tmp_path, '[device]\nname = "Gym \\"A\\" \\u00e9"\n[publish]\npose_hz = 7.5\n[lcd]\nrotate = 180\n'
    )
    again = load_text(tmp_path, config.to_toml(redact_secrets=False))
    assert again == config


def test_ok__changed_lists_only_differences(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[mqtt]\nport = 1883\nhost = "b"\n[commands]\ntoken = "x"\n')
    assert config.changed() == {"mqtt": {"host": "b"}, "commands": {"token": REDACTED}}
    assert config.to_toml(only_changed=True) == '[mqtt]\nhost = "b"\n\n[commands]\ntoken = "<redacted>"\n'
    assert Config().changed() == {}


def test_ok__dump_toml_writes_scalars() -> None:
    text = dump_toml({"a": {"s": "x\ny", "i": 3, "f": 1.0, "b": True, "e": 1e-7}})
    assert tomllib.loads(text) == {"a": {"s": "x\ny", "i": 3, "f": 1.0, "b": True, "e": 1e-7}}


def test_ok__default_device_id_is_sanitised_hostname() -> None:
    assert default_device_id("Gym-Pi.local") == "gym-pi"
    assert default_device_id("my pi (2)") == "my-pi-2"
    assert default_device_id("...") == "edge-pose"
    assert re.fullmatch(r"[a-z0-9_-]+", default_device_id())


# -- the shipped example --------------------------------------------------------------------------------


def uncommented_example() -> str:
    """The example with every `#key = value` line switched on."""
    return re.sub(r"^#([a-z_]+ = )", r"\1", EXAMPLE.read_text(), flags=re.M)


def test_ok__example_config_loads_as_is(tmp_path: Path) -> None:
    assert load(EXAMPLE, env={}) == Config()


def test_ok__example_lists_every_key_with_its_default(tmp_path: Path) -> None:
    """systemd/config.example.toml documents every key; uncommented it must equal the defaults,
    so the shipped documentation can never drift from the schema."""
    text = uncommented_example()
    data = tomllib.loads(text)
    expected = Config().to_dict(redact_secrets=False)
    assert {s: set(v) for s, v in data.items()} == {s: set(v) for s, v in expected.items()}
    assert load(write(tmp_path, text), env={}) == Config()


# -- the commands ---------------------------------------------------------------------------------------


def test_ok__check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[mqtt]\nhost = "b"\n')
    assert cli.main(["check-config", "--config", str(path)]) == 0
    assert capsys.readouterr().out == f"config OK: {path}\n"


def test_fail__check_config_command_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[mqtt]\nport = "abc"\n')
    assert cli.main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"edge-pose: error: mqtt.port: expected an integer in 1..65535, got 'abc' (in {path})\n"


def test_ok__show_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[mqtt]\nhost = "b"\npassword = "pw"\nusername = "u"\n')
    assert cli.main(["show-config", "--config", str(path), "--changed"]) == 0
    out = capsys.readouterr().out
    assert 'pw"' not in out and "<redacted>" in out
    body = tomllib.loads(out)
    assert body == {"mqtt": {"host": "b", "username": "u", "password": "<redacted>"}}
    assert cli.main(["show-config", "--config", str(path)]) == 0
    assert set(tomllib.loads(capsys.readouterr().out)) == set(SECTIONS)
