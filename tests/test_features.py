"""Our features against the reference recipes, on audio in the real on-disk formats.

kws01: the reference computes MFCCs with tf.signal in float32; ours are numpy (float64, rounded to
float32 at the end). The tolerance: the features go to the model as int8 with a step of 0.585
(the official input scale), so a difference of 2e-3 is under 0.4% of one step; it changes an int8
value only where the float value lies within 2e-3 of a truncation boundary, which the test checks
too. TensorFlow's float32 FFT rounding is what we measure (about 2e-4).
"""
from __future__ import annotations

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.data import audio, features, speech_commands, synth

KWS = benchmarks.get("kws01")
MFCC_TOLERANCE = 2e-3


@pytest.fixture(scope="module")
def kws_source(tmp_path_factory):
    return synth.synthesize("kws01", tmp_path_factory.mktemp("kws") / "source", per_class=3,
                            noise_seconds=3.0, seed=5)


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def reference_mfcc(tf, samples_int16):
    """The kws01 reference recipe (SPEC.md 4.2) written with tf.signal, in float32 as it runs."""
    p = KWS.preprocessing
    wav = tf.cast(samples_int16, tf.float32)
    wav = wav / tf.reduce_max(wav)
    wav = tf.pad(wav, [[0, p["clip_samples"] - tf.shape(wav)[-1]]])
    stft = tf.signal.stft(wav, frame_length=p["window_samples"], frame_step=p["stride_samples"],
                          fft_length=None, window_fn=tf.signal.hann_window)
    magnitude = tf.abs(stft)
    weights = tf.signal.linear_to_mel_weight_matrix(p["mel_bins"], stft.shape[-1], p["sample_rate"],
                                                    p["mel_low_hz"], p["mel_high_hz"])
    log_mel = tf.math.log(tf.tensordot(magnitude, weights, 1) + p["log_offset"])
    return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :p["num_mfcc"]].numpy()


def test_mel_weights_and_window_are_tensorflows(tf):
    p = KWS.preprocessing
    ours = features.mel_weight_matrix(p["mel_bins"], 257, p["sample_rate"], p["mel_low_hz"],
                                      p["mel_high_hz"])
    theirs = tf.signal.linear_to_mel_weight_matrix(p["mel_bins"], 257, p["sample_rate"],
                                                   p["mel_low_hz"], p["mel_high_hz"]).numpy()
    assert ours.shape == theirs.shape == (257, 40)
    assert np.abs(ours - theirs).max() < 1e-5  # TF builds it in float32
    assert np.abs(features._hann(480) - tf.signal.hann_window(480).numpy()).max() < 1e-6


def test_kws_mfcc_matches_the_tf_signal_recipe(tf, kws_source, record_property):
    clips = speech_commands.splits(kws_source)
    chosen = clips["train"][::3] + clips["test"][::4]  # words, unknown words, silence cuts
    assert {c.label for c in chosen} >= {0, KWS.labels.index("Silence"), KWS.labels.index("Unknown")}
    worst, changed, total = 0.0, 0, 0
    for clip in chosen:
        samples = speech_commands.load(clip)
        ours = features.kws_mfcc(features.kws_clip(samples))
        theirs = reference_mfcc(tf, samples)
        assert ours.shape == theirs.shape == (49, 10)
        worst = max(worst, float(np.abs(ours - theirs).max()))
        q_ours = features.kws_quantize(ours, KWS.official_input_scale, KWS.official_input_zero_point)
        q_theirs = features.kws_quantize(theirs, KWS.official_input_scale, KWS.official_input_zero_point)
        assert np.abs(q_ours.astype(int) - q_theirs).max() <= 1
        # A one-step difference is allowed only where the value sits on a truncation boundary,
        # e.g. the exact zeros of zero-padded frames (0 / scale + zp = 83 +- float noise).
        level = theirs / KWS.official_input_scale + KWS.official_input_zero_point
        near_boundary = np.abs(level - np.round(level)) < MFCC_TOLERANCE / KWS.official_input_scale
        assert not np.any((q_ours != q_theirs) & ~near_boundary)
        changed += int((q_ours != q_theirs).sum())
        total += q_ours.size
    record_property("kws_mfcc_max_abs_difference", worst)
    print(f"kws01 MFCC: largest |numpy - tf.signal| = {worst:.3g} over {len(chosen)} clips; "
          f"{changed} of {total} int8 values differ")
    assert worst < MFCC_TOLERANCE


def test_kws_clip_handles_short_and_silent_clips():
    short = np.array([0, 100, -50, 200], dtype=np.int16)
    clip = features.kws_clip(short)
    assert clip.shape == (16000,) and clip.dtype == np.float32
    np.testing.assert_allclose(clip[:4], [0, 0.5, -0.25, 1.0])  # divided by the signed maximum
    assert not clip[4:].any()
    silent = features.kws_clip(np.zeros(16000, dtype=np.int16))
    assert not silent.any() and np.isfinite(features.kws_mfcc(silent)).all()
    with pytest.raises(ValueError):
        features.kws_clip(np.zeros(16001, dtype=np.int16))


def test_kws_quantize_truncates_like_the_reference_and_saturates():
    scale, zp = KWS.official_input_scale, KWS.official_input_zero_point
    values = np.array([5.7 - zp, -3.7 - zp, 0.2 - zp, 300.0 - zp, -300.0 - zp]) * scale
    assert features.kws_quantize(values, scale, zp).tolist() == [5, -3, 0, 127, -128]


def test_ad_log_mel_matches_the_dcase_recipe(tmp_path):
    """Ours (soundfile + librosa, frame-major) against the DCASE2020 baseline's own path
    (librosa.load at the native rate, dB mel, frames 50..249, 5-frame vectors)."""
    librosa = pytest.importorskip("librosa")
    import sys
    p = benchmarks.get("ad01").preprocessing
    rng = np.random.default_rng(3)
    path = tmp_path / "normal_id_01_00000000.wav"
    audio.write_wav(path, synth._machine_sound(rng, 1, 8.5, "clicks"), 16000)

    y, sr = librosa.load(str(path), sr=None, mono=False)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=p["n_fft"], hop_length=p["hop_length"],
                                         n_mels=p["n_mels"], power=p["power"])
    log_mel = 20.0 / p["power"] * np.log10(mel + sys.float_info.epsilon)
    log_mel = log_mel[:, p["first_frame"]:p["last_frame"] + 1]
    count = log_mel.shape[1] - p["frames_per_vector"] + 1
    expected = np.zeros((count, p["n_mels"] * p["frames_per_vector"]))
    for t in range(p["frames_per_vector"]):
        expected[:, p["n_mels"] * t:p["n_mels"] * (t + 1)] = log_mel[:, t:t + count].T

    spectrogram = features.ad_spectrogram(audio.read_wav(path, 16000, "float32"), 16000)
    assert spectrogram.shape == (200, 128) and spectrogram.dtype == np.float32
    vectors = features.ad_vectors(spectrogram)
    assert vectors.shape == (196, 640)
    assert np.abs(vectors - expected).max() < 1e-4
    with pytest.raises(ValueError, match="frames"):
        features.ad_spectrogram(np.zeros(features.ad_min_samples() - 512, np.float32), 16000)


def test_pixels_scale_as_the_references():
    image = np.array([[[0, 128, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(features.pixels(image, "vww01"), [[[0, 128 / 255, 1.0]]], rtol=1e-6)
    np.testing.assert_array_equal(features.pixels(image, "ic01"), [[[0, 128, 255]]])
