"""Speech Commands v2 in its published layout, split the way the kws01 reference splits it.

A kws01 source folder holds the two published archives, each extracted into a folder of its name:

    speech_commands_v0.02/           a folder per word, _background_noise_/, validation_list.txt,
                                     testing_list.txt
    speech_commands_test_set_v0.02/  a folder per target word, _silence_/, _unknown_/

As the reference's dataset (TFDS speech_commands) does: train = every clip of the main archive not
listed in validation_list.txt or testing_list.txt; validation = the clips of validation_list.txt;
the 1 s "silence" clips are cut from the _background_noise_ recordings every 0.5 s (running_tap.wav
for validation, the others for train); test = the separate test archive. Words other than the ten
targets are "unknown".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.data.audio import read_wav
from tinybench.errors import UserError

BENCH = benchmarks.get("kws01")
SAMPLE_RATE = BENCH.preprocessing["sample_rate"]
CLIP_SAMPLES = BENCH.preprocessing["clip_samples"]
WORDS = tuple(label.lower() for label in BENCH.labels[:10])
SILENCE = BENCH.labels.index("Silence")
UNKNOWN = BENCH.labels.index("Unknown")

MAIN_ARCHIVE = "speech_commands_v0.02"
TEST_ARCHIVE = "speech_commands_test_set_v0.02"
BACKGROUND = "_background_noise_"
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
VALIDATION_NOISE = "running_tap.wav"  # the one background recording kept for validation
SILENCE_HOP = CLIP_SAMPLES // 2
LAYOUT_HELP = (f"a kws01 source folder holds {MAIN_ARCHIVE}/ and {TEST_ARCHIVE}/ (the two published "
               f"archives, extracted); `tinybench datasets download kws01` makes it")


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int
    start: int | None = None  # silence cut from a background recording: first sample of the cut

    @property
    def name(self) -> str:
        """A stable identifier: the path under its archive folder (plus the cut's start)."""
        rel = f"{self.path.parent.name}/{self.path.name}"
        return rel if self.start is None else f"{rel}@{self.start}"


def _label_of(folder: str) -> int:
    if folder in WORDS:
        return WORDS.index(folder)
    if folder in ("_silence_", BACKGROUND):
        return SILENCE
    return UNKNOWN


def _layout(source: Path) -> tuple[Path, Path]:
    source = Path(source)
    if not source.is_dir():
        raise UserError(f"{source}: no such folder; {LAYOUT_HELP}")
    main, test = source / MAIN_ARCHIVE, source / TEST_ARCHIVE
    if (source / VALIDATION_LIST).exists() and not main.exists():
        raise UserError(f"{source}: this is the extracted {MAIN_ARCHIVE} archive itself; give the "
                        f"folder above it, which must hold {MAIN_ARCHIVE}/ and {TEST_ARCHIVE}/")
    for folder in (main, test):
        if not folder.is_dir():
            raise UserError(f"{folder}: missing; {LAYOUT_HELP}")
    for required in (main / VALIDATION_LIST, main / TESTING_LIST, main / BACKGROUND):
        if not required.exists():
            raise UserError(f"{required}: missing, so {main} is not a complete Speech Commands v2 "
                            f"folder; extract speech_commands_v0.02.tar.gz there again")
    for folder in (*WORDS, "_silence_", "_unknown_"):
        if not (test / folder).is_dir():
            raise UserError(f"{test / folder}: missing, so {test} is not a complete Speech Commands "
                            f"test set; extract speech_commands_test_set_v0.02.tar.gz there again")
    for word in WORDS:
        if not (main / word).is_dir():
            raise UserError(f"{main / word}: missing, so {main} is not a complete Speech Commands v2 "
                            f"folder; extract speech_commands_v0.02.tar.gz there again")
    return main, test


def _read_list(path: Path, main: Path) -> set[str]:
    names = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    missing = sorted(n for n in names if not (main / n).is_file())
    if missing:
        raise UserError(f"{path} lists {len(missing)} clip(s) that are not in {main} (first: "
                        f"{missing[0]}); the dataset is incomplete, extract the archive again")
    return names


def _silence_cuts(recording: Path) -> list[Clip]:
    samples = len(read_wav(recording, SAMPLE_RATE))
    return [Clip(recording, SILENCE, start)
            for start in range(0, samples - CLIP_SAMPLES, SILENCE_HOP)]


def splits(source: Path) -> dict[str, list[Clip]]:
    """The train, validation and test clips of a kws01 source folder, in a stable order."""
    main, test = _layout(source)
    validation_names = _read_list(main / VALIDATION_LIST, main)
    testing_names = _read_list(main / TESTING_LIST, main)
    result: dict[str, list[Clip]] = {"train": [], "validation": [], "test": []}
    for folder in sorted(p for p in main.iterdir() if p.is_dir() and p.name != BACKGROUND):
        for wav in sorted(folder.glob("*.wav")):
            rel = f"{folder.name}/{wav.name}"
            if rel in testing_names:
                continue
            split = "validation" if rel in validation_names else "train"
            result[split].append(Clip(wav, _label_of(folder.name)))
    recordings = sorted((main / BACKGROUND).glob("*.wav"))
    if not any(r.name == VALIDATION_NOISE for r in recordings):
        raise UserError(f"{main / BACKGROUND / VALIDATION_NOISE}: missing; the dataset is "
                        f"incomplete, extract speech_commands_v0.02.tar.gz again")
    for recording in recordings:
        split = "validation" if recording.name == VALIDATION_NOISE else "train"
        result[split].extend(_silence_cuts(recording))
    for folder in sorted(p for p in test.iterdir() if p.is_dir()):
        result["test"].extend(Clip(wav, _label_of(folder.name)) for wav in sorted(folder.glob("*.wav")))
    for split, clips in result.items():
        if not clips:
            raise UserError(f"{source}: the {split} split has no clips; {LAYOUT_HELP}")
    return result


def load(clip: Clip) -> np.ndarray:
    """The clip's 16-bit samples (at most one second)."""
    samples = read_wav(clip.path, SAMPLE_RATE)
    if clip.start is not None:
        return samples[clip.start:clip.start + CLIP_SAMPLES]
    if len(samples) > CLIP_SAMPLES:
        raise UserError(f"{clip.path}: {len(samples)} samples, but a Speech Commands clip is at "
                        f"most {CLIP_SAMPLES} (one second at {SAMPLE_RATE} Hz)")
    return samples


def background_noise(source: Path) -> list[np.ndarray]:
    """The _background_noise_ recordings as float samples in [-1, 1), for training augmentation."""
    main, _ = _layout(source)
    return [read_wav(path, SAMPLE_RATE, dtype="float32")
            for path in sorted((main / BACKGROUND).glob("*.wav"))]
