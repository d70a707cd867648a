"""edge-pose configuration: one TOML file, environment and command-line overrides, validated once.

Layers, later ones win: built-in defaults < the TOML file < ``EDGE_POSE_<SECTION>__<KEY>``
environment variables < command-line overrides (``{"mqtt.host": "broker.lan"}``). The result is a
tree of frozen dataclasses (``Config.mqtt.port``); nothing else in edge-pose parses config text.

Every mistake is one ``ConfigError`` line that starts with the key's full path and says where
the value came from, e.g. ``mqtt.port: expected an integer in 1..65535, got 'abc' (from
EDGE_POSE_MQTT__PORT)``. Unknown sections and keys are rejected (with a suggestion), as are wrong
types, values out of range and contradicting settings (``pose.delegate = "edgetpu"`` without
``pose.edgetpu_model``, ``mqtt.password`` together with ``mqtt.password_file``, ...).

Path values expand ``~``, ``$VAR`` and ``${VAR}`` (e.g. ``$CREDENTIALS_DIRECTORY/mqtt_password``
with systemd's ``LoadCredential=``); an unset variable is an error, never an empty string.

The schema is documented in ``CONTRACT.md`` and, key by key, in ``systemd/config.example.toml``.
Stdlib only (``tomllib``, or ``tomli`` on Python 3.10): pydantic would add ~5 MB of compiled
code on a Raspberry Pi for what a page of dataclasses does here.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import os
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edge.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Where ``edge-pose`` looks when no ``--config`` is given (systemd's ``ConfigurationDirectory=``
#: sets ``$CONFIGURATION_DIRECTORY`` to ``/etc/edge-pose``).
DEFAULT_CONFIG_PATH = Path("/etc/edge-pose/config.toml")
ENV_PREFIX = "EDGE_POSE_"
REDACTED = "<redacted>"

#: Upper limits of the publishing rates, shared with the ``set_rates`` command.
POSE_HZ_MAX = 60.0
SILHOUETTE_HZ_MAX = 30.0

_DEVICE_ID_RE = re.compile(r"[a-z0-9_-]+")
_EXERCISE_RE = re.compile(r"[a-z_]+")
_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


# -- value checks ---------------------------------------------------------------------------------


class Check:
    """How one key's value is validated; ``parse`` returns the clean value or raises ``ValueError``.

    The ``ValueError`` text is the "expected ..." part of the final ``ConfigError`` line.
    """

    kind = "text"

    def parse(self, value: Any, env: Mapping[str, str]) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def from_text(self, raw: str) -> Any:
        """A value given as text (environment, command line): TOML scalar when possible."""
        return _toml_scalar(raw)


@dataclass(frozen=True)
class Flag(Check):
    kind = "bool"

    def parse(self, value: Any, env: Mapping[str, str]) -> bool:
        if isinstance(value, bool):
            return value
        raise ValueError("expected true or false")

    def from_text(self, raw: str) -> Any:
        low = raw.strip().lower()
        return {
            "true": True,
            "false": False,
            "1": True,
            "0": False,
            "yes": True,
            "no": False,
            "on": True,
            "off": False,
        }.get(low, raw)


@dataclass(frozen=True)
class IntRange(Check):
    lo: int
    hi: int
    kind = "int"

    def parse(self, value: Any, env: Mapping[str, str]) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not self.lo <= value <= self.hi:
            raise ValueError(f"expected an integer in {self.lo}..{self.hi}")
        return value


@dataclass(frozen=True)
class IntChoice(Check):
    options: tuple[int, ...]
    kind = "int"

    def parse(self, value: Any, env: Mapping[str, str]) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value not in self.options:
            raise ValueError("expected one of " + ", ".join(str(o) for o in self.options))
        return value


@dataclass(frozen=True)
class FloatRange(Check):
    lo: float
    hi: float
    kind = "float"

    def parse(self, value: Any, env: Mapping[str, str]) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number in {self.lo:g}..{self.hi:g}")
        value = float(value)
        if not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise ValueError(f"expected a number in {self.lo:g}..{self.hi:g}")
        return value


@dataclass(frozen=True)
class Choice(Check):
    options: tuple[str, ...]

    def parse(self, value: Any, env: Mapping[str, str]) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # protocol = 5
        if not isinstance(value, str) or value not in self.options:
            raise ValueError("expected one of " + ", ".join(repr(o) for o in self.options))
        return value

    def from_text(self, raw: str) -> Any:
        return _text_value(raw)


@dataclass(frozen=True)
class Text(Check):
    pattern: str | None = None
    describe: str = "a string"
    max_len: int = 1024

    def parse(self, value: Any, env: Mapping[str, str]) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected {self.describe}")
        if len(value) > self.max_len:
            raise ValueError(f"expected {self.describe} of at most {self.max_len} characters")
        if value and self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ValueError(f"expected {self.describe}")
        return value

    def from_text(self, raw: str) -> Any:
        return _text_value(raw)


@dataclass(frozen=True)
class TopicLevel(Check):
    """An MQTT topic prefix: non-empty, no wildcards, no leading/trailing '/', not '$'-reserved."""

    def parse(self, value: Any, env: Mapping[str, str]) -> str:
        if (
            not isinstance(value, str)
            or not value
            or any(c in value for c in "+#\0")
            or value.startswith(("/", "$"))
            or value.endswith("/")
            or "//" in value
            or any(c.isspace() for c in value)
        ):
            raise ValueError(
                "expected an MQTT topic prefix like 'edge-pose' (no spaces, '+', '#', leading '$' or '/')"
            )
        return value

    def from_text(self, raw: str) -> Any:
        return _text_value(raw)


@dataclass(frozen=True)
class PathText(Check):
    """A file system path; ``~``, ``$VAR`` and ``${VAR}`` are expanded ('' stays '' = unset)."""

    def parse(self, value: Any, env: Mapping[str, str]) -> str:
        if not isinstance(value, str):
            raise ValueError("expected a path (string)")
        if not value:
            return value

        def expand(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in env:
                raise ValueError(f"environment variable ${name} in {value!r} is not set")
            return env[name]

        return os.path.expanduser(_VAR_RE.sub(expand, value))

    def from_text(self, raw: str) -> Any:
        return _text_value(raw)


def _toml_scalar(raw: str) -> Any:
    """``"5"`` -> 5, ``"true"`` -> True, ``'"x"'`` -> "x"; anything else stays text."""
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, KeyError):
        return raw
    return value if isinstance(value, (str, int, float, bool)) else raw


def _text_value(raw: str) -> str:
    """Text keys keep the text as given, unless it is a quoted TOML string."""
    value = _toml_scalar(raw)
    return value if isinstance(value, str) and raw.strip()[:1] in "\"'" else raw


def _key(default: Any, check: Check, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"check": check, "secret": secret})


# -- the schema ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceConfig:
    id: str = _key("", Text(r"[a-z0-9_-]+", "a device id of a-z, 0-9, '_' and '-'", 64))
    name: str = _key("", Text(max_len=128))


@dataclass(frozen=True)
class SourceConfig:
    kind: str = _key("auto", Choice(("auto", "picamera2", "opencv", "file", "stream", "images")))
    uri: str = _key("", Text())
    width: int = _key(640, IntRange(16, 8192))
    height: int = _key(480, IntRange(16, 8192))
    fps: int = _key(30, IntRange(1, 240))
    realtime: bool = _key(True, Flag())
    loop: bool = _key(False, Flag())
    retry_initial_s: float = _key(1.0, FloatRange(0.01, 3600.0))
    retry_max_s: float = _key(30.0, FloatRange(0.01, 86400.0))


@dataclass(frozen=True)
class PoseConfig:
    model: str = _key("lite", Choice(("lite", "full", "heavy")))
    backend: str = _key("auto", Choice(("auto", "litert", "tflite-runtime")))
    threads: int = _key(2, IntRange(1, 64))
    delegate: str = _key("cpu", Choice(("cpu", "edgetpu")))
    edgetpu_device: str = _key("", Text(r"(usb|pci)(:\d+)?", "'usb', 'usb:N', 'pci', 'pci:N' or ''"))
    edgetpu_model: str = _key("", PathText())
    edgetpu_fallback: bool = _key(True, Flag())
    model_dir: str = _key("", PathText())
    segmentation: bool = _key(True, Flag())
    min_detection_confidence: float = _key(0.5, FloatRange(0.0, 1.0))
    min_tracking_confidence: float = _key(0.5, FloatRange(0.0, 1.0))
    smooth_landmarks: bool = _key(True, Flag())
    mask_smoothing: float = _key(0.0, FloatRange(0.0, 1.0))
    mask_max_side: int = _key(640, IntRange(0, 4096))


@dataclass(frozen=True)
class RepsConfig:
    exercise: str = _key("auto", Text(r"[a-z_]+", "an exercise name of a-z and '_'", 64))


@dataclass(frozen=True)
class SilhouetteConfig:
    enabled: bool = _key(True, Flag())
    source: str = _key("pose", Choice(("pose", "selfie-general", "selfie-landscape")))
    threshold: float = _key(0.5, FloatRange(0.0, 1.0))
    max_points: int = _key(64, IntRange(3, 4096))
    png: bool = _key(False, Flag())
    png_size: int = _key(96, IntRange(8, 1024))


@dataclass(frozen=True)
class MqttConfig:
    host: str = _key("", Text(r"[^\s/]+", "a host name or address (no spaces or '/')", 253))
    port: int = _key(1883, IntRange(1, 65535))
    transport: str = _key("tcp", Choice(("tcp", "websockets")))
    protocol: str = _key("3.1.1", Choice(("3.1.1", "5")))
    username: str = _key("", Text(max_len=256))
    password: str = _key("", Text(max_len=1024), secret=True)
    password_file: str = _key("", PathText())
    tls: bool = _key(False, Flag())
    ca_file: str = _key("", PathText())
    cert_file: str = _key("", PathText())
    key_file: str = _key("", PathText())
    tls_insecure: bool = _key(False, Flag())
    keepalive: int = _key(30, IntRange(1, 65535))
    client_id: str = _key("", Text(r"[\x21-\x7e]+", "printable ASCII without spaces", 128))
    topic_prefix: str = _key("edge-pose", TopicLevel())
    embedded_port: int = _key(1883, IntRange(1, 65535))
    embedded_ws_port: int = _key(9001, IntRange(0, 65535))


@dataclass(frozen=True)
class PublishConfig:
    pose_hz: float = _key(10.0, FloatRange(0.0, POSE_HZ_MAX))
    silhouette_hz: float = _key(2.0, FloatRange(0.0, SILHOUETTE_HZ_MAX))
    stats_interval_s: float = _key(10.0, FloatRange(1.0, 3600.0))
    outbox_dir: str = _key("", PathText())
    outbox_max_messages: int = _key(10000, IntRange(1, 10_000_000))


@dataclass(frozen=True)
class CommandsConfig:
    enabled: bool = _key(True, Flag())
    token: str = _key("", Text(max_len=256), secret=True)


@dataclass(frozen=True)
class HomeAssistantConfig:
    discovery: bool = _key(True, Flag())
    prefix: str = _key("homeassistant", TopicLevel())


@dataclass(frozen=True)
class LcdConfig:
    enabled: bool = _key(False, Flag())
    output: str = _key("png", Choice(("fb", "luma", "png")))
    device: str = _key("/dev/fb1", PathText())
    driver: str = _key("st7789", Text(r"[a-z0-9_]+", "a luma.lcd driver name like 'st7789'", 32))
    spi_port: int = _key(0, IntRange(0, 9))
    spi_device: int = _key(0, IntRange(0, 9))
    gpio_dc: int = _key(24, IntRange(0, 63))
    gpio_rst: int = _key(25, IntRange(0, 63))
    gpio_backlight: int = _key(0, IntRange(0, 63))
    width: int = _key(240, IntRange(16, 4096))
    height: int = _key(240, IntRange(16, 4096))
    rotate: int = _key(0, IntChoice((0, 90, 180, 270)))
    fps: int = _key(5, IntRange(1, 60))
    png_path: str = _key("/run/edge-pose/lcd.png", PathText())


@dataclass(frozen=True)
class DashboardConfig:
    enabled: bool = _key(False, Flag())
    host: str = _key("127.0.0.1", Text(r"[^\s/]+", "a host name or address to listen on", 253))
    port: int = _key(8080, IntRange(1, 65535))


@dataclass(frozen=True)
class LoggingConfig:
    level: str = _key("info", Choice(("debug", "info", "warning", "error")))


@dataclass(frozen=True)
class Config:
    """The whole validated configuration; ``path`` is the file it was read from (if any)."""

    device: DeviceConfig = field(default_factory=DeviceConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    reps: RepsConfig = field(default_factory=RepsConfig)
    silhouette: SilhouetteConfig = field(default_factory=SilhouetteConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    lcd: LcdConfig = field(default_factory=LcdConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    path: Path | None = field(default=None, compare=False, metadata={"section": False})

    # -- derived values -------------------------------------------------------------------------

    @property
    def device_id(self) -> str:
        """``device.id``, or the host name sanitised to ``[a-z0-9_-]``."""
        return self.device.id or default_device_id()

    @property
    def device_name(self) -> str:
        """``device.name``, or ``"edge-pose <device id>"``."""
        return self.device.name or f"edge-pose {self.device_id}"

    @property
    def client_id(self) -> str:
        """``mqtt.client_id``, or ``"edge-pose-<device id>"``."""
        return self.mqtt.client_id or f"edge-pose-{self.device_id}"

    @property
    def embedded_broker(self) -> bool:
        """True when ``edge-pose run`` starts its own broker (``mqtt.host`` is empty)."""
        return not self.mqtt.host

    # -- output ---------------------------------------------------------------------------------

    def to_dict(self, redact_secrets: bool = True) -> dict[str, dict[str, Any]]:
        """``{section: {key: value}}`` in schema order; secrets that are set become ``<redacted>``."""
        out: dict[str, dict[str, Any]] = {}
        for section in _sections():
            values = getattr(self, section.name)
            out[section.name] = {}
            for key in fields(values):
                value = getattr(values, key.name)
                if redact_secrets and key.metadata.get("secret") and value:
                    value = REDACTED
                out[section.name][key.name] = value
        return out

    def changed(self) -> dict[str, dict[str, Any]]:
        """Only the keys whose value differs from the built-in default (same shape as ``to_dict``)."""
        defaults = Config().to_dict(redact_secrets=False)
        mine = self.to_dict(redact_secrets=False)
        redacted = self.to_dict(redact_secrets=True)
        out: dict[str, dict[str, Any]] = {}
        for section, values in mine.items():
            diff = {k: redacted[section][k] for k, v in values.items() if v != defaults[section][k]}
            if diff:
                out[section] = diff
        return out

    def to_toml(self, redact_secrets: bool = True, only_changed: bool = False) -> str:
        """The configuration as TOML text that ``load`` reads back (secrets redacted by default)."""
        tree = self.changed() if only_changed else self.to_dict(redact_secrets=redact_secrets)
        return dump_toml(tree)


def _sections() -> list[dataclasses.Field[Any]]:
    return [f for f in fields(Config) if f.metadata.get("section", True)]


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in _sections()}  # type: ignore[misc]


def dump_toml(tree: Mapping[str, Mapping[str, Any]]) -> str:
    """Write ``{section: {key: scalar}}`` as TOML (strings, integers, floats, booleans)."""
    lines: list[str] = []
    for section, values in tree.items():
        if lines:
            lines.append("")
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    return json.dumps(str(value), ensure_ascii=False)  # JSON escapes are valid TOML basic strings


# -- loading -------------------------------------------------------------------------------------


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$CONFIGURATION_DIRECTORY/config.toml`` under systemd, else ``/etc/edge-pose/config.toml``."""
    env = os.environ if env is None else env
    directory = env.get("CONFIGURATION_DIRECTORY", "").split(":")[0]
    return Path(directory) / "config.toml" if directory else DEFAULT_CONFIG_PATH


