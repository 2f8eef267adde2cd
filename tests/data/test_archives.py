import io
import zipfile

import pytest

from neuroplastic.data.archives import read_ar_members, read_deb_members, read_tar_members, read_zip_members


def test_ar_reader_handles_odd_sizes_and_padding(make_ar):
    members = {"debian-binary": b"2.0\n", "odd": b"abc", "even": b"abcd"}
    assert read_ar_members(make_ar(members)) == members


def test_ar_reader_refuses_other_files():
    with pytest.raises(ValueError, match="not an ar archive"):
        read_ar_members(b"PK\x03\x04 not an ar file")


def test_ar_reader_reports_truncation(tmp_path, make_ar):
    path = tmp_path / "x.deb"
    path.write_bytes(make_ar({"big": b"x" * 100})[:-20])
    with pytest.raises(ValueError, match="truncated"):
        read_ar_members(path)


def test_deb_reader_reads_data_tar_members(make_deb):
    deb = make_deb({"./usr/share/a.gz": b"A", "./usr/share/b": b"B"})
    assert read_deb_members(deb, ["./usr/share/a.gz"]) == {"./usr/share/a.gz": b"A"}


def test_deb_reader_needs_a_data_tar(make_ar):
    with pytest.raises(ValueError, match="no data.tar"):
        read_deb_members(make_ar({"debian-binary": b"2.0\n"}), ["x"])


def test_tar_reader_keys_members_as_requested(tmp_path, make_tar):
    path = tmp_path / "p.tgz"
    path.write_bytes(make_tar({"package/data/x": b"1", "package/data/y": b"22"}))
    assert read_tar_members(path, ["./package/data/y"]) == {"./package/data/y": b"22"}
    with pytest.raises(ValueError, match=r"lacks member\(s\) \['package/data/z'\]"):
        read_tar_members(path, ["package/data/z"])


def test_zip_reader_reads_wheel_members():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("pkg/data/a.bin", b"\x00\x01")
        zf.writestr("pkg-1.0.dist-info/METADATA", b"Name: pkg")
    assert read_zip_members(buffer.getvalue(), ["pkg/data/a.bin"]) == {"pkg/data/a.bin": b"\x00\x01"}
    with pytest.raises(ValueError, match="lacks member"):
        read_zip_members(buffer.getvalue(), ["missing"])
