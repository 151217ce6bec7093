"""Synthetic datasets written in exactly the published on-disk formats, so that the real loaders,
features and training run on them unchanged (tests, and the offline demo).

Each is learnable but not trivial: a few epochs lift the metric well above chance, yet classes
overlap through random speakers, pitch, positions, clutter and noise.
- kws01: words are two-vowel "utterances" (harmonics of a random pitch shaped by the vowels'
  formants) at a random time, plus noise; unknown words use other vowel pairs; silence is noise.
- vww01: a person is a drawn figure (skin-toned head, torso, limbs) among clutter; non-person
  images are clutter only.
- ic01: each class is a colour and a stripe texture (orientation, frequency), jittered and noisy.
- ad01: a normal ToyCar is a steady hum (per-machine pitch and harmonics, motor whine, noise);
  anomalies add clicks, a pitch shift or a squeal.
"""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.data import cifar10, speech_commands as sc, toyadmos, vww
from tinybench.data.audio import write_wav
from tinybench.errors import UserError
from tinybench.progress import progress_bar

KWS_RATE = sc.SAMPLE_RATE        # the registry's rates, which the loaders check the wavs against
AD_RATE = toyadmos.SAMPLE_RATE
# Formants (F1, F2) in Hz of eight vowels; each synthetic word is an ordered pair of them.
VOWELS = [(270, 2290), (390, 1990), (530, 1840), (660, 1720), (730, 1090), (570, 840),
          (440, 1020), (300, 870)]
UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "happy")
BACKGROUND_RECORDINGS = ("white_noise.wav", "pink_noise.wav", sc.VALIDATION_NOISE)


def _vowel_pairs() -> list[tuple[int, int]]:
    """Distinct ordered vowel pairs for the 10 target words followed by the unknown words."""
    pairs = [(a, b) for a in range(len(VOWELS)) for b in range(len(VOWELS)) if a != b]
    order = np.random.default_rng(1234).permutation(len(pairs))
    return [pairs[i] for i in order[:len(sc.WORDS) + len(UNKNOWN_WORDS)]]


def _noise(rng, n: int, sample_rate: int, colour: str = "white") -> np.ndarray:
    white = rng.normal(0.0, 1.0, n)
    if colour == "white":
        return white / np.abs(white).max()
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    if colour == "pink":
        spectrum[1:] /= np.sqrt(freqs[1:])
    else:  # "tap": water-like band noise around 1-3 kHz
        spectrum *= np.exp(-0.5 * ((freqs - 2000.0) / 700.0) ** 2)
    out = np.fft.irfft(spectrum, n)
    return out / np.abs(out).max()


def _utterance(rng, vowel_pair: tuple[int, int]) -> np.ndarray:
    """One spoken 'word': two vowels of ~0.2-0.3 s each from a random speaker, placed at random in
    a clip of 0.75-1 s, with background noise."""
    length = int(rng.uniform(0.75, 1.0) * KWS_RATE)
    pitch = rng.uniform(90.0, 240.0)
    formant_scale = rng.uniform(0.92, 1.08)  # speaker's vocal-tract length
    durations = rng.uniform(0.18, 0.3, size=2)
    onset = rng.uniform(0.02, max(0.03, length / KWS_RATE - durations.sum() - 0.02))
    clip = 0.02 * rng.uniform(0.2, 1.0) * _noise(rng, length, KWS_RATE)
    start = int(onset * KWS_RATE)
    for vowel, duration in zip(vowel_pair, durations):
        n = int(duration * KWS_RATE)
        t = np.arange(n) / KWS_RATE
        f1, f2 = (f * formant_scale for f in VOWELS[vowel])
        glide = pitch * (1.0 + rng.uniform(-0.05, 0.05) * t / duration)
        phase = 2.0 * np.pi * np.cumsum(glide) / KWS_RATE
        sound = np.zeros(n)
        for h in range(1, int(3800 / pitch)):
            freq = h * pitch
            gain = (np.exp(-0.5 * ((freq - f1) / 90.0) ** 2)
                    + 0.6 * np.exp(-0.5 * ((freq - f2) / 130.0) ** 2))
            sound += gain * np.sin(h * phase)
        envelope = np.sin(np.pi * np.arange(n) / n) ** 0.5
        end = min(start + n, length)
        clip[start:end] += 0.5 * (sound * envelope)[:end - start]
        start = end
    return clip * rng.uniform(0.3, 0.9) / np.abs(clip).max()


