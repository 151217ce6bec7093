"""`tinybench datasets prepare`: a raw dataset folder -> the arrays training and evaluation read.

A prepared folder holds, per split, `<split>_x.npy` (model-ready features: kws01 float32 MFCC
[N, 49, 10, 1]; vww01 / ic01 uint8 HWC images; ad01 float32 log-mel [N, 200, 128], frames 50..249
of each clip), `<split>_y.npy` (int labels) and `<split>_names.txt` (the source file of each row),
and `meta.json`, written last: a folder without it is incomplete and is never read.
Arrays are read memory-mapped, so the full-size sets need not fit in memory.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.data import cifar10, features, speech_commands, toyadmos, vww
from tinybench.data.audio import read_wav
from tinybench.errors import UserError
from tinybench.progress import progress_bar

META = "meta.json"
FORMAT = 1
KWS = benchmarks.get("kws01").preprocessing
# The split whose metric decides "target reached", as each reference measures quality.
QUALITY_SPLIT = {"kws01": "validation", "vww01": "validation", "ic01": "test", "ad01": "test"}
# The split eval sets are exported from (ic01's official set is drawn from the CIFAR test batch;
# vww01's from held-out images).
EVAL_SPLIT = {"kws01": "test", "vww01": "validation", "ic01": "test", "ad01": "test"}
# The ad01 reference calibrates on the vectors of 1400 training clips (its calibration.txt).
AD_CALIBRATION_FILES = 1400


@dataclass(frozen=True)
class Prepared:
    folder: Path
    meta: dict

    @property
    def bench(self) -> benchmarks.Benchmark:
        return benchmarks.get(self.meta["bench"])

    @property
    def splits(self) -> list[str]:
        return list(self.meta["splits"])

    def _check(self, split: str) -> None:
        if split not in self.meta["splits"]:
            raise UserError(f"{self.folder}: no {split!r} split (it has {', '.join(self.splits)})")

    def x(self, split: str) -> np.ndarray:
        self._check(split)
        return np.load(self.folder / f"{split}_x.npy", mmap_mode="r")

    def y(self, split: str) -> np.ndarray:
        self._check(split)
        return np.load(self.folder / f"{split}_y.npy")

    def names(self, split: str) -> list[str]:
        self._check(split)
        return (self.folder / f"{split}_names.txt").read_text().splitlines()


def open_prepared(folder: Path, bench_id: str | None = None) -> Prepared:
    """A prepared folder, checked to be complete (and for bench_id, when given)."""
    folder = Path(folder)
    meta_path = folder / META
    if not meta_path.is_file():
        raise UserError(f"{folder}: not a prepared dataset (no {META}); run `tinybench datasets "
                        f"prepare BENCH --source RAW_DIR --out {folder}` first")
    try:
        meta = json.loads(meta_path.read_text())
        bench = meta["bench"]
        for split, count in meta["splits"].items():
            for suffix in ("_x.npy", "_y.npy", "_names.txt"):
                if not (folder / f"{split}{suffix}").is_file():
                    raise UserError(f"{folder / (split + suffix)}: missing from a prepared "
                                    f"dataset; prepare it again")
    except (ValueError, KeyError, AttributeError) as exc:
        raise UserError(f"{meta_path}: unreadable ({exc}); prepare the dataset again") from None
    if meta.get("format") != FORMAT:
        raise UserError(f"{folder}: prepared by another tinybench version; prepare it again")
    if bench_id is not None and bench != benchmarks.get(bench_id).id:
        raise UserError(f"{folder}: prepared for {bench}, not {bench_id}")
    return Prepared(folder, meta)


def is_prepared(folder: Path) -> bool:
    return (Path(folder) / META).is_file()


class _Writer:
    """Writes one split's arrays under temporary names; `close` puts them in place."""

    def __init__(self, folder: Path, split: str, count: int, shape: tuple, dtype):
        self.folder, self.split = folder, split
        self.x = np.lib.format.open_memmap(folder / f"{split}_x.npy.tmp", mode="w+", dtype=dtype,
                                           shape=(count, *shape))
        self.y = np.zeros(count, dtype=np.int64)
        self.names: list[str] = []

    def close(self) -> int:
        self.x.flush()
        del self.x
        os.replace(self.folder / f"{self.split}_x.npy.tmp", self.folder / f"{self.split}_x.npy")
        np.save(self.folder / f"{self.split}_y.npy", self.y)
        (self.folder / f"{self.split}_names.txt").write_text("".join(n + "\n" for n in self.names))
        return len(self.y)


