"""`tinybench datasets download`: fetch the official archives of a benchmark's dataset (URLs and
checksums in the manifests `datasets/<bench>.yaml`), check them, and unpack them into the layout
`tinybench datasets prepare` reads. Downloads resume after a break (tinybench.download.fetch).
"""
from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from tinybench import benchmarks
from tinybench.download import digest_of, fetch
from tinybench.errors import UserError
from tinybench.progress import progress_bar

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "datasets"
DOWNLOADS = Path("datasets") / "downloads"


@dataclass(frozen=True)
class Archive:
    url: str
    file: str
    extract_to: str
    md5: str | None = None
    sha256: str | None = None
    bytes: int | None = None


def manifest(bench_id: str) -> list[Archive]:
    bench = benchmarks.get(bench_id)
    path = MANIFEST_DIR / f"{bench.id}.yaml"
    if not path.is_file():
        raise UserError(f"{path}: the dataset manifest is missing; it ships with tinybench's "
                        f"source tree (datasets/{bench.id}.yaml)")
    try:
        entries = yaml.safe_load(path.read_text())["archives"]
        return [Archive(url=e["url"], file=e.get("file") or Path(urlparse(e["url"]).path).name,
                        extract_to=e.get("extract_to", "."), md5=e.get("md5"),
                        sha256=e.get("sha256"), bytes=e.get("bytes")) for e in entries]
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a valid manifest ({exc})") from None


def verify(archive: Archive, path: Path) -> None:
    """Size, md5 and sha256 as far as the manifest records them; a file that fails is removed."""
    problem = None
    if archive.bytes is not None and path.stat().st_size != archive.bytes:
        problem = f"{path.stat().st_size} bytes instead of {archive.bytes}"
    elif archive.md5 and digest_of(path, "md5") != archive.md5:
        problem = f"md5 is not {archive.md5}"
    elif archive.sha256 and digest_of(path, "sha256") != archive.sha256:
        problem = f"sha256 is not {archive.sha256}"
    if problem:
        path.unlink()
        raise UserError(f"{path}: {problem}, so it is not the published {archive.file}; it was "
                        f"removed, run the command again (if the publisher changed the file, check "
                        f"it and update the manifest)")


def _extract(archive_path: Path, into: Path) -> None:
    """Unpack into `into`, with a progress bar over the archive's bytes. Corrupt archives (bad gzip
    or zip CRC) raise a UserError."""
    size = archive_path.stat().st_size
    try:
        with progress_bar(total=size, desc=f"unpack {archive_path.name}", unit="B") as bar:
            if zipfile.is_zipfile(archive_path):
                with zipfile.ZipFile(archive_path) as zf:
                    members = zf.infolist()
                    for member in members:
                        zf.extract(member, into)
                        bar.update(member.compress_size)
            else:
                with open(archive_path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
                    done = 0
                    for member in tar:
                        tar.extract(member, into, filter="data")
                        bar.update(raw.tell() - done)
                        done = raw.tell()
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise UserError(f"{archive_path}: could not unpack ({exc}); delete it and download "
                        f"again") from None


def _merge(partial: Path, target: Path) -> None:
    """Move everything from partial into target, merging folders (two ToyCar archives share
    ToyCar/train/)."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in partial.iterdir():
        dest = target / entry.name
        if entry.is_dir() and dest.is_dir():
            _merge(entry, dest)
        else:
            if dest.is_dir():
                shutil.rmtree(dest)
            os.replace(entry, dest)
    partial.rmdir()


def obtain(bench_id: str, dest: Path, downloads: Path = DOWNLOADS,
           source: Path | None = None) -> Path:
    """Fetch (or copy from the folder `source`) every archive of the benchmark's dataset into
    `downloads`, check it, and unpack it under `dest`. Archives already unpacked (a marker file
    records it) are skipped. Returns dest, the folder to give `datasets prepare --source`."""
    dest, downloads = Path(dest), Path(downloads)
    for archive in manifest(bench_id):
        marker = dest / f".unpacked-{archive.file}"
        if marker.exists():
            continue
        path = downloads / archive.file
        if source is not None:
            found = Path(source) / archive.file
            if not found.is_file():
                raise UserError(f"{found}: not found; --from must be a folder holding {archive.file}")
            downloads.mkdir(parents=True, exist_ok=True)
            if found.resolve() != path.resolve():
                shutil.copyfile(found, path)
        else:
            fetch(archive.url, path, md5=archive.md5)
        verify(archive, path)
        partial = dest / f".partial-{archive.file}"
        if partial.exists():
            shutil.rmtree(partial)
        _extract(path, partial)
        _merge(partial, dest / archive.extract_to)
        marker.write_text(f"{archive.url}\n")
    return dest
