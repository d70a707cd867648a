#!/usr/bin/env bash
# Install edge-pose as a systemd service on Raspberry Pi OS (Bookworm or Trixie, 64-bit).
#
#   git clone <repo> edge-pose && sudo edge-pose/scripts/install-pi.sh
#
# What it does (each step is skipped when already done, so it is safe to run again, e.g. to upgrade):
#   1. apt: python3-venv, python3-picamera2 (the Pi camera stack; not on PyPI), mosquitto (the broker
#      `edge-pose run` starts on loopback when mqtt.host is empty).
#   2. a venv in /opt/edge-pose with --system-site-packages (to see apt's picamera2/libcamera), and
#      pip install of this package. Bookworm's apt picamera2 is built against numpy 1: the venv keeps
#      numpy<2 and opencv-python-headless<4.12 (the last numpy-1 build). Trixie uses numpy 2.
#   3. the edge-pose system user (sysusers.d, member of video, render, spi, gpio, plugdev).
#   4. /etc/edge-pose/config.toml from systemd/config.example.toml, only if absent.
#   5. the systemd unit; enable, then start (or restart, to run the new version).
#
# Options:
#   --dry-run        print what would run, change nothing (works on any machine, as any user)
#   --no-start       install and enable, but do not (re)start the service
#   --source DIR     the edge-pose source tree to install (default: this script's repository)
#   --prefix DIR     venv location (default: /opt/edge-pose; the unit expects that path)
#   --keep-mosquitto leave the system mosquitto service enabled even if this run installed it
#   --force          continue on an untested OS release or architecture

set -euo pipefail

PREFIX=/opt/edge-pose
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRY_RUN=0
START=1
FORCE=0
KEEP_MOSQUITTO=0
CONFIG_DIR=/etc/edge-pose
UNIT_DIR=/etc/systemd/system
SYSUSERS_DIR=/usr/lib/sysusers.d

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --no-start) START=0 ;;
        --force) FORCE=1 ;;
        --keep-mosquitto) KEEP_MOSQUITTO=1 ;;
        --source) SOURCE="$(cd "${2:?--source needs a directory}" && pwd)"; shift ;;
        --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-pi.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> %s\n' "$*"; }
warn() { printf 'install-pi.sh: warning: %s\n' "$*" >&2; }
die() { printf 'install-pi.sh: error: %s\n' "$*" >&2; exit 1; }

# Run a command, or only print it with --dry-run.
run() {
    if [[ $DRY_RUN -eq 1 ]]; then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# Write CONTENT to PATH, or only say so with --dry-run.
write_file() {
    if [[ $DRY_RUN -eq 1 ]]; then
        printf '+ write %q: %q\n' "$1" "$2"
    else
        printf '%s' "$2" > "$1"
    fi
}

# --- 0. where are we? ----------------------------------------------------------------------------

[[ -f "$SOURCE/pyproject.toml" && -f "$SOURCE/systemd/edge-pose.service" ]] \
    || die "$SOURCE is not an edge-pose source tree (no pyproject.toml / systemd/edge-pose.service)"
if [[ $DRY_RUN -eq 0 && $EUID -ne 0 ]]; then
    die "run as root (sudo $0), or with --dry-run to see what it would do"
fi

CODENAME=unknown
if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
fi
ARCH="$(uname -m)"
case "$CODENAME" in
    bookworm|trixie) ;;
    *) [[ $FORCE -eq 1 || $DRY_RUN -eq 1 ]] || die "untested OS release '$CODENAME' (Bookworm or Trixie expected; --force to try)"
       warn "untested OS release '$CODENAME'" ;;
esac
case "$ARCH" in
    aarch64) ;;
    armv7l|armv6l) die "32-bit Raspberry Pi OS is not supported: no LiteRT wheels exist for $ARCH; install the 64-bit OS" ;;
    *) [[ $FORCE -eq 1 || $DRY_RUN -eq 1 ]] || die "untested architecture '$ARCH' (aarch64 expected; --force to try)"
       warn "untested architecture '$ARCH'" ;;
esac
say "installing edge-pose from $SOURCE into $PREFIX ($CODENAME, $ARCH)"
[[ $DRY_RUN -eq 1 ]] && say "dry run: nothing is changed"

# --- 1. system packages --------------------------------------------------------------------------

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

MOSQUITTO_WAS_INSTALLED=0
pkg_installed mosquitto && MOSQUITTO_WAS_INSTALLED=1
PACKAGES=(python3-venv mosquitto)
if apt-cache show python3-picamera2 >/dev/null 2>&1; then
    PACKAGES+=(python3-picamera2)
else
    warn "python3-picamera2 is not in the apt sources (not Raspberry Pi OS?): Pi cameras will not work, USB cameras and streams will"
fi
MISSING=()
for pkg in "${PACKAGES[@]}"; do
    pkg_installed "$pkg" || MISSING+=("$pkg")