def _background_mix(clip: np.ndarray, noise: list[np.ndarray], rng) -> np.ndarray:
    """The reference's training augmentation: with probability 0.8 add a random 1 s stretch of a
    random background recording at a volume drawn from U(0, 0.1), then clip to [-1, 1]."""
    if not noise or rng.random() >= KWS["background_probability"]:
        return clip
    recording = noise[rng.integers(len(noise))]
    if len(recording) < len(clip):
        return clip
    start = rng.integers(0, len(recording) - len(clip) + 1)
    volume = rng.uniform(0.0, KWS["background_volume"])
    return np.clip(clip + volume * recording[start:start + len(clip)], -1.0, 1.0)


def _prepare_kws01(source: Path, folder: Path, rng, bar_desc: str) -> dict[str, int]:
    clips = speech_commands.splits(source)
    noise = speech_commands.background_noise(source)
    counts = {}
    with progress_bar(total=sum(map(len, clips.values())), desc=bar_desc, unit="clip") as bar:
        for split, items in clips.items():
            writer = _Writer(folder, split, len(items), (KWS["frames"], KWS["num_mfcc"], 1), np.float32)
            for start in range(0, len(items), 256):
                chunk = items[start:start + 256]
                batch = []
                for clip in chunk:
                    wav = features.kws_clip(speech_commands.load(clip))
                    if split == "train":  # augmented once, here (see prepare())
                        wav = _background_mix(wav, noise, rng)
                    batch.append(wav)
                writer.x[start:start + len(chunk)] = features.kws_mfcc(np.stack(batch))[..., None]
                writer.y[start:start + len(chunk)] = [c.label for c in chunk]
                writer.names += [c.name for c in chunk]
                bar.update(len(chunk))
            counts[split] = writer.close()
    return counts


def _prepare_vww01(source: Path, folder: Path, rng, bar_desc: str) -> dict[str, int]:
    images = vww.splits(source)
    side = vww.IMAGE_SIZE
    counts = {}
    with progress_bar(total=sum(map(len, images.values())), desc=bar_desc, unit="image") as bar:
        for split, items in images.items():
            writer = _Writer(folder, split, len(items), (side, side, 3), np.uint8)
            for i, image in enumerate(items):
                writer.x[i] = vww.load(image)
                writer.y[i] = image.label
                writer.names.append(image.name)
                bar.update()
            counts[split] = writer.close()
    return counts


def _prepare_ic01(source: Path, folder: Path, rng, bar_desc: str) -> dict[str, int]:
    counts = {}
    for split, (images, labels, names) in cifar10.splits(source).items():
        writer = _Writer(folder, split, len(images), images.shape[1:], np.uint8)
        writer.x[:] = images
        writer.y[:] = labels
        writer.names = list(names)
        counts[split] = writer.close()
    return counts


def _prepare_ad01(source: Path, folder: Path, rng, bar_desc: str) -> dict[str, int]:
    recordings = toyadmos.splits(source)
    ad = benchmarks.get("ad01").preprocessing
    counts = {}
    with progress_bar(total=sum(map(len, recordings.values())), desc=bar_desc, unit="clip") as bar:
        for split, items in recordings.items():
            writer = _Writer(folder, split, len(items), (ad["file_frames"], ad["n_mels"]), np.float32)
            for i, recording in enumerate(items):
                samples = read_wav(recording.path, toyadmos.SAMPLE_RATE, dtype="float32")
                try:
                    writer.x[i] = features.ad_spectrogram(samples, toyadmos.SAMPLE_RATE)
                except ValueError as exc:
                    raise UserError(f"{recording.path}: too short for ad01 ({exc})") from None
                writer.y[i] = recording.label
                writer.names.append(recording.name)
                bar.update()
            counts[split] = writer.close()
    return counts


