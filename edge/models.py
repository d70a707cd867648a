"""The model files edge-pose runs: where they come from, their checksums and tensor shapes.

This table is the single source of truth; ``models/README.md`` documents the same facts and
``scripts/fetch_models.py`` downloads the landmark models that are too large to bundle.
Nothing here imports an inference runtime.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ModelError

NPM_POSE_PACKAGE = "@mediapipe/pose@0.5.1675469404"
NPM_POSE_TARBALL = "https://registry.npmjs.org/@mediapipe/pose/-/pose-0.5.1675469404.tgz"
MEDIAPIPE_WHEEL = "mediapipe==0.10.21 (PyPI)"


@dataclass(frozen=True)
class ModelSpec:
    """One model file.

    Attributes:
        key: short name used in config and errors.
        filename: file name inside a model folder.
        sha256: hex digest of the file.
        input_shape: the single input tensor's shape (NHWC).
        output_shapes: every output tensor's shape; outputs are identified by shape, not index.
        source: where the file comes from (package and path inside it).
        bundled: shipped in the repository's ``models/`` folder; otherwise fetched.
    """

    key: str
    filename: str
    sha256: str
    input_shape: tuple[int, ...]
    output_shapes: tuple[tuple[int, ...], ...]
    source: str
    bundled: bool = True


_LANDMARK_OUTPUTS = ((1, 195), (1, 1), (1, 256, 256, 1), (1, 64, 64, 39), (1, 117))

MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="pose_detection",
            filename="pose_detection.tflite",
            sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
            input_shape=(1, 224, 224, 3),
            output_shapes=((1, 2254, 12), (1, 2254, 1)),
            source=f"{MEDIAPIPE_WHEEL}: mediapipe/modules/pose_detection/pose_detection.tflite",
        ),
        ModelSpec(
            key="pose_landmark_lite",
            filename="pose_landmark_lite.tflite",
            sha256="f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
            input_shape=(1, 256, 256, 3),
            output_shapes=_LANDMARK_OUTPUTS,
            source=f"npm {NPM_POSE_PACKAGE}: package/pose_landmark_lite.tflite",
        ),
        ModelSpec(
            key="pose_landmark_full",
            filename="pose_landmark_full.tflite",
            sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
            input_shape=(1, 256, 256, 3),
            output_shapes=_LANDMARK_OUTPUTS,
            source=f"npm {NPM_POSE_PACKAGE}: package/pose_landmark_full.tflite",
            bundled=False,
        ),
        ModelSpec(
            key="pose_landmark_heavy",
            filename="pose_landmark_heavy.tflite",
            sha256="59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
            input_shape=(1, 256, 256, 3),
            output_shapes=_LANDMARK_OUTPUTS,
            source=f"npm {NPM_POSE_PACKAGE}: package/pose_landmark_heavy.tflite",
            bundled=False,
        ),
        ModelSpec(
            key="selfie_segmentation",
            filename="selfie_segmentation.tflite",
            sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
            input_shape=(1, 256, 256, 3),
            output_shapes=((1, 256, 256, 1),),
            source=f"{MEDIAPIPE_WHEEL}: mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        ),
        ModelSpec(
            key="selfie_segmentation_landscape",
            filename="selfie_segmentation_landscape.tflite",
            sha256="a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
            input_shape=(1, 144, 256, 3),
            output_shapes=((1, 144, 256, 1),),
            source=f"{MEDIAPIPE_WHEEL}: "
            "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        ),
    )
}

#: ``--model`` / ``pose.model`` names of the landmark model variants.
LANDMARK_MODELS: dict[str, str] = {
    "lite": "pose_landmark_lite",
    "full": "pose_landmark_full",
    "heavy": "pose_landmark_heavy",
}


def packaged_model_dir() -> Path:
    """The bundled models' folder: ``edge._models`` when installed, else the checkout's ``models/``."""
    try:
        import edge._models as packaged  # the wheel maps the repository's models/ to this package

        return Path(packaged.__file__).resolve().parent
    except ImportError:  # running from a checkout without installing
        return Path(__file__).resolve().parents[1] / "models"


def user_model_dir() -> Path:
    """Where ``scripts/fetch_models.py`` puts models when the packaged folder is read-only."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edge-pose" / "models"


def model_dirs(extra: str | Path | None = None) -> list[Path]:
    """Folders searched for models in order: ``extra``, $EDGE_POSE_MODEL_DIR, packaged, user, /var."""
    dirs: list[Path] = []
    if extra:
        dirs.append(Path(extra))
    if env := os.environ.get("EDGE_POSE_MODEL_DIR"):
        dirs.append(Path(env))
    dirs += [packaged_model_dir(), user_model_dir(), Path("/var/lib/edge-pose/models")]
    return dirs


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate(key: str, model_dir: str | Path | None = None) -> Path:
    """Find a known model file and check its SHA-256.

    Raises:
        ModelError: unknown key, file missing (with the command that fetches it), or checksum mismatch.
    """
    try:
        spec = MODELS[key]
    except KeyError:
        raise ModelError(f"unknown model {key!r}; expected one of {', '.join(sorted(MODELS))}") from None
    for folder in model_dirs(model_dir):
        path = folder / spec.filename
        if path.is_file():
            verify(path, spec)
            return path
    where = ", ".join(str(d) for d in model_dirs(model_dir))
    hint = (
        "reinstall edge-pose (the file is bundled)"
        if spec.bundled
        else f"run: python scripts/fetch_models.py {key.removeprefix('pose_landmark_')}"
    )
    raise ModelError(f"model file {spec.filename} not found (searched {where}); {hint}")


def verify(path: Path, spec: ModelSpec) -> None:
    """Check a model file's size and SHA-256 against the table."""
    if path.stat().st_size == 0:
        raise ModelError(f"{path}: model file is empty")
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ModelError(
            f"{path}: SHA-256 {actual[:12]}… does not match {spec.key} ({spec.sha256[:12]}…); "
            "the file is corrupt or a different version, replace it"
        )