def _speaker(rng) -> str:
    return f"{rng.integers(0, 2**32):08x}"


def kws01(out: Path, per_class: int, rng, noise_seconds: float = 10.0) -> None:
    """Both Speech Commands archives. per_class is the number of train clips per target word;
    validation, testing_list and the test archive get a quarter of that (at least 3) each."""
    main, test = out / sc.MAIN_ARCHIVE, out / sc.TEST_ARCHIVE
    pairs = _vowel_pairs()
    held_out = max(3, per_class // 4)
    words = list(sc.WORDS) + list(UNKNOWN_WORDS)
    # Unknown words share the Unknown class: give it about one class's worth of clips.
    counts = [(per_class, held_out) if word in sc.WORDS else
              (max(2, per_class // len(UNKNOWN_WORDS)), max(1, held_out // len(UNKNOWN_WORDS)))
              for word in words]
    validation, testing = [], []
    total = sum(count + 2 * extra for count, extra in counts) + 12 * held_out
    with progress_bar(total=total, desc="kws01 synthetic", unit="clip") as bar:
        for index, (word, (count, extra)) in enumerate(zip(words, counts)):
            (main / word).mkdir(parents=True)
            for k in range(count + 2 * extra):
                name = f"{word}/{_speaker(rng)}_nohash_{k % 3}.wav"
                write_wav(main / name, _utterance(rng, pairs[index]), KWS_RATE)
                if k >= count + extra:
                    testing.append(name)
                elif k >= count:
                    validation.append(name)
                bar.update()
        (main / sc.VALIDATION_LIST).write_text("".join(n + "\n" for n in validation))
        (main / sc.TESTING_LIST).write_text("".join(n + "\n" for n in testing))
        (main / sc.BACKGROUND).mkdir()
        colours = {"white_noise.wav": "white", "pink_noise.wav": "pink", sc.VALIDATION_NOISE: "tap"}
        for name in BACKGROUND_RECORDINGS:
            n = int(noise_seconds * KWS_RATE)
            write_wav(main / sc.BACKGROUND / name, 0.5 * _noise(rng, n, KWS_RATE, colours[name]),
                      KWS_RATE)
        for index, word in enumerate(list(sc.WORDS) + ["_unknown_", "_silence_"]):
            (test / word).mkdir(parents=True)
            for k in range(held_out):
                if word == "_silence_":
                    colour = ("white", "pink", "tap")[k % 3]
                    clip = rng.uniform(0.01, 0.5) * _noise(rng, KWS_RATE, KWS_RATE, colour)  # 1 s
                else:
                    unknown = len(sc.WORDS) + k % len(UNKNOWN_WORDS)
                    pair = pairs[index] if word in sc.WORDS else pairs[unknown]
                    clip = _utterance(rng, pair)
                write_wav(test / word / f"{_speaker(rng)}_nohash_{k % 3}.wav", clip, KWS_RATE)
                bar.update()


SKIN = np.array([224, 172, 138])


def _clutter_colour(rng) -> tuple[int, int, int]:
    """A random colour that is not skin-like (so that skin stays a cue of the person class)."""
    while True:
        colour = rng.integers(0, 256, 3)
        if np.abs(colour - SKIN).max() > 60:
            return tuple(int(c) for c in colour)


def _clutter(draw, rng, size: int, shapes: int) -> None:
    for _ in range(shapes):
        x0, y0 = rng.integers(-10, size, 2)
        w, h = rng.integers(6, size // 2, 2)
        colour = _clutter_colour(rng)
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        else:
            draw.line([x0, y0, x0 + w, y0 + h], fill=colour, width=int(rng.integers(1, 5)))


def _figure(draw, rng, size: int) -> None:
    """A person-like figure: skin-toned head and bare arms, torso and legs in random clothes, at a
    random scale and place."""
    height = rng.uniform(0.6, 0.95) * size
    cx = rng.uniform(0.3, 0.7) * size
    top = rng.uniform(0.0, size - height)
    head = height * 0.26
    skin = tuple(int(min(255, c)) for c in SKIN * rng.uniform(0.75, 1.1))
    shirt, trousers = _clutter_colour(rng), _clutter_colour(rng)
    draw.ellipse([cx - head / 2, top, cx + head / 2, top + head], fill=skin)
    torso_top, torso_bottom = top + head * 1.05, top + height * 0.58
    width = height * 0.24
    draw.rectangle([cx - width / 2, torso_top, cx + width / 2, torso_bottom], fill=shirt)
    limb = max(2, int(height * 0.07))
    for side in (-1, 1):
        hand = (cx + side * width * rng.uniform(0.8, 1.6), torso_top + height * 0.3)
        draw.line([cx + side * width / 2, torso_top + 2, *hand], fill=skin, width=limb)  # bare arms
        draw.ellipse([hand[0] - limb, hand[1] - limb, hand[0] + limb, hand[1] + limb], fill=skin)
        draw.line([cx + side * width * 0.25, torso_bottom, cx + side * width * rng.uniform(0.3, 0.8),
                   top + height], fill=trousers, width=limb + 1)


def vww01(out: Path, per_class: int, rng) -> None:
    from PIL import Image, ImageDraw
    size = vww.IMAGE_SIZE
    root = out / vww.ARCHIVE_FOLDER
    ids = rng.choice(10**9, size=2 * per_class, replace=False)
    with progress_bar(total=2 * per_class, desc="vww01 synthetic", unit="image") as bar:
        for label, name in enumerate(vww.CLASSES):
            (root / name).mkdir(parents=True)
            for k in range(per_class):
                base = np.array(_clutter_colour(rng))
                gradient = np.linspace(0.6, 1.2, size)[:, None, None] * base[None, None, :]
                pixels = np.clip(gradient + rng.normal(0, 12, (size, size, 3)), 0, 255)
                img = Image.fromarray(np.broadcast_to(pixels, (size, size, 3)).astype(np.uint8))
                draw = ImageDraw.Draw(img)
                _clutter(draw, rng, size, int(rng.integers(2, 7)))
                if name == "person":
                    _figure(draw, rng, size)
                image_id = ids[label * per_class + k]
                img.save(root / name / f"COCO_train2014_{image_id:012d}.jpg", quality=90)
                bar.update()


def _cifar_image(rng, label: int) -> np.ndarray:
    """Classes c and c + 5 share a colour and differ in stripe frequency; the stripes' angle and
    phase are random, so the model has to combine colour and texture."""
    side = cifar10.SIDE
    hue = ((label % 5) / 5.0 + rng.normal(0, 0.04)) % 1.0
    colour = 255 * np.array([0.5 + 0.5 * np.cos(2 * np.pi * (hue - s)) for s in (0, 1 / 3, 2 / 3)])
    angle = rng.uniform(0, np.pi)
    freq = (0.12 if label < 5 else 0.3) * rng.uniform(0.85, 1.15)
    yy, xx = np.mgrid[0:side, 0:side]
    along = xx * np.cos(angle) + yy * np.sin(angle)
    stripes = np.sin(freq * 2 * np.pi * along + rng.uniform(0, 2 * np.pi))
    image = colour[None, None, :] * (0.6 + rng.uniform(0.15, 0.35) * stripes[..., None])
    image = image * rng.uniform(0.6, 1.1) + rng.uniform(-30, 30, 3)  # exposure and colour cast
    return np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)


def _write_cifar_batch(path: Path, images: np.ndarray, labels: list[int], names: list[str],
                       batch_label: str) -> None:
    planar = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # R plane, G plane, B plane
    batch = {b"batch_label": batch_label.encode(), b"labels": [int(x) for x in labels],
             b"data": np.ascontiguousarray(planar, dtype=np.uint8),
             b"filenames": [n.encode() for n in names]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def ic01(out: Path, per_class: int, rng) -> None:
    """All five data batches and the test batch; per_class train images per class (spread over the
    five batches) and a quarter of that (at least 4) test images per class."""
    root = out / cifar10.ARCHIVE_FOLDER
    root.mkdir(parents=True)
    labels = benchmarks.get("ic01").labels
    test_per_class = max(4, per_class // 4)
    serial = iter(rng.permutation(10**6))
    with progress_bar(total=len(labels) * (per_class + test_per_class), desc="ic01 synthetic",
                      unit="image") as bar:
        def make(count):
            order = rng.permutation(np.repeat(np.arange(len(labels)), count))
            images = np.stack([_cifar_image(rng, int(c)) for c in order])
            bar.update(len(order))
            names = [f"{labels[c]}_s_{next(serial):06d}.png" for c in order]
            return images, order.tolist(), names
        images, order, names = make(per_class)
        for i, part in enumerate(np.array_split(np.arange(len(order)), len(cifar10.TRAIN_BATCHES))):
            _write_cifar_batch(root / cifar10.TRAIN_BATCHES[i], images[part],
                               [order[j] for j in part], [names[j] for j in part],
                               f"training batch {i + 1} of 5")
        images, order, names = make(test_per_class)
        _write_cifar_batch(root / cifar10.TEST_BATCH, images, order, names, "testing batch 1 of 1")
    with open(root / cifar10.META, "wb") as f:
        pickle.dump({b"label_names": [n.encode() for n in labels], b"num_vis": 3072,
                     b"num_cases_per_batch": len(order)}, f, protocol=2)


def _machine_sound(rng, machine: int, seconds: float, anomaly: str | None) -> np.ndarray:
    n = int(seconds * AD_RATE)
    t = np.arange(n) / AD_RATE
    machine_rng = np.random.default_rng(1000 + machine)  # the machine's own character
    pitch = (90.0 + 25.0 * machine) * rng.uniform(0.99, 1.01)
    harmonic_gains = machine_rng.uniform(0.2, 1.0, 12) / np.arange(1, 13)
    whine = machine_rng.uniform(900, 1500)
    if anomaly == "shift":
        pitch *= rng.uniform(1.06, 1.15)
    wobble = 1.0 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 4) * t + rng.uniform(0, 6.3))
    sound = sum(g * np.sin(2 * np.pi * (h + 1) * pitch * t + rng.uniform(0, 6.3))
                for h, g in enumerate(harmonic_gains)) * wobble
    sound += 0.15 * np.sin(2 * np.pi * whine * t)
    sound += 0.08 * _noise(rng, n, AD_RATE, "pink")
    if anomaly == "clicks":
        for start in rng.choice(n - 200, size=int(seconds * rng.uniform(4, 10)), replace=False):
            click = rng.normal(0, 1, 200) * np.exp(-np.arange(200) / 40)
            sound[start:start + 200] += rng.uniform(0.3, 1.0) * click
    elif anomaly == "squeal":
        sound += rng.uniform(0.03, 0.15) * np.sin(2 * np.pi * rng.uniform(2500, 5000) * t)
    return 0.5 * sound / np.abs(sound).max()


def ad01(out: Path, per_class: int, rng, seconds: float = 10.0, machines: int = 4) -> None:
    """ToyCar/train with per_class normal clips per machine id, ToyCar/test with a quarter of that
    (at least 3) normal and as many anomalous clips per machine id."""
    root = out / toyadmos.ARCHIVE_FOLDER
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    test_count = max(3, per_class // 4)
    kinds = ("clicks", "shift", "squeal")
    with progress_bar(total=machines * (per_class + 2 * test_count), desc="ad01 synthetic",
                      unit="clip") as bar:
        for machine in range(1, machines + 1):
            for k in range(per_class):
                write_wav(root / "train" / f"normal_id_{machine:02d}_{k:08d}.wav",
                          _machine_sound(rng, machine, seconds, None), AD_RATE)
                bar.update()
            for k in range(test_count):
                write_wav(root / "test" / f"normal_id_{machine:02d}_{k:08d}.wav",
                          _machine_sound(rng, machine, seconds, None), AD_RATE)
                write_wav(root / "test" / f"anomaly_id_{machine:02d}_{k:08d}.wav",
                          _machine_sound(rng, machine, seconds, kinds[k % 3]), AD_RATE)
                bar.update(2)


GENERATORS = {"kws01": kws01, "vww01": vww01, "ic01": ic01, "ad01": ad01}
DEFAULT_PER_CLASS = {"kws01": 60, "vww01": 200, "ic01": 100, "ad01": 40}


def synthesize(bench_id: str, out: Path, per_class: int | None = None, seed: int = 0,
               **options) -> Path:
    """Write a synthetic dataset for bench_id into out (which must not exist or be empty). It is
    built in a sibling `.partial` folder and renamed at the end, so an interrupted run never leaves
    a folder that looks complete."""
    bench = benchmarks.get(bench_id)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: already exists and is not empty; choose another --out or remove it")
    per_class = per_class or DEFAULT_PER_CLASS[bench.id]
    if per_class < 2:
        raise UserError(f"--per-class must be at least 2, got {per_class}")
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    GENERATORS[bench.id](partial, per_class, np.random.default_rng(seed), **options)
    if out.exists():
        out.rmdir()
    os.replace(partial, out)
    return out
