"""The Visual Wake Words 96x96 set (vw_coco2014_96.tar.gz) in its published layout: a folder per
class, `person/` and `non_person/`, of RGB images. Labels follow the folders' alphabetical order, as
the reference's Keras directory reader gives them: non_person = 0, person = 1. The reference holds
out the first 10% of each class's files (sorted) for validation, as Keras's validation_split does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.errors import UserError

BENCH = benchmarks.get("vww01")
IMAGE_SIZE = BENCH.preprocessing["image_size"]
CLASSES = BENCH.labels  # folder names, in label order
ARCHIVE_FOLDER = "vw_coco2014_96"
VALIDATION_FRACTION = 0.1
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
LAYOUT_HELP = (f"a vww01 source folder holds {CLASSES[1]}/ and {CLASSES[0]}/ image folders (or "
               f"{ARCHIVE_FOLDER}/ with them); `tinybench datasets download vww01` makes it")


@dataclass(frozen=True)
class Image:
    path: Path
    label: int

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def root(source: Path) -> Path:
    source = Path(source)
    for candidate in (source, source / ARCHIVE_FOLDER):
        if all((candidate / c).is_dir() for c in CLASSES):
            return candidate
    if not source.is_dir():
        raise UserError(f"{source}: no such folder; {LAYOUT_HELP}")
    missing = [c for c in CLASSES if not (source / c).is_dir()]
    raise UserError(f"{source}: no {'/ or '.join(missing)}/ folder; {LAYOUT_HELP}")


def splits(source: Path) -> dict[str, list[Image]]:
    """Train and validation images per class, each class's files in sorted order."""
    folder = root(source)
    result: dict[str, list[Image]] = {"train": [], "validation": []}
    for label, name in enumerate(CLASSES):
        files = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise UserError(f"{folder / name}: no images; the dataset is incomplete, extract "
                            f"{ARCHIVE_FOLDER}.tar.gz again")
        # Keras's validation_split share; at least one image once a class has two, so that
        # small sets still have something to validate on.
        held_out = max(int(VALIDATION_FRACTION * len(files)), 1 if len(files) > 1 else 0)
        result["validation"] += [Image(p, label) for p in files[:held_out]]
        result["train"] += [Image(p, label) for p in files[held_out:]]
    return result


def load(image: Image | Path) -> np.ndarray:
    """[96, 96, 3] uint8 RGB. Other sizes are resized with nearest-neighbour sampling, as the
    reference's Keras image loader does."""
    from PIL import Image as PILImage, UnidentifiedImageError
    path = image.path if isinstance(image, Image) else Path(image)
    try:
        with PILImage.open(path) as img:
            img = img.convert("RGB")
            if img.size != (IMAGE_SIZE, IMAGE_SIZE):
                img = img.resize((IMAGE_SIZE, IMAGE_SIZE), PILImage.Resampling.NEAREST)
            return np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: not a readable image ({exc}); re-download or remove it") from None


def eval_file_name(name: str) -> str:
    """The eval-set file name of an image: the official files are named by the 12-digit COCO id."""
    stem = Path(name).stem
    match = re.search(r"(\d{12})$", stem)
    return f"{match.group(1) if match else stem}.bin"