_PREPARERS = {"kws01": _prepare_kws01, "vww01": _prepare_vww01, "ic01": _prepare_ic01,
              "ad01": _prepare_ad01}


def prepare(bench_id: str, source: Path, out: Path, seed: int = 0) -> Prepared:
    """Read the raw dataset in source (its published layout) and write the prepared arrays to out.
    kws01's training clips get the reference's background-noise augmentation once, here, with
    this seed (so each training clip keeps one noisy version for the whole run)."""
    bench = benchmarks.get(bench_id)
    source, out = Path(source), Path(out)
    if source.resolve() == out.resolve():
        raise UserError(f"--out {out} is the source folder; choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / META).unlink(missing_ok=True)  # from here on the folder is incomplete until the end
    counts = _PREPARERS[bench.id](source, out, np.random.default_rng(seed), f"{bench.id} prepare")
    meta = {"format": FORMAT, "bench": bench.id, "source": str(source.resolve()), "seed": seed,
            "splits": counts, "quality_split": QUALITY_SPLIT[bench.id],
            "eval_split": EVAL_SPLIT[bench.id]}
    tmp = out / (META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, out / META)
    return Prepared(out, meta)


# -- what the model sees ------------------------------------------------------------------------

def model_inputs(bench_id: str, x: np.ndarray) -> np.ndarray:
    """Rows of a prepared `_x` array -> float32 model inputs (ad01: rows are whole spectrograms and
    come back as their 196 five-frame vectors each, in order)."""
    if bench_id == "kws01":
        return np.asarray(x, dtype=np.float32)
    if bench_id == "ad01":
        return np.concatenate([features.ad_vectors(s) for s in np.asarray(x)]).astype(np.float32)
    return features.pixels(x, bench_id)


def evenly_spaced(count: int, limit: int) -> np.ndarray:
    """Indices of min(count, limit) items spread over the whole range (datasets and eval sets are
    often ordered by class or by recording, so the first N would be a biased sample)."""
    return np.unique(np.linspace(0, count - 1, num=min(count, limit)).round().astype(int))


def calibration_inputs(bench_id: str, data: Prepared | Path, limit: int | None = None) -> np.ndarray:
    """The representative inputs the reference quantizes with, taken from the same data:
    kws01 10 validation clips per label (seeded, seed 2), vww01 the first 11 person images (sorted
    by file name), ic01 500 test images (seeded), ad01 every 5th vector of 1400 training clips
    spread over the training set. The reference's own index lists are not public here, so the
    picks follow its rules, not its exact files. float32, shaped
    like the model input without the batch dimension."""
    data = data if isinstance(data, Prepared) else open_prepared(data, bench_id)
    bench = benchmarks.get(bench_id)
    rng = np.random.default_rng(2)
    if bench.id == "kws01":
        split = "validation"
        labels = data.y(split)
        rows = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:10]
                               for c in range(bench.num_classes)])
        inputs = model_inputs(bench.id, data.x(split)[np.sort(rows)])
    elif bench.id == "vww01":
        person = [(data.names(s)[i], s, i) for s in ("validation", "train")
                  for i in np.flatnonzero(data.y(s) == 1)]
        inputs = np.stack([model_inputs(bench.id, data.x(s)[i]) for _, s, i in sorted(person)[:11]])
    elif bench.id == "ic01":
        x = data.x("test")
        rows = np.sort(rng.permutation(len(x))[:500])
        inputs = model_inputs(bench.id, x[rows])
    else:
        x = data.x("train")
        inputs = model_inputs(bench.id, x[evenly_spaced(len(x), AD_CALIBRATION_FILES)])[::5]
    if len(inputs) == 0:
        raise UserError(f"{data.folder}: no calibration inputs for {bench.id}")
    return inputs[:limit] if limit else inputs
