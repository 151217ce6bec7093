"""Fetching files by URL with a progress bar, resuming a broken transfer, and checking md5."""
from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tinybench.errors import UserError
from tinybench.progress import progress_bar


def digest_of(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file's bytes (hashlib's algorithm names: "md5", "sha256")."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def fetch(url: str, dest: Path, md5: str | None = None, timeout: float = 60.0) -> Path:
    """Download url to dest. A partial file `dest.part` is resumed with an HTTP Range request; the
    final file appears only once complete and (when md5 is given) verified."""
    dest = Path(dest)
    if dest.exists() and (md5 is None or digest_of(dest) == md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already complete
            response = None
        else:
            raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"download of {url} failed: {getattr(exc, 'reason', exc)}; check the "
                        f"network, or fetch the file by hand and pass its folder with --from") from None
    if response is not None:
        with response:
            if have and response.status != 206:  # server ignored the range: start over
                have = 0
            total = response.length + have if response.length is not None else None
            mode = "ab" if have else "wb"
            with open(part, mode) as out, progress_bar(total=total, initial=have, unit="B",
                                                       desc=dest.name) as bar:
                while True:
                    try:
                        block = response.read(1 << 16)
                    except OSError as exc:
                        raise UserError(f"download of {url} broke off ({exc}); run the same "
                                        f"command again to resume") from None
                    if not block:
                        break
                    out.write(block)
                    bar.update(len(block))
    if md5 is not None:
        got = digest_of(part)
        if got != md5:
            part.unlink()
            raise UserError(f"{url}: md5 {got} does not match the expected {md5}; the partial "
                            f"file was removed, run the command again")
    shutil.move(part, dest)
    return dest
