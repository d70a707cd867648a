"""The full and heavy landmark models at parity with MediaPipe 0.10.21 running the same .tflite files.

``../shared/reference`` holds MediaPipe's output for the lite model only, so this test makes its own
reference for full and heavy: MediaPipe's pipeline (``../shared/tools/mp_reference.py --complexity 1|2``)
in its own venv ($EDGEREF, else the one ``../shared/tools/ref_setup.sh`` builds; ``scripts/test.sh``
builds ``.venv-mediapipe``), over a few frames of three clips (one of them, the floor press, chaotic:
a one-bit change there grows into a different track) and four stills. Where both sides decode a clip
to the same pixels and sample crops as OpenCV 4 does, every landmark must equal MediaPipe's.

Skipped, with the reason, without that venv, without the fetched models (``scripts/fetch_models.py
full heavy``), or when MediaPipe's copy of a model is not the file we pin.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import cv2
import pytest

from edge.blazepose import EstimatorOptions, PoseEstimator
from edge.commands.bench import MODEL_COMPLEXITY, reference_python
from edge.errors import ModelError
from edge.models import LANDMARK_MODELS, MODELS, locate
from edge.parity import ClipParity, compare, decoder_fingerprint, media_file

REPO = Path(__file__).resolve().parents[2]
CLIPS = ("squat/joelo_squat2", "pushup/calimiro_push-up_1", "other_exercise/quva_013_dumbbell_floor_press")
STILLS = (
    "stills/tfjs_pose_warrior2_beach",
    "stills/mpii_004645041_standing",
    "stills/h36m_S7_Greeting_000396",
    "stills/coco_000000000785_skier",
)
MAX_FRAMES = 300
IOU = 0.97

pytestmark = [
    pytest.mark.slow,
    pytest.mark.data,
    pytest.mark.skipif(
        not cv2.__version__.startswith("4."),
        reason="OpenCV 5 rounds the crop's bilinear blend differently (1 value in 10^5): close, not exact",
    ),
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _media(shared: Path, name: str) -> Path:
    media = media_file(shared / "footage", name)
    assert media is not None, f"{name} is not in {shared / 'footage'}"
    return media


@pytest.fixture(scope="session")
def mediapipe_python(shared: Path) -> Path:
    python = reference_python("auto")
    if python is None:
        pytest.skip(
            "MediaPipe's reference venv not found ($EDGEREF or ../shared/tools/ref_setup.sh's; "
            "scripts/test.sh builds .venv-mediapipe)"
        )
    return python


@pytest.fixture(scope="session")
def mediapipe_fingerprints(mediapipe_python: Path, shared: Path) -> dict[str, str]:
    """Each clip's ``decoder_fingerprint`` as the MediaPipe venv's OpenCV decodes it."""
    code = (
        "import sys; from pathlib import Path; from edge.parity import decoder_fingerprint\n"
        "for m in sys.argv[1:]: print(decoder_fingerprint(Path(m)))"
    )
    media = [str(_media(shared, name)) for name in CLIPS]
    done = subprocess.run(
        [str(mediapipe_python), "-c", code, *media],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return dict(zip(CLIPS, done.stdout.split(), strict=True))


def _mediapipe_reference(python: Path, shared: Path, model: str, out: Path) -> dict[str, Path]:
    """MediaPipe's output for ``model`` over CLIPS (video mode) and STILLS (static mode): name -> npz."""
    references = {}
    for name in CLIPS + STILLS:
        npz = out / (name.replace("/", "__") + ".npz")
        mode = "static" if name in STILLS else "video"
        subprocess.run(
            [
                str(python),
                str(shared / "tools" / "mp_reference.py"),
                str(_media(shared, name)),
                "--out",
                str(npz),
                "--mode",
                mode,
                "--complexity",
                str(MODEL_COMPLEXITY[model]),
                "--max-frames",
                str(MAX_FRAMES),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        references[name] = npz
    return references


@pytest.fixture(scope="session", params=["full", "heavy"])
def model_parity(
    request: pytest.FixtureRequest,
    shared: Path,
    mediapipe_python: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, dict[str, ClipParity]]:
    """(model, name -> our scores against MediaPipe running the same model file)."""
    model: str = request.param
    spec = MODELS[LANDMARK_MODELS[model]]
    try:
        locate(spec.key)
    except ModelError:
        pytest.skip(f"{spec.filename} not fetched (scripts/fetch_models.py full heavy)")
    package = subprocess.run(
        [str(mediapipe_python), "-c", "import mediapipe, os; print(os.path.dirname(mediapipe.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    theirs = Path(package) / "modules" / "pose_landmark" / spec.filename
    if not theirs.is_file() or _sha256(theirs) != spec.sha256:
        pytest.skip(f"MediaPipe's {theirs} is not the pinned {spec.filename} (copy ours there)")

    references = _mediapipe_reference(mediapipe_python, shared, model, tmp_path_factory.mktemp(model))
    video = PoseEstimator(EstimatorOptions(model=model, mask_max_side=640))
    static = PoseEstimator(EstimatorOptions(model=model, static_image_mode=True))
    scores = {}
    for name, reference in references.items():
        estimator = static if name in STILLS else video
        estimator.reset()
        scores[name] = compare(estimator.estimate, _media(shared, name), reference, name)
    return model, scores


def test_ok__clips_decoded_alike_give_mediapipes_landmarks_to_the_bit(
    model_parity: tuple[str, dict[str, ClipParity]], mediapipe_fingerprints: dict[str, str], shared: Path
) -> None:
    model, scores = model_parity
    alike = [n for n in CLIPS if decoder_fingerprint(_media(shared, n)) == mediapipe_fingerprints[n]]
    if not alike:
        pytest.skip(f"OpenCV {cv2.__version__} decodes every clip differently from MediaPipe's venv")
    for name in alike:
        row = scores[name]
        assert row.frames >= 100 and row.both >= row.frames // 2, (name, row.frames, row.both)
        assert row.agreement == 1.0, f"{model} {name}: detection agreement {row.agreement:.4f}"
        assert row.landmark_error <= 1e-6 and row.world_error <= 1e-6, (
            f"{model} {name}: error {row.landmark_error:.2e}, world {row.world_error:.2e} m"
        )


def test_ok__stills_give_mediapipes_landmarks_to_the_bit(
    model_parity: tuple[str, dict[str, ClipParity]],
) -> None:
    model, scores = model_parity
    for name in STILLS:
        row = scores[name]
        assert row.frames == row.both == 1, f"{model} {name}: a pose on one side only, or on neither"
        assert row.landmark_error <= 1e-6 and row.world_error <= 1e-6, (
            f"{model} {name}: error {row.landmark_error:.2e}, world {row.world_error:.2e} m"
        )


def test_ok__masks_match_mediapipes(model_parity: tuple[str, dict[str, ClipParity]]) -> None:
    model, scores = model_parity
    for name, row in scores.items():
        assert row.ious, f"{model} {name}: no mask compared"
        assert row.mask_iou >= IOU, f"{model} {name}: mask IoU {row.mask_iou:.4f}"
