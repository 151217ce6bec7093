"""The official int8 reference models of MLPerf Tiny: download by URL or copy from a folder, always
checked against the published md5."""
from __future__ import annotations

import shutil
from pathlib import Path

from tinybench import benchmarks
from tinybench.download import digest_of, fetch
from tinybench.errors import UserError

DEFAULT_DIR = Path("models") / "reference"


def model_path(bench_id: str, folder: Path = DEFAULT_DIR) -> Path:
    return Path(folder) / f"{bench_id}.tflite"


def obtain(bench_ids: list[str], dest: Path = DEFAULT_DIR, source: Path | None = None) -> list[Path]:
    """Put the official models of the given benchmarks into dest, from source (a folder holding
    `<id>.tflite` or the upstream file names) or else by URL; each is md5-checked."""
    paths = []
    for bench_id in bench_ids:
        bench = benchmarks.get(bench_id)
        target = model_path(bench_id, dest)
        if source is None:
            fetch(bench.official_model_url, target, md5=bench.official_model_md5)
        else:
            candidates = [Path(source) / f"{bench_id}.tflite",
                          Path(source) / Path(bench.official_model_path).name]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise UserError(f"{source}: no {candidates[0].name} or {candidates[1].name} in "
                                f"this folder")
            got = digest_of(found)
            if got != bench.official_model_md5:
                raise UserError(f"{found}: md5 {got} is not the official {bench_id} model's "
                                f"({bench.official_model_md5})")
            target.parent.mkdir(parents=True, exist_ok=True)
            if found.resolve() != target.resolve():
                shutil.copyfile(found, target)
        paths.append(target)
    return paths