def default_device_id(hostname: str | None = None) -> str:
    """The host name, lower-cased, with every character outside ``[a-z0-9_-]`` replaced by '-'."""
    name = (hostname if hostname is not None else socket.gethostname()).split(".")[0].lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", name).strip("-")[:64]
    return name or "edge-pose"


def load(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read, merge and validate the configuration.

    Args:
        path: the TOML file. ``None`` means the default location (``default_config_path``), which
            may be missing (then the defaults apply); an explicit path that does not exist is an error.
        env: environment variables (``EDGE_POSE_<SECTION>__<KEY>`` overrides, and the variables
            path values may use); ``None`` means ``os.environ``.
        overrides: command-line overrides as ``{"section.key": value}``; ``None`` values are
            ignored (unset options); text values are parsed like environment values.

    Returns:
        The validated ``Config``; ``Config.path`` is the file read, or ``None`` when none was.

    Raises:
        ConfigError: one line naming the key (or file, or variable) and the problem.
    """
    env = dict(os.environ) if env is None else dict(env)
    raw: dict[tuple[str, str], tuple[Any, str]] = {}

    file_path: Path | None
    if path is None:
        candidate = default_config_path(env)
        file_path = candidate if candidate.is_file() else None
    else:
        file_path = Path(path)
        if not file_path.is_file():
            raise ConfigError(f"config file not found: {file_path}")
    if file_path is not None:
        _merge_file(raw, file_path)
    _merge_env(raw, env)
    _merge_overrides(raw, overrides or {})

    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        values: dict[str, Any] = {}
        for key in fields(cls):
            if (name, key.name) not in raw:
                continue
            value, origin = raw[(name, key.name)]
            check: Check = key.metadata["check"]
            try:
                values[key.name] = check.parse(value, env)
            except ValueError as exc:
                raise ConfigError(f"{name}.{key.name}: {exc}, got {_show(value)}{origin}") from None
        sections[name] = cls(**values)
    config = Config(**sections, path=file_path)
    _check_rules(config, raw)
    return config


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "an array"
    return repr(value)


def _merge_file(raw: dict[tuple[str, str], tuple[Any, str]], path: Path) -> None:
    origin = f" (in {path})"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    for section, values in data.items():
        cls = _section_class(section, origin)
        if not isinstance(values, dict):
            raise ConfigError(f"{section}: expected a table [{section}], got {_show(values)}{origin}")
        for key, value in values.items():
            _known_key(cls, section, key, origin)
            raw[(section, key)] = (value, origin)


def _merge_env(raw: dict[tuple[str, str], tuple[Any, str]], env: Mapping[str, str]) -> None:
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :]
        origin = f" (from {name})"
        if "__" not in rest:
            # EDGE_POSE_MQTT_HOST: almost certainly a mistyped override, not some other variable.
            for section in SECTIONS:
                if rest.lower().startswith(section + "_"):
                    key = rest[len(section) + 1 :].lower()
                    raise ConfigError(
                        f"{name}: use two underscores between section and key: "
                        f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
                    )
            continue  # other EDGE_POSE_* variables (EDGE_POSE_SHARED, ...) are not config
        section, _, key = rest.partition("__")
        section, key = section.lower(), key.lower()
        cls = _section_class(section, origin)
        check = _known_key(cls, section, key, origin)
        raw[(section, key)] = (check.from_text(env[name]), origin)


def _merge_overrides(raw: dict[tuple[str, str], tuple[Any, str]], overrides: Mapping[str, Any]) -> None:
    origin = " (from the command line)"
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        cls = _section_class(section, origin)
        check = _known_key(cls, section, key, origin)
        raw[(section, key)] = (check.from_text(value) if isinstance(value, str) else value, origin)


def _section_class(section: str, origin: str) -> type:
    if section not in SECTIONS:
        raise ConfigError(f"{section}: unknown section{_suggest(section, SECTIONS)}{origin}")
    return SECTIONS[section]


def _known_key(cls: type, section: str, key: str, origin: str) -> Check:
    for f in fields(cls):
        if f.name == key:
            return f.metadata["check"]  # type: ignore[no-any-return]
    names = [f.name for f in fields(cls)]
    raise ConfigError(f"{section}.{key}: unknown key{_suggest(key, names)}{origin}")


def _suggest(word: str, options: Any) -> str:
    options = list(options)
    close = difflib.get_close_matches(word, options, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; expected one of " + ", ".join(options)


# -- cross-field rules ---------------------------------------------------------------------------


def _check_rules(config: Config, raw: Mapping[tuple[str, str], tuple[Any, str]]) -> None:
    """Rules that involve more than one key, or the file system. Raises ``ConfigError``."""

    def fail(key: str, message: str) -> None:
        section, _, name = key.partition(".")
        origin = raw.get((section, name), (None, ""))[1]
        raise ConfigError(f"{key}: {message}{origin}")

    src, pose, mqtt, pub = config.source, config.pose, config.mqtt, config.publish
    if src.retry_initial_s > src.retry_max_s:
        fail("source.retry_initial_s", f"must not exceed source.retry_max_s ({src.retry_max_s:g})")
    if src.kind in ("file", "stream", "images") and not src.uri:
        fail("source.uri", f"required with source.kind = {src.kind!r}")

    if pose.delegate == "edgetpu" and not pose.edgetpu_model:
        fail("pose.edgetpu_model", "required with pose.delegate = 'edgetpu' (an Edge-TPU-compiled model)")
    if pose.delegate == "edgetpu" and not Path(pose.edgetpu_model).is_file():
        fail("pose.edgetpu_model", f"file not found: {pose.edgetpu_model}")
    if pose.model_dir and not Path(pose.model_dir).is_dir():
        fail("pose.model_dir", f"folder not found: {pose.model_dir}")

    if mqtt.password and mqtt.password_file:
        fail("mqtt.password_file", "set either mqtt.password or mqtt.password_file, not both")
    if (mqtt.password or mqtt.password_file) and not mqtt.username:
        fail("mqtt.username", "required when a password is set")
    if mqtt.password_file and not os.access(mqtt.password_file, os.R_OK):
        fail("mqtt.password_file", f"file not found or not readable: {mqtt.password_file}")
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(mqtt, key)
        if value and not mqtt.tls:
            fail(f"mqtt.{key}", "set, but mqtt.tls is false (TLS would silently be off)")
        if value and not Path(value).is_file():
            fail(f"mqtt.{key}", f"file not found: {value}")
    if mqtt.tls_insecure and not mqtt.tls:
        fail("mqtt.tls_insecure", "set, but mqtt.tls is false")
    if mqtt.key_file and not mqtt.cert_file:
        fail("mqtt.cert_file", "required with mqtt.key_file (the client certificate)")
    if mqtt.embedded_ws_port and mqtt.embedded_ws_port == mqtt.embedded_port:
        fail("mqtt.embedded_ws_port", f"must differ from mqtt.embedded_port ({mqtt.embedded_port})")
    if (
        config.dashboard.enabled
        and config.embedded_broker
        and config.dashboard.port in (mqtt.embedded_port, mqtt.embedded_ws_port)
    ):
        fail("dashboard.port", "collides with a port of the embedded MQTT broker (mqtt.embedded_*)")

    if pub.outbox_dir and Path(pub.outbox_dir).exists() and not Path(pub.outbox_dir).is_dir():
        fail("publish.outbox_dir", f"not a folder: {pub.outbox_dir}")

    _check_exercise(config.reps.exercise, fail)


def _check_exercise(name: str, fail: Any) -> None:
    from edge.reps import exercise_names  # data only: no runtime or hardware imports

    if not _EXERCISE_RE.fullmatch(name) or name not in exercise_names():
        fail("reps.exercise", f"unknown exercise {name!r}; expected one of {', '.join(exercise_names())}")


# -- command line --------------------------------------------------------------------------------

#: Common settings that have their own command-line option: option -> (dotted key, help).
CLI_OPTIONS: dict[str, tuple[str, str]] = {
    "--device-id": ("device.id", "MQTT device id (device.id)"),
    "--source": ("source.uri", "camera index/device, video file, stream URL or image folder (source.uri)"),
    "--exercise": ("reps.exercise", "exercise to count, or 'auto' (reps.exercise)"),
    "--mqtt-host": ("mqtt.host", "MQTT broker host; empty = embedded broker (mqtt.host)"),
    "--mqtt-port": ("mqtt.port", "MQTT broker port (mqtt.port)"),
    "--log-level": ("logging.level", "debug, info, warning or error (logging.level)"),
}


def add_config_arguments(parser: argparse.ArgumentParser, overrides: bool = True) -> None:
    """Add ``--config PATH`` and (optionally) the common overrides plus ``--set KEY=VALUE``."""
    parser.add_argument(
        "--config", type=Path, metavar="PATH", help=f"configuration file (default: {DEFAULT_CONFIG_PATH})"
    )
    if not overrides:
        return
    for option, (key, help_text) in CLI_OPTIONS.items():
        parser.add_argument(option, dest=_dest(key), metavar="VALUE", help=help_text)
    parser.add_argument(
        "--set",
        dest="config_set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any setting, e.g. --set publish.pose_hz=5 (repeatable)",
    )


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``{"section.key": value}`` overrides given by ``add_config_arguments`` options."""
    out: dict[str, Any] = {}
    for key, _ in CLI_OPTIONS.values():
        value = getattr(args, _dest(key), None)
        if value is not None:
            out[key] = value
    for item in getattr(args, "config_set", None) or []:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item}: expected SECTION.KEY=VALUE")
        out[key.strip()] = value
    return out


def _dest(key: str) -> str:
    return "config_" + key.replace(".", "__")
