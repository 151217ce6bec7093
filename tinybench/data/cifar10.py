"""CIFAR-10 "python version" (cifar-10-python.tar.gz): pickled batches `data_batch_1`..`data_batch_5`
and `test_batch`, each a dict with b'data' (N x 3072 uint8, planar: 1024 red, 1024 green, 1024 blue
values, rows top to bottom), b'labels' and b'filenames'. The reference trains on the five data
batches and validates on the test batch.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.errors import UserError

BENCH = benchmarks.get("ic01")
SIDE = BENCH.preprocessing["image_size"]
ARCHIVE_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
LAYOUT_HELP = (f"an ic01 source folder is {ARCHIVE_FOLDER}/ (data_batch_1..5, test_batch) or holds it; "
               f"`tinybench datasets download ic01` makes it")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """The batches hold numpy arrays, lists, bytes and ints; refusing every other global keeps a
    tampered file from running code when it is unpickled."""
    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def root(source: Path) -> Path:
    source = Path(source)
    for candidate in (source, source / ARCHIVE_FOLDER):
        if (candidate / TEST_BATCH).exists() or (candidate / TRAIN_BATCHES[0]).exists():
            for name in (*TRAIN_BATCHES, TEST_BATCH):
                if not (candidate / name).is_file():
                    raise UserError(f"{candidate / name}: missing, so the CIFAR-10 folder is "
                                    f"incomplete; extract cifar-10-python.tar.gz again")
            return candidate
    if not source.is_dir():
        raise UserError(f"{source}: no such folder; {LAYOUT_HELP}")
    raise UserError(f"{source}: no CIFAR-10 batches here; {LAYOUT_HELP}")


def load_batch(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images [N, 32, 32, 3] uint8 HWC, labels [N], file names) of one pickled batch."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            batch = _NumpyOnlyUnpickler(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in batch.get(b"filenames", [f"{path.name}_{i:05d}.png" for i in range(len(labels))])]
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError,
            IndexError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__}: {exc}); "
                        f"extract cifar-10-python.tar.gz again") from None
    if data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE or len(labels) != len(data) \
            or len(names) != len(data):
        raise UserError(f"{path}: b'data' is {data.shape} with {len(labels)} labels; a CIFAR-10 "
                        f"batch has N x {3 * SIDE * SIDE} bytes and N labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= BENCH.num_classes):
        raise UserError(f"{path}: labels outside 0..{BENCH.num_classes - 1}")
    images = data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels, names


def splits(source: Path) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    folder = root(source)
    parts = [load_batch(folder / name) for name in TRAIN_BATCHES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
             [n for p in parts for n in p[2]])
    return {"train": train, "test": load_batch(folder / TEST_BATCH)}


def eval_file_name(name: str) -> str:
    """The official ic01 eval files are named after the CIFAR file name: emu_s_002009.png -> .bin."""
    return f"{Path(name).stem}.bin"
