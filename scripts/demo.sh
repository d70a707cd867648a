#!/usr/bin/env bash
# The demo: the bundled squat clip (demo/nowva_squats.mp4, CC0) through the daemon, as a camera would
# feed it, with the embedded MQTT broker and the dashboard, on this machine.
#
#   ./scripts/demo.sh [--once] [--port 8080]
#
# It installs what it needs on a fresh Debian / Raspberry Pi OS machine (python3-venv and mosquitto,
# through sudo unless run as root), creates .venv in the checkout, installs edge-pose into it, and
# runs `edge-pose run` with a demo configuration: the clip played at its own frame rate in a loop
# (--once: a single pass), exercise recognised automatically, the dashboard on http://127.0.0.1:PORT,
# the LCD rendered to a PNG file. Ctrl-C stops it. The demo's broker listens on loopback ports 18830
# (MQTT) and 19001 (WebSocket) so that it never collides with a broker already running.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
loop=true
port=8080
while [[ $# -gt 0 ]]; do
    case "$1" in
        --once) loop=false ;;
        --port) port=${2:?--port needs a number}; shift ;;
        -h | --help) sed -n '2,/^set -e/{s/^# \{0,1\}//;/^set -e/d;p}' "$0"; exit 0 ;;
        *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

missing=()
for pkg in python3-venv mosquitto; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "== installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/edge-pose ]; then
    echo "== creating .venv and installing edge-pose"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi

work=$(mktemp -d -t edge-pose-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/config.toml" <<EOF
[device]
id = "demo"
name = "edge-pose demo"

[source]
kind = "file"
uri = "$here/demo/nowva_squats.mp4"
realtime = true
loop = $loop

[reps]
exercise = "auto"

[mqtt]
host = ""
embedded_port = 18830
embedded_ws_port = 19001

[publish]
outbox_dir = "$work/outbox"

[homeassistant]
discovery = false

[lcd]
enabled = true
output = "png"
width = 320
height = 240
png_path = "$work/lcd.png"

[dashboard]
enabled = true
host = "127.0.0.1"
port = $port
EOF

echo "== edge-pose demo: open http://127.0.0.1:$port (the screen is drawn to $work/lcd.png); Ctrl-C stops"
# In the background and waited for, so that a TERM sent to this script alone (timeout, a service
# manager) reaches the daemon too, and its folder is removed only after it has stopped.
.venv/bin/edge-pose run --config "$work/config.toml" &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null || true' INT TERM
status=0
wait "$daemon" || status=$?
while kill -0 "$daemon" 2>/dev/null; do  # a trapped signal ends the first wait early
    wait "$daemon" || status=$?
done
exit "$status"
