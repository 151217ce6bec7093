"""The model inputs of the four benchmarks, computed as the reference pipelines compute them.

kws01: MFCC 49x10 as the reference computes it with tf.signal (30 ms Hann frames every 20 ms, FFT 512,
magnitude, 40 HTK-mel bands from 20 to 4000 Hz, natural log of mel + 1e-6, TensorFlow's
`mfccs_from_log_mel_spectrograms`, first 10 coefficients). It is written here in numpy so that the
host-side pipeline needs no TensorFlow; tests hold it against a tf.signal implementation.
ad01: log-mel as the DCASE2020 baseline computes it with librosa; vww01 and ic01: pixels.
Every parameter comes from the registry (`Benchmark.preprocessing`).
"""
from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

from tinybench import benchmarks

KWS = benchmarks.get("kws01").preprocessing
AD = benchmarks.get("ad01").preprocessing

# TensorFlow's mel scale (HTK form): mel = 1127 * ln(1 + f / 700).
_MEL_Q = 1127.0
_MEL_BREAK_HZ = 700.0


def _hz_to_mel(hz):
    return _MEL_Q * np.log1p(np.asarray(hz, dtype=np.float64) / _MEL_BREAK_HZ)


@lru_cache(maxsize=None)
def mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sample_rate: int,
                      lower_hz: float, upper_hz: float) -> np.ndarray:
    """[num_spectrogram_bins, num_mel_bins] triangular weights as tf.signal's
    linear_to_mel_weight_matrix defines them: triangles evenly spaced in mel between the edges,
    evaluated at the mel value of each linear-frequency bin, DC bin zeroed (as HTK does)."""
    linear_mel = _hz_to_mel(np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins))[1:, None]
    edges = np.linspace(_hz_to_mel(lower_hz), _hz_to_mel(upper_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (linear_mel - lower) / (center - lower)
    falling = (upper - linear_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, num_mel_bins)), weights])


@lru_cache(maxsize=None)
def mfcc_matrix(num_mel_bins: int, num_mfcc: int) -> np.ndarray:
    """[num_mel_bins, num_mfcc]: TensorFlow's unnormalized DCT-II (2 * sum x[n] cos(pi k (2n+1) / 2N))
    scaled by 1 / sqrt(2N), which is what mfccs_from_log_mel_spectrograms returns."""
    n = np.arange(num_mel_bins)[:, None]
    k = np.arange(num_mfcc)[None, :]
    dct2 = 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2.0 * num_mel_bins))
    return dct2 / np.sqrt(2.0 * num_mel_bins)


@lru_cache(maxsize=None)
def _hann(length: int) -> np.ndarray:
    """tf.signal.hann_window(length) with its default periodic=True."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


def kws_clip(samples: np.ndarray) -> np.ndarray:
    """One clip as the reference feeds it to the STFT: divided by its largest sample (the signed
    maximum, as the reference does, not the absolute one) and zero-padded to one second.
    An all-zero clip stays zero (the reference would divide by zero)."""
    wav = np.asarray(samples, dtype=np.float64)
    if wav.ndim != 1 or len(wav) > KWS["clip_samples"]:
        raise ValueError(f"a kws01 clip is 1-D with at most {KWS['clip_samples']} samples, "
                         f"got shape {wav.shape}")
    peak = wav.max() if len(wav) else 0.0
    if peak > 0:
        wav = wav / peak
    out = np.zeros(KWS["clip_samples"], dtype=np.float32)
    out[:len(wav)] = wav
    return out


def kws_mfcc(clips: np.ndarray) -> np.ndarray:
    """[N, 16000] prepared clips (see kws_clip) -> [N, 49, 10] float32 MFCCs. Computed in float64 and
    rounded once at the end (TensorFlow's float32 differs by its own rounding only)."""
    clips = np.asarray(clips, dtype=np.float64)
    if clips.ndim == 1:
        return kws_mfcc(clips[None])[0]
    width, step, fft = KWS["window_samples"], KWS["stride_samples"], KWS["fft_length"]
    windows = np.lib.stride_tricks.sliding_window_view(clips, width, axis=-1)
    frames = windows[:, :KWS["frames"] * step:step] * _hann(width)
    magnitude = np.abs(np.fft.rfft(frames, n=fft, axis=-1))
    mel = magnitude @ mel_weight_matrix(KWS["mel_bins"], fft // 2 + 1, KWS["sample_rate"],
                                        KWS["mel_low_hz"], KWS["mel_high_hz"])
    log_mel = np.log(mel + KWS["log_offset"])
    return (log_mel @ mfcc_matrix(KWS["mel_bins"], KWS["num_mfcc"])).astype(np.float32)


def kws_quantize(mfcc: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """MFCCs to the model's int8 input as the reference writes its eval files: int8(x / scale + zp)
    on float32 features, in float32 arithmetic (as numpy does it for a float32 array), with a cast
    that truncates toward zero. The reference does not clip, so out-of-range values would wrap
    around in int8; we saturate at -128 / 127 instead (a wrapped value would turn a loud feature into
    a quiet one; saturation keeps the sign and is what the model saw in calibration)."""
    value = np.trunc(np.asarray(mfcc, dtype=np.float32) / np.float32(scale) + np.float32(zero_point))
    return np.clip(value, -128, 127).astype(np.int8)


def ad_log_mel(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """[frames, n_mels] float32: librosa's mel power spectrogram (n_fft 1024, hop 512, 128 mels,
    power 2, centred frames) in decibels, 20 / power * log10(mel + machine epsilon), as the DCASE2020
    baseline computes it. Frame-major, so consecutive frames are contiguous in memory."""
    import librosa
    mel = librosa.feature.melspectrogram(
        y=np.asarray(samples, dtype=np.float32), sr=sample_rate, n_fft=AD["n_fft"],
        hop_length=AD["hop_length"], n_mels=AD["n_mels"], power=AD["power"])
    log_mel = 20.0 / AD["power"] * np.log10(mel + sys.float_info.epsilon)
    return np.ascontiguousarray(log_mel.T, dtype=np.float32)


def ad_min_samples() -> int:
    """Samples a clip needs for frame `last_frame` to exist (librosa centres its frames)."""
    return AD["last_frame"] * AD["hop_length"]


def ad_spectrogram(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """[200, 128]: frames 50..249 of the clip's log-mel, the part the reference keeps."""
    log_mel = ad_log_mel(samples, sample_rate)
    if len(log_mel) <= AD["last_frame"]:
        raise ValueError(f"{len(log_mel)} frames; ad01 needs frames {AD['first_frame']}.."
                         f"{AD['last_frame']} (at least {ad_min_samples()} samples)")
    return log_mel[AD["first_frame"]:AD["last_frame"] + 1]


def ad_vectors(spectrogram: np.ndarray) -> np.ndarray:
    """[frames - 4, 640]: every run of 5 consecutive frames concatenated (frame t at columns
    128t..128t+127), the autoencoder's input vectors. For a [200, 128] spectrogram that is 196."""
    spectrogram = np.asarray(spectrogram)
    n = AD["frames_per_vector"]
    count = len(spectrogram) - n + 1
    return np.concatenate([spectrogram[t:t + count] for t in range(n)], axis=1)


def pixels(images: np.ndarray, bench_id: str) -> np.ndarray:
    """uint8 HWC images -> float32 model inputs: vww01 scales to [0, 1], ic01 keeps raw 0..255."""
    scale = benchmarks.get(bench_id).preprocessing["pixel_scale"]
    return np.asarray(images, dtype=np.float32) * np.float32(scale)
