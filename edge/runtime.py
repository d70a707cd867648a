"""The inference runtime layer: the only module that imports LiteRT or tflite-runtime.

``load_model`` returns a ``TfliteModel`` that owns one interpreter, checks its tensors against
the model table when it loads, and runs it on float32 input. Backends:

* ``litert``: ``ai_edge_litert`` (LiteRT), the maintained successor of tflite-runtime.
* ``tflite-runtime``: the legacy ``tflite_runtime`` wheel (numpy 1 only), for older images.
* ``auto``: LiteRT if importable, else tflite-runtime.

Delegates: ``cpu`` (XNNPACK, applied by default by both runtimes) or ``edgetpu`` (Coral, through
``load_delegate('libedgetpu.so.1')``, for models compiled with ``edgetpu_compiler``); when the
Edge TPU library or device is missing, ``edgetpu_fallback=True`` runs the CPU model instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import ModelError, RuntimeBackendError
from edge.models import MODELS, ModelSpec, locate

log = logging.getLogger(__name__)

BACKENDS = ("auto", "litert", "tflite-runtime")
DELEGATES = ("cpu", "edgetpu")

_EDGETPU_LIBRARY = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}


@dataclass(frozen=True)
class _Backend:
    name: str
    interpreter: Callable[..., Any]
    load_delegate: Callable[..., Any]


def _import_backend(name: str) -> _Backend:
    """Import one runtime; raises ImportError when it is not installed."""
    if name == "litert":
        from ai_edge_litert import interpreter as litert

        return _Backend("litert", litert.Interpreter, litert.load_delegate)
    if name == "tflite-runtime":
        from tflite_runtime import interpreter as tflite

        return _Backend("tflite-runtime", tflite.Interpreter, tflite.load_delegate)
    raise RuntimeBackendError(f"unknown inference backend {name!r}; expected one of {', '.join(BACKENDS)}")


def select_backend(name: str = "auto") -> _Backend:
    """Import the requested runtime (``auto``: $EDGE_POSE_BACKEND if set, else LiteRT, then tflite-runtime).

    Raises:
        RuntimeBackendError: the backend is unknown or not installed.
    """
    if name == "auto" and os.environ.get("EDGE_POSE_BACKEND"):
        name = os.environ["EDGE_POSE_BACKEND"]
    if name not in BACKENDS:
        raise RuntimeBackendError(
            f"unknown inference backend {name!r}; expected one of {', '.join(BACKENDS)}"
        )
    candidates = ["litert", "tflite-runtime"] if name == "auto" else [name]
    errors = []
    for candidate in candidates:
        try:
            return _import_backend(candidate)
        except ImportError as exc:  # not installed, or built for another numpy
            errors.append(f"{candidate}: {exc}")
    raise RuntimeBackendError(
        "no TFLite runtime could be imported ("
        + "; ".join(errors)
        + "); install one: pip install ai-edge-litert  (or: pip install 'tflite-runtime' 'numpy<2')"
    )


@contextlib.contextmanager
def _native_stderr_to_log() -> Iterator[None]:
    """Route what the C++ runtime prints on file descriptor 2 to the log instead of the terminal.

    LiteRT announces "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on every interpreter;
    a command's stderr is for its one-line errors and progress. Lines are logged at DEBUG, anything
    that is not an INFO line at WARNING.
    """
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (embedded, captured): leave it alone
        yield
        return
    sys.stderr.flush()
    saved = os.dup(stderr_fd)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), stderr_fd)
        try:
            yield
        finally:
            os.dup2(saved, stderr_fd)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                log.log(logging.DEBUG if line.startswith("INFO:") else logging.WARNING, "runtime: %s", line)


def _shape(detail: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in detail["shape"])


class TfliteModel:
    """One TFLite model ready to run.

    Outputs are returned in the order of ``spec.output_shapes``, matched by shape, so the
    caller never depends on the file's tensor order or names.
    """

    def __init__(self, interpreter: Any, spec: ModelSpec, path: Path, backend: str, delegate: str) -> None:
        self.spec = spec
        self.path = path
        self.backend = backend
        self.delegate = delegate
        self._interpreter = interpreter
        inputs = interpreter.get_input_details()
        outputs = interpreter.get_output_details()
        if len(inputs) != 1 or _shape(inputs[0]) != spec.input_shape:
            found = [_shape(d) for d in inputs]
            raise ModelError(
                f"{path}: expected one input of shape {spec.input_shape} for {spec.key}, found {found}"
            )
        self._input = inputs[0]
        by_shape = {_shape(d): d for d in outputs}
        missing = [s for s in spec.output_shapes if s not in by_shape]
        if missing or len(outputs) != len(spec.output_shapes):
            found = sorted(by_shape)
            raise ModelError(
                f"{path}: {spec.key} needs outputs {list(spec.output_shapes)}, the file has {found}"
            )
        self._outputs = [by_shape[s] for s in spec.output_shapes]
        # The runtime's accessors are safe to keep; the arrays they return must not outlive a call.
        self._input_view = interpreter.tensor(self._input["index"])
        self._output_views = [interpreter.tensor(detail["index"]) for detail in self._outputs]
        self._input_quant = self._quantization(self._input)
        self._output_quant = [self._quantization(d) for d in self._outputs]

    @staticmethod
    def _quantization(detail: dict[str, Any]) -> tuple[float, int] | None:
        if np.dtype(detail["dtype"]) == np.float32:
            return None
        scale, zero_point = detail.get("quantization", (0.0, 0))
        if not scale:
            raise ModelError(
                f"tensor {detail.get('name')!r} has dtype {detail['dtype']} without quantization"
            )
        return float(scale), int(zero_point)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.spec.input_shape

    def set_image(self, rgb: npt.NDArray[np.uint8], low: float, high: float) -> None:
        """Set an (H, W, 3) uint8 RGB image as input, scaled from 0..255 to the float range [low, high].

        Float models get it written straight into the input tensor (no copy through Python).
        """
        scale = np.float32(np.float32(high - low) / np.float32(255.0))
        if self._input_quant is None:
            buffer = self._input_view()
            if low:  # x * scale + low rounded once, as OpenCV's convertTo (a fused multiply-add) does
                np.add(
                    np.multiply(rgb, np.float64(scale)),
                    np.float64(np.float32(low)),
                    out=buffer[0],
                    casting="same_kind",
                )
            else:  # the exact cast, then the product in place: same bits as one mixed-type multiply, faster
                np.copyto(buffer[0], rgb)
                buffer *= scale
            del buffer  # the interpreter refuses to invoke while views of its tensors are alive
            return
        tensor = (np.multiply(rgb[None], np.float64(scale)) + np.float64(np.float32(low))).astype(np.float32)
        self.set_input(tensor)

    def set_input(self, tensor: npt.NDArray[np.float32]) -> None:
        """Copy a float32 input in (quantizing it for integer models)."""
        if self._input_quant is not None:
            scale, zero = self._input_quant
            info = np.iinfo(np.dtype(self._input["dtype"]))
            tensor = np.clip(np.round(tensor / scale + zero), info.min, info.max).astype(self._input["dtype"])
        self._interpreter.set_tensor(self._input["index"], tensor)

    def invoke(self) -> None:
        self._interpreter.invoke()

    def outputs(self) -> list[npt.NDArray[np.float32]]:
        """Copies of every output, float32, in ``spec.output_shapes`` order."""
        result = []
        for detail, quant in zip(self._outputs, self._output_quant, strict=True):
            value = self._interpreter.get_tensor(detail["index"])
            if quant is not None:
                scale, zero = quant
                value = (value.astype(np.float32) - zero) * scale
            result.append(value)
        return result

    @contextlib.contextmanager
    def borrowed_outputs(self) -> Iterator[list[npt.NDArray[np.float32]]]:
        """Every output without copying (float models), valid only inside the ``with`` block.

        The arrays are views of the interpreter's buffers: copy what must outlive the block (the
        interpreter refuses to run while views are alive). Integer models get dequantized copies.
        """
        if any(quant is not None for quant in self._output_quant):
            yield self.outputs()
            return
        views = [view() for view in self._output_views]
        try:
            yield views
        finally:
            views.clear()

    def run(self, tensor: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """Set the input, invoke, and return the outputs."""
        self.set_input(tensor)
        self.invoke()
        return self.outputs()


def _load_edgetpu_delegate(backend: _Backend, device: str | None) -> Any:
    library = _EDGETPU_LIBRARY.get(platform.system(), "libedgetpu.so.1")
    options = {"device": device} if device else {}
    hint = 'plug in the Coral and install libedgetpu1-std, or set pose.delegate = "cpu"'
    try:
        ctypes.CDLL(library)  # check the library first: a failed load_delegate() spews from Delegate.__del__
    except OSError as exc:
        raise RuntimeBackendError(f"Edge TPU library {library} not found ({exc}); {hint}") from exc
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None  # the half-built Delegate's __del__ fails noisily
    try:
        return backend.load_delegate(library, options)
    except (ValueError, OSError, RuntimeError) as exc:
        raise RuntimeBackendError(f"Edge TPU device not usable ({library}: {exc}); {hint}") from exc
    finally:
        gc.collect()
        sys.unraisablehook = previous_hook


def load_model(
    key: str,
    *,
    path: str | Path | None = None,
    model_dir: str | Path | None = None,
    backend: str = "auto",
    num_threads: int = 2,
    delegate: str = "cpu",
    edgetpu_device: str | None = None,
    edgetpu_fallback: bool = False,
) -> TfliteModel:
    """Load a model from the table (or a custom file with the same tensors) into an interpreter.

    Args:
        key: a key of ``edge.models.MODELS``; fixes the tensor shapes the file must have.
        path: a custom file (an Edge TPU compilation, say); its checksum is not checked, its tensors are.
        model_dir: an extra folder searched first for the bundled/fetched file.
        backend: ``auto``, ``litert`` or ``tflite-runtime``.
        num_threads: CPU threads for XNNPACK (LiteRT defaults to 1 if not given).
        delegate: ``cpu`` or ``edgetpu``.
        edgetpu_device: ``usb``, ``usb:0``, ``pci:0``; None for the first one found.
        edgetpu_fallback: with ``edgetpu``, run the bundled CPU model when the Edge TPU cannot be used.

    Raises:
        ModelError: missing, corrupt or wrong-shaped model file.
        RuntimeBackendError: no runtime, or the Edge TPU is unavailable without fallback.
    """
    if delegate not in DELEGATES:
        raise RuntimeBackendError(f"unknown delegate {delegate!r}; expected one of {', '.join(DELEGATES)}")
    if num_threads < 1:
        raise RuntimeBackendError(f"num_threads must be at least 1, got {num_threads}")
    spec = MODELS[key]
    chosen = select_backend(backend)
    model_path = Path(path) if path else locate(key, model_dir)
    if path and not model_path.is_file():
        raise ModelError(f"{model_path}: no such model file")

    delegates: Sequence[Any] = []
    used_delegate = "cpu"
    if delegate == "edgetpu":
        try:
            delegates = [_load_edgetpu_delegate(chosen, edgetpu_device)]
            used_delegate = "edgetpu"
        except RuntimeBackendError as exc:
            if not edgetpu_fallback:
                raise
            log.warning("%s; falling back to the CPU model", exc)
            model_path = locate(key, model_dir)

    try:
        with _native_stderr_to_log():
            interpreter = chosen.interpreter(
                model_path=str(model_path),
                num_threads=num_threads,
                experimental_delegates=list(delegates) or None,
            )
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        message = str(exc).strip()
        first_line = message.splitlines()[0] if message else type(exc).__name__
        if "custom op" in message:  # e.g. the Selfie models' Convolution2DTransposeBias, LiteRT only
            raise RuntimeBackendError(
                f"{model_path}: the {chosen.name} runtime lacks an operator this model uses ({first_line}); "
                'use the LiteRT backend (pip install ai-edge-litert; pose.backend = "litert")'
            ) from exc
        raise ModelError(f"{model_path}: cannot load as a TFLite model ({first_line})") from exc
    model = TfliteModel(interpreter, spec, model_path, chosen.name, used_delegate)
    if delegates:
        model._delegates = delegates  # type: ignore[attr-defined]  # keep the delegate alive
    log.info(
        "loaded %s from %s (%s, %s, %d threads)", key, model_path, chosen.name, used_delegate, num_threads
    )
    return model
