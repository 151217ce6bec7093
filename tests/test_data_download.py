"""`datasets download`: the manifests, fetching with resume from a local HTTP server, checksum
and archive checks, unpacking into the layout `prepare` reads."""
from __future__ import annotations

import hashlib
import http.server
import tarfile
import threading
import zipfile

import pytest

from tinybench.data import prepare, sources, synth
from tinybench.errors import UserError


@pytest.mark.parametrize("bench_id", ["kws01", "vww01", "ic01", "ad01"])
def test_manifests_name_the_official_archives(bench_id):
    archives = sources.manifest(bench_id)
    assert archives and all(a.url.startswith(("http://", "https://")) for a in archives)
    assert all(a.file.endswith((".tar.gz", ".zip")) for a in archives)
    expected = {"kws01": {"speech_commands_v0.02.tar.gz", "speech_commands_test_set_v0.02.tar.gz"},
                "vww01": {"vw_coco2014_96.tar.gz"}, "ic01": {"cifar-10-python.tar.gz"},
                "ad01": {"dev_data_ToyCar.zip", "eval_data_train_ToyCar.zip"}}[bench_id]
    assert {a.file for a in archives} == expected


@pytest.fixture(scope="module")
def cifar_archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    raw = synth.synthesize("ic01", root / "raw", per_class=2, seed=4)
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(raw / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive


def _entry(path, **checks):
    data = path.read_bytes()
    values = dict(md5=hashlib.md5(data).hexdigest(), bytes=len(data))
    values.update(checks)
    return values


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support (the standard handler ignores Range)."""
    ranges: list = []

    def do_GET(self):
        path = self.translate_path(self.path)
        data = open(path, "rb").read()
        start = 0
        header = self.headers.get("Range")
        _RangeHandler.ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(cifar_archive):
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(cifar_archive.parent), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _RangeHandler.ranges = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_resumes_checks_and_unpacks(server, cifar_archive, tmp_path, monkeypatch):
    entry = _entry(cifar_archive)
    monkeypatch.setattr(sources, "manifest", lambda bench_id: [sources.Archive(
        url=f"{server}/{cifar_archive.name}", file=cifar_archive.name, extract_to=".", **entry)])
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    half = cifar_archive.read_bytes()[:entry["bytes"] // 2]
    (downloads / (cifar_archive.name + ".part")).write_bytes(half)  # a broken earlier download

    dest = sources.obtain("ic01", tmp_path / "source", downloads)
    assert _RangeHandler.ranges == [f"bytes={len(half)}-"]  # it resumed instead of starting over
    assert (downloads / cifar_archive.name).read_bytes() == cifar_archive.read_bytes()
    data = prepare.prepare("ic01", dest, tmp_path / "prepared")
    assert data.meta["splits"] == {"train": 20, "test": 40}

    sources.obtain("ic01", dest, downloads)  # unpacked already: nothing fetched again
    assert len(_RangeHandler.ranges) == 1


def test_a_wrong_checksum_removes_the_file(cifar_archive, tmp_path, monkeypatch):
    entry = _entry(cifar_archive, md5=None, sha256="0" * 64)
    monkeypatch.setattr(sources, "manifest", lambda bench_id: [sources.Archive(
        url="http://unused.invalid/", file=cifar_archive.name, extract_to=".", **entry)])
    with pytest.raises(UserError, match="sha256 is not 000"):
        sources.obtain("ic01", tmp_path / "source", tmp_path / "downloads",
                       source=cifar_archive.parent)
    assert not (tmp_path / "downloads" / cifar_archive.name).exists()
    assert not (tmp_path / "source").exists() or not any((tmp_path / "source").iterdir())


def test_a_corrupt_archive_is_reported(tmp_path, monkeypatch):
    broken = tmp_path / "offered" / "dev_data_ToyCar.zip"
    broken.parent.mkdir()
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("ToyCar/train/normal_id_01_00000000.wav", b"x" * 5000)
    data = bytearray(broken.read_bytes())
    data[100:110] = b"corruption"  # inside the stored member: its CRC no longer matches
    broken.write_bytes(bytes(data))
    monkeypatch.setattr(sources, "manifest", lambda bench_id: [sources.Archive(
        url="http://unused.invalid/", file=broken.name, extract_to=".")])
    with pytest.raises(UserError, match="could not unpack"):
        sources.obtain("ad01", tmp_path / "source", tmp_path / "downloads", source=broken.parent)
    assert not (tmp_path / "source" / ".unpacked-dev_data_ToyCar.zip").exists()


def test_cli_download_from_a_folder(cli, cifar_archive, tmp_path, monkeypatch):
    entry = _entry(cifar_archive)
    monkeypatch.setattr(sources, "manifest", lambda bench_id: [sources.Archive(
        url="http://unused.invalid/", file=cifar_archive.name, extract_to=".", **entry)])
    result = cli("datasets", "download", "ic01", "--out", tmp_path / "src", "--downloads",
                 tmp_path / "dl", "--from", cifar_archive.parent)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "src" / "cifar-10-batches-py" / "test_batch").is_file()
    result = cli("datasets", "download", "ic01", "--out", tmp_path / "src2", "--from", tmp_path / "empty")
    assert result.exit_code == 1 and "not found" in result.output
