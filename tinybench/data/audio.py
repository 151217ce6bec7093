"""Reading and writing the wav files of Speech Commands and ToyCar (16-bit PCM, mono), with errors
that name the file and say what was expected."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinybench.errors import UserError


def read_wav(path: Path, sample_rate: int, dtype: str = "int16") -> np.ndarray:
    """The samples of a mono wav recorded at sample_rate. dtype "int16" gives the stored PCM values,
    "float32" the values scaled to [-1, 1) as librosa and tf.audio.decode_wav give them."""
    import soundfile
    path = Path(path)
    try:
        samples, rate = soundfile.read(str(path), dtype=dtype, always_2d=True)
    except (RuntimeError, ValueError, OSError) as exc:  # LibsndfileError is a RuntimeError
        raise UserError(f"{path}: not a readable wav file ({exc}); re-download or remove it") from None
    if rate != sample_rate:
        raise UserError(f"{path}: sampled at {rate} Hz, but this dataset is {sample_rate} Hz; "
                        f"resample it or use the published files")
    if samples.shape[1] != 1:
        raise UserError(f"{path}: {samples.shape[1]} channels, but this dataset's wavs are mono")
    return samples[:, 0]


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write float samples in [-1, 1] (clipped) as 16-bit PCM mono."""
    import soundfile
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767), -32768, 32767)
    soundfile.write(str(path), pcm.astype(np.int16), sample_rate, subtype="PCM_16")
