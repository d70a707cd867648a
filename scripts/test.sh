#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian / Raspberry Pi OS machine, then run it all.
#
#   ./scripts/test.sh [pytest arguments...]
#
# 1. Debian packages: mosquitto (the real broker the MQTT, daemon and dashboard tests start), chromium
#    (the dashboard's browser tests), systemd (systemd-analyze, systemd-sysusers for the unit tests),
#    openssl (throwaway TLS certificates), shellcheck (the installer), util-linux (setpriv, which ties
#    the embedded broker to its parent), fonts for screenshots.
#    Installed with apt-get when missing (as root, or through sudo).
# 2. .venv: numpy 2 + OpenCV 5 + ai-edge-litert, the package with its test extras: the whole suite.
# 3. .venv-np1: numpy 1.26 + OpenCV 4.11 + tflite-runtime (Raspberry Pi OS Bookworm's stack): the
#    inference tests again, on the legacy runtime.
# 4. .venv-np2-cv412: numpy 2.2 + OpenCV 4.12 + ai-edge-litert: the parity tests once more. OpenCV 4.12
#    is the newest wheel whose FFmpeg decodes every clip as the reference's did (4.13 and 5.0 decode 26
#    of 59 differently) and the newest that runs on numpy 2, so here the landmarks must equal
#    MediaPipe's to the bit on numpy 2 as well (numpy 2's casting rules differ from numpy 1's).
# 5. The full and heavy landmark models (scripts/fetch_models.py, pinned SHA-256, into models/) and
#    .venv-mediapipe: MediaPipe 0.10.21 itself, running the same two files, so that their parity tests
#    make MediaPipe's reference here (../shared/reference has the lite model's only). Where MediaPipe
#    0.10.21 has no wheel for this Python (3.13 and later), those tests skip and say so.
# Footage-dependent tests read ../shared (or $EDGE_POSE_SHARED) and skip with a reason when it is absent.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export CI="${CI:-1}"
python=${PYTHON:-python3}

apt_packages=(mosquitto chromium systemd openssl shellcheck util-linux fonts-dejavu-core python3-venv)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "== installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

make_venv() {  # make_venv DIR PIP-ARGS...
    local dir=$1
    shift
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
}

echo "== .venv (numpy 2, LiteRT)"
make_venv .venv -e ".[test,lcd]" playwright
echo "== .venv-np1 (numpy 1.26, OpenCV 4.11, tflite-runtime)"
make_venv .venv-np1 "numpy<2" "opencv-python-headless<4.12" "tflite-runtime>=2.14" -e ".[test]"

echo "== .venv-np2-cv412 (numpy 2.2, OpenCV 4.12, LiteRT)"
make_venv .venv-np2-cv412 "numpy>=2,<2.3" "opencv-python-headless==4.12.0.88" -e ".[test]"

echo "== landmark models full and heavy"
.venv/bin/python scripts/fetch_models.py full heavy || echo "   not fetched: the full and heavy parity tests will skip"
echo "== .venv-mediapipe (MediaPipe 0.10.21, the reference for the full and heavy models)"
if make_venv .venv-mediapipe mediapipe==0.10.21; then
    landmark_dir=$(.venv-mediapipe/bin/python -c \
        'import mediapipe, os; print(os.path.join(os.path.dirname(mediapipe.__file__), "modules", "pose_landmark"))')
    # The wheel holds the full model; MediaPipe would download the heavy one at first use: give it ours.
    for model in models/pose_landmark_full.tflite models/pose_landmark_heavy.tflite; do
        [ ! -f "$model" ] || cmp -s "$model" "$landmark_dir/$(basename "$model")" || cp "$model" "$landmark_dir/"
    done
    export EDGEREF="$here/.venv-mediapipe"
else
    echo "   MediaPipe 0.10.21 does not install on $("$python" -V 2>&1): the full and heavy parity tests will skip"
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
status=0
echo "== full suite on numpy 2 / OpenCV 5 / LiteRT"
.venv/bin/python -m pytest "$@" tests || status=$?
echo "== inference suite on numpy 1.26 / OpenCV 4.11 / tflite-runtime"
EDGE_POSE_BACKEND=tflite-runtime .venv-np1/bin/python -m pytest "$@" \
    tests/blazepose tests/test_models.py tests/commands tests/test_sources.py tests/test_background.py \
    || status=$?
# Selfie Segmentation's models use MediaPipe's Convolution2DTransposeBias op, which only LiteRT has.
echo "== Selfie Segmentation and silhouettes on numpy 1.26 / OpenCV 4.11 / LiteRT"
.venv-np1/bin/python -m pytest "$@" tests/test_selfie.py tests/test_silhouette.py || status=$?
echo "== parity to the bit on numpy 2.2 / OpenCV 4.12 / LiteRT"
.venv-np2-cv412/bin/python -m pytest "$@" tests/blazepose/test_parity.py tests/blazepose/test_parity_models.py \
    || status=$?
exit "$status"