done
if [[ ${#MISSING[@]} -gt 0 ]]; then
    say "apt: installing ${MISSING[*]}"
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${MISSING[@]}"
else
    say "apt: ${PACKAGES[*]} already installed"
fi
# `edge-pose run` starts its own mosquitto on loopback (mqtt.host = ""); a system broker installed
# only as a dependency would hold port 1883. A broker that was there before is left alone.
if [[ $MOSQUITTO_WAS_INSTALLED -eq 0 && $KEEP_MOSQUITTO -eq 0 ]]; then
    say "mosquitto: disabling the system broker service (edge-pose runs its own; --keep-mosquitto to keep it)"
    run systemctl disable --now mosquitto.service
elif [[ $MOSQUITTO_WAS_INSTALLED -eq 1 ]]; then
    say "mosquitto: an existing broker was found and left as it is; point mqtt.host at it (e.g. 127.0.0.1) or change mqtt.embedded_port"
fi

# --- 2. venv and the package ---------------------------------------------------------------------

SYSTEM_PY="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)"
VENV_PY="none"
[[ -x "$PREFIX/bin/python" ]] && VENV_PY="$("$PREFIX/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo broken)"
if [[ "$VENV_PY" != "$SYSTEM_PY" ]]; then
    [[ "$VENV_PY" != none ]] && say "venv: Python $VENV_PY != system $SYSTEM_PY: recreating"
    say "venv: $PREFIX (--system-site-packages, for apt's picamera2 and libcamera)"
    run python3 -m venv --clear --system-site-packages "$PREFIX"
else
    say "venv: $PREFIX exists (Python $VENV_PY)"
fi
PIP_ARGS=(install --upgrade --no-input --disable-pip-version-check)
if [[ "$CODENAME" == bookworm ]]; then
    # apt's picamera2/simplejpeg are built against numpy 1 ("numpy.dtype size changed" with numpy 2),
    # and opencv-python-headless >= 4.12 requires numpy 2.
    CONSTRAINTS="$PREFIX/constraints-bookworm.txt"
    say "pip: Bookworm pins numpy<2 and opencv-python-headless<4.12 ($CONSTRAINTS)"
    write_file "$CONSTRAINTS" $'numpy<2\nopencv-python-headless<4.12\n'
    PIP_ARGS+=(--constraint "$CONSTRAINTS")
fi
say "pip: installing edge-pose from $SOURCE"
run "$PREFIX/bin/pip" "${PIP_ARGS[@]}" "$SOURCE"

# --- 3. the service user -------------------------------------------------------------------------

say "user: edge-pose (sysusers.d)"
run install -D -m 0644 "$SOURCE/systemd/edge-pose.sysusers" "$SYSUSERS_DIR/edge-pose.conf"
run systemd-sysusers "$SYSUSERS_DIR/edge-pose.conf"

# --- 4. configuration ----------------------------------------------------------------------------

if [[ -e "$CONFIG_DIR/config.toml" ]]; then
    say "config: $CONFIG_DIR/config.toml exists, kept"
else
    if [[ ! -f "$SOURCE/systemd/config.example.toml" ]]; then
        [[ $DRY_RUN -eq 1 ]] || die "$SOURCE/systemd/config.example.toml is missing"
        warn "$SOURCE/systemd/config.example.toml is missing"
    fi
    say "config: $CONFIG_DIR/config.toml from systemd/config.example.toml (every key commented: defaults)"
    run install -d -m 0755 "$CONFIG_DIR"
    run install -m 0640 -o root -g edge-pose "$SOURCE/systemd/config.example.toml" "$CONFIG_DIR/config.toml"
fi
if [[ $DRY_RUN -eq 0 ]] && "$PREFIX/bin/edge-pose" --help 2>/dev/null | grep -q check-config; then
    "$PREFIX/bin/edge-pose" check-config --config "$CONFIG_DIR/config.toml" \
        || die "$CONFIG_DIR/config.toml is not valid (see above); fix it and run this script again"
fi

# --- 5. the unit ---------------------------------------------------------------------------------

say "systemd: $UNIT_DIR/edge-pose.service"
run install -m 0644 "$SOURCE/systemd/edge-pose.service" "$UNIT_DIR/edge-pose.service"
run systemctl daemon-reload
run systemctl enable edge-pose.service
if [[ $START -eq 1 ]]; then
    if [[ $DRY_RUN -eq 0 ]] && systemctl is-active --quiet edge-pose.service; then
        say "systemd: restarting edge-pose (new version)"
        run systemctl restart edge-pose.service
    else
        say "systemd: starting edge-pose"
        run systemctl start edge-pose.service
    fi
    say "done: systemctl status edge-pose; journalctl -u edge-pose -f"
else
    say "done (not started: systemctl start edge-pose)"
fi
