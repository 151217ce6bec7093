"""Loading float Keras models: `.keras` files, `.h5` files and SavedModel folders, including the
legacy formats the official fp32 reference models ship in (Keras 2.4 `.h5` files, a Keras 2
SavedModel for kws01)."""
from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

from tinybench.errors import UserError
from tinybench.tflite import TFLITE_IDENTIFIER

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
ACCEPTED = "a .keras file, an .h5 file or a SavedModel folder"


def import_keras():
    """Keras 3 (and TensorFlow under it), imported quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        import keras
    except ImportError:  # pragma: no cover - depends on the install
        raise UserError("this needs TensorFlow and Keras: pip install 'tinybench[train]'") from None
    return keras


def load(path: str | Path):
    """The float model stored at path (Keras 3 model, or a tf_keras model for Keras 2
    SavedModels). Raises UserError for anything that is not a loadable Keras model."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        return _load_saved_model(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] == TFLITE_IDENTIFIER:
        raise UserError(f"{path}: this is a TFLite model already; quantization starts from the "
                        f"float Keras model ({ACCEPTED})")
    if head.startswith(HDF5_SIGNATURE):
        return _load_h5(path)
    if head.startswith(ZIP_SIGNATURE):
        if path.suffix != ".keras":
            raise UserError(f"{path}: a zip archive; if it is a Keras model, give it the .keras "
                            f"extension")
        return _load_keras(path)
    raise UserError(f"{path}: not a Keras model (expected {ACCEPTED})")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _legacy_objects(keras) -> dict:
    class DepthwiseConv2D(keras.layers.DepthwiseConv2D):
        """Keras 2.4 wrote a `groups` argument into DepthwiseConv2D configs; Keras 3 rejects it
        (it is always 1 for a depthwise convolution)."""

        def __init__(self, *args, groups=1, **kwargs):
            super().__init__(*args, **kwargs)

    return {"DepthwiseConv2D": DepthwiseConv2D}


def _load_h5(path: Path):
    import h5py
    try:
        with h5py.File(path, "r") as f:
            has_architecture = "model_config" in f.attrs
    except OSError as exc:
        raise UserError(f"{path}: the HDF5 file is truncated or corrupt ({_first_line(exc)})") from None
    if not has_architecture:
        raise UserError(f"{path}: holds weights only, no model architecture; save the whole model "
                        f"(model.save) or use the .keras format")
    keras = import_keras()
    try:
        return keras.models.load_model(path, compile=False, custom_objects=_legacy_objects(keras))
    except Exception as exc:  # h5py and Keras fail in many ways on damaged files
        raise UserError(f"{path}: Keras could not load this .h5 model, it may be truncated or "
                        f"corrupt ({_first_line(exc)})") from None


def _load_keras(path: Path):
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        damaged = str(exc)
    if damaged:  # Keras itself would only say "file not found"
        raise UserError(f"{path}: the .keras archive is truncated or corrupt ({damaged})")
    keras = import_keras()
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # zipfile, h5py and Keras fail in many ways on damaged files
        raise UserError(f"{path}: Keras could not load this .keras model, it may be truncated or "
                        f"corrupt ({_first_line(exc)})") from None


def _load_saved_model(path: Path):
    if not (path / "saved_model.pb").is_file():
        raise UserError(f"{path}: a folder without saved_model.pb, so not a SavedModel "
                        f"(expected {ACCEPTED})")
    import_keras()
    try:
        # Keras 2 SavedModels (like the official kws01 one) load only through tf_keras.
        import tf_keras
    except ImportError:  # pragma: no cover - depends on the install
        raise UserError("loading a Keras 2 SavedModel needs tf-keras: "
                        "pip install --no-deps tf-keras==2.21.0") from None
    # tf_keras warns that a SavedModel from before TF 2.5 (the official kws01 one) lacks
    # keras_metadata.pb; the model loads correctly all the same.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        return tf_keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise UserError(f"{path}: not a loadable Keras SavedModel ({_first_line(exc)}); a "
                        f"SavedModel without Keras metadata (e.g. from model.export()) cannot be "
                        f"quantized here, give the .keras file instead") from None
