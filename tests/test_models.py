"""Model files: located, checksummed and shape-checked, with one clear line when something is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.errors import ModelError, RuntimeBackendError
from edge.models import MODELS, locate, packaged_model_dir, sha256_of
from edge.runtime import load_model, select_backend


@pytest.mark.parametrize("key", [k for k, spec in MODELS.items() if spec.bundled])
def test_ok__bundled_models_match_their_checksums(key: str) -> None:
    path = locate(key)
    assert sha256_of(path) == MODELS[key].sha256


def test_ok__models_readme_lists_every_checksum() -> None:
    readme = (Path(__file__).resolve().parents[1] / "models" / "README.md").read_text()
    for spec in MODELS.values():
        assert spec.sha256 in readme and spec.filename in readme


def test_fail__missing_fetched_model_says_how_to_fetch_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edge.models.packaged_model_dir", lambda: tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(ModelError, match=r"pose_landmark_heavy.tflite not found .*fetch_models.py heavy"):
        locate("pose_landmark_heavy", model_dir=tmp_path)


def test_fail__corrupt_model_file_is_named_with_its_checksum(tmp_path: Path) -> None:
    bad = tmp_path / "pose_landmark_lite.tflite"
    shutil.copy(packaged_model_dir() / "pose_landmark_lite.tflite", bad)
    with bad.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    with pytest.raises(ModelError, match=r"SHA-256 .* does not match pose_landmark_lite"):
        locate("pose_landmark_lite", model_dir=tmp_path)


def test_fail__file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer" * 64)
    with pytest.raises(ModelError, match="cannot load as a TFLite model"):
        load_model("pose_landmark_lite", path=junk)


def test_fail__model_with_other_tensors_is_refused() -> None:
    with pytest.raises(ModelError, match=r"expected one input of shape \(1, 256, 256, 3\)"):
        load_model("pose_landmark_lite", path=packaged_model_dir() / "pose_detection.tflite")


def test_ok__outputs_come_back_in_spec_order_whatever_the_file_order() -> None:
    model = load_model("pose_landmark_lite", num_threads=1)
    outputs = model.run(np.zeros((1, 256, 256, 3), np.float32))
    assert [o.shape for o in outputs] == [tuple(s) for s in MODELS["pose_landmark_lite"].output_shapes]


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (-1.0, 1.0)])
def test_ok__an_image_goes_in_as_opencvs_convert_to_scales_it(low: float, high: float) -> None:
    rgb = np.random.default_rng(7).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    scale = np.float32(np.float32(high - low) / np.float32(255.0))
    # convertTo(CV_32F, scale, low): x * scale + low, rounded to float32 once
    expected = (rgb.astype(np.float64) * np.float64(scale) + np.float64(np.float32(low))).astype(np.float32)
    model = load_model("pose_landmark_lite", num_threads=1)
    from_tensor = model.run(expected[None])
    model.set_image(rgb, low, high)
    model.invoke()
    for ours, theirs in zip(model.outputs(), from_tensor, strict=True):
        assert np.array_equal(ours, theirs)


def test_fail__edgetpu_without_the_library_is_one_clear_error() -> None:
    with pytest.raises(
        RuntimeBackendError, match=r"Edge TPU library libedgetpu.so.1 not found.*pose.delegate"
    ):
        load_model("pose_landmark_lite", delegate="edgetpu")


def test_ok__edgetpu_fallback_runs_the_cpu_model() -> None:
    model = load_model("pose_landmark_lite", delegate="edgetpu", edgetpu_fallback=True, num_threads=1)
    assert model.delegate == "cpu"


def test_fail__unknown_backend_lists_the_choices() -> None:
    with pytest.raises(RuntimeBackendError, match="auto, litert, tflite-runtime"):
        select_backend("onnx")


def test_fail__a_runtime_without_the_selfie_models_custom_op_says_to_use_litert() -> None:
    """tflite-runtime lacks MediaPipe's Convolution2DTransposeBias; the error must name the way out."""
    try:
        select_backend("tflite-runtime")
    except RuntimeBackendError:
        pytest.skip("tflite-runtime is not installed in this environment (the numpy-1 CI run has it)")
    with pytest.raises(RuntimeBackendError, match="lacks an operator .*use the LiteRT backend"):
        load_model("selfie_segmentation", backend="tflite-runtime")
