"""ToyADMOS ToyCar as DCASE2020 task 2 publishes it (dev_data_ToyCar.zip, eval_data_train_ToyCar.zip):
`ToyCar/train/normal_id_XX_NNNNNNNN.wav` (normal sounds only) and `ToyCar/test/{normal,anomaly}_id_XX_
NNNNNNNN.wav`, 16 kHz mono 16-bit. The autoencoder trains on normal train clips; the reference
holds out the last 10% of them for its validation loss, and scores AUC on the test clips.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinybench import benchmarks
from tinybench.errors import UserError

BENCH = benchmarks.get("ad01")
SAMPLE_RATE = BENCH.preprocessing["sample_rate"]
ARCHIVE_FOLDER = "ToyCar"
NAME = re.compile(r"^(normal|anomaly)_id_(\d\d)_(\d{8})\.wav$")
VALIDATION_FRACTION = 0.1
LAYOUT_HELP = (f"an ad01 source folder holds {ARCHIVE_FOLDER}/train/ and {ARCHIVE_FOLDER}/test/ "
               f"(or is {ARCHIVE_FOLDER}/); `tinybench datasets download ad01` makes it")


@dataclass(frozen=True)
class Recording:
    path: Path
    label: int  # 0 normal, 1 anomaly

    @property
    def name(self) -> str:
        return self.path.name


def root(source: Path) -> Path:
    source = Path(source)
    for candidate in (source, source / ARCHIVE_FOLDER):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    if not source.is_dir():
        raise UserError(f"{source}: no such folder; {LAYOUT_HELP}")
    raise UserError(f"{source}: no train/ and test/ folders; {LAYOUT_HELP}")


def _recordings(folder: Path) -> list[Recording]:
    found = []
    for path in sorted(folder.glob("*.wav")):
        match = NAME.match(path.name)
        if match is None:
            raise UserError(f"{path}: not a DCASE2020 ToyCar file name "
                            f"(normal_id_XX_NNNNNNNN.wav or anomaly_id_XX_NNNNNNNN.wav)")
        found.append(Recording(path, BENCH.labels.index(match.group(1))))
    if not found:
        raise UserError(f"{folder}: no wav files; the dataset is incomplete, {LAYOUT_HELP}")
    return found


def splits(source: Path) -> dict[str, list[Recording]]:
    folder = root(source)
    train = _recordings(folder / "train")
    anomalous = [r.path for r in train if r.label]
    if anomalous:
        raise UserError(f"{anomalous[0]}: an anomaly clip in train/; DCASE2020 trains on normal "
                        f"sounds only")
    test = _recordings(folder / "test")
    if {r.label for r in test} != {0, 1}:
        raise UserError(f"{folder / 'test'}: needs both normal_ and anomaly_ clips to score AUC")
    held_out = max(1, int(round(VALIDATION_FRACTION * len(train)))) if len(train) > 1 else 0
    return {"train": train[:len(train) - held_out], "validation": train[len(train) - held_out:],
            "test": test}


def eval_file_name(name: str) -> str:
    """normal_id_01_00000003.wav -> normal_id_01_00000003_hist_librosa.bin, as the official files."""
    return f"{Path(name).stem}_hist_librosa.bin"
