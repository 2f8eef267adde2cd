import importlib
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from neuroplastic.data import ChecksumError, DataUnavailableError, cached, fetch, load
from neuroplastic.data import sources as manifest
from neuroplastic.data.checksums import hash_bytes
from neuroplastic.data.errors import BadFileError, SourceFailed
from neuroplastic.data.idx import idx_bytes
from neuroplastic.data.layouts import IdxLayout
from neuroplastic.data.providers import Provided, Request
from neuroplastic.data.transfer import DEFAULT_TIMEOUT_S

fetch_module = importlib.import_module("neuroplastic.data.fetch")  # the package exports the function as `fetch`
SPLITS = {"train": ("tr-img", "tr-lab"), "test": ("te-img", "te-lab")}


def tiny_files(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "tr-img": idx_bytes(rng.integers(0, 256, (12, 4, 4), dtype=np.uint8)),
        "tr-lab": idx_bytes(np.arange(12, dtype=np.uint8) % 3),
        "te-img": idx_bytes(rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)),
        "te-lab": idx_bytes(np.arange(6, dtype=np.uint8) % 3),
    }


GOOD = tiny_files()


@dataclass
class FakeSource:
    label: str
    files: dict = field(default_factory=lambda: dict(GOOD))
    fail: Exception | None = None
    calls: int = 0

    def provide(self, request: Request) -> Provided:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return Provided(dict(self.files), self.label, {"fake": True})

    def manual_hint(self, request: Request) -> str:
        return f"hand over the {self.label} files"


def register(monkeypatch, *sources, pinned=True, counts=None):
    spec = manifest.DatasetSpec(
        name="tiny",
        n_classes=3,
        layout=IdxLayout(SPLITS, image_shape=(4, 4)),
        counts=counts or {"train": 12, "test": 6},
        sha256={name: hash_bytes(data) for name, data in GOOD.items()} if pinned else {},
        sources=sources,
    )
    monkeypatch.setitem(manifest.DATASETS, "tiny", spec)
    return spec


def test_cold_fetch_writes_raw_files_and_record(cache, monkeypatch):
    source = FakeSource("fake:a")
    register(monkeypatch, source)
    prov = fetch("tiny")
    assert prov["source"] == prov["origin"] == "fake:a"
    for name, data in GOOD.items():
        assert (cache / "tiny" / "raw" / name).read_bytes() == data
        assert prov["files"][name] == {
            "sha256": hash_bytes(data),
            "size": len(data),
            "path": str(cache / "tiny/raw" / name),
        }
    record = json.loads((cache / "tiny" / "source.json").read_text())
    assert record["source"] == "fake:a" and record["details"] == {"fake": True}
    assert not [p for p in (cache / "tiny").rglob("*.tmp")]


def test_warm_fetch_uses_the_cache(cache, monkeypatch):
    source = FakeSource("fake:a")
    register(monkeypatch, source)
    first = fetch("tiny")
    second = fetch("tiny")
    assert source.calls == 1
    assert second["source"] == "cache" and second["origin"] == "fake:a" and second["time"] == first["time"]
    fetch("tiny", force=True)
    assert source.calls == 2


@pytest.mark.parametrize("pinned", [True, False])
def test_corrupt_cached_file_is_detected_and_fetched_again(cache, monkeypatch, pinned):
    source = FakeSource("fake:a")
    register(monkeypatch, source, pinned=pinned)
    fetch("tiny")
    path = cache / "tiny" / "raw" / "tr-img"
    data = bytearray(path.read_bytes())
    data[20] ^= 0xFF
    path.write_bytes(bytes(data))
    prov = fetch("tiny")
    assert source.calls == 2 and prov["source"] == "fake:a"
    assert path.read_bytes() == GOOD["tr-img"]


def test_wrong_content_is_a_checksum_error_and_the_next_source_serves(cache, monkeypatch):
    bad = dict(GOOD, **{"te-lab": idx_bytes(np.zeros(6, dtype=np.uint8))})
    first, second = FakeSource("fake:bad", files=bad), FakeSource("fake:good")
    register(monkeypatch, first, second)
    assert fetch("tiny")["source"] == "fake:good"
    assert first.calls == second.calls == 1


def test_all_sources_failing_lists_reasons_and_manual_steps(cache, monkeypatch):
    bad = dict(GOOD, **{"te-lab": idx_bytes(np.zeros(6, dtype=np.uint8))})
    register(
        monkeypatch, FakeSource("fake:bad", files=bad), FakeSource("fake:gone", fail=SourceFailed("npm not found"))
    )
    with pytest.raises(DataUnavailableError) as info:
        fetch("tiny")
    message = str(info.value)
    assert "fake:bad: ChecksumError" in message and "te-lab" in message
    assert "fake:gone: SourceFailed: npm not found" in message
    assert "hand over the fake:gone files" in message
    assert f"tr-img, tr-lab, te-img, te-lab (SHA-256 checked) in {cache / 'tiny' / 'raw'}" in message
    assert not (cache / "tiny" / "source.json").exists()


def test_checksum_error_carries_expected_and_actual(cache, monkeypatch):
    bad = dict(GOOD, **{"tr-lab": b"\x00\x00\x08\x01\x00\x00\x00\x00"})
    register(monkeypatch, FakeSource("fake:bad", files=bad))
    with pytest.raises(DataUnavailableError, match="sha256 mismatch"):
        fetch("tiny")
    err = ChecksumError("x", "sha256", "aa", "bb")
    assert (err.expected, err.actual) == ("aa", "bb") and "expected aa, got bb" in str(err)


def test_unpinned_files_are_checked_by_counts(cache, monkeypatch):
    register(monkeypatch, FakeSource("fake:a"), pinned=False, counts={"train": 13, "test": 6})
    with pytest.raises(DataUnavailableError, match="expected 13 samples, found 12"):
        fetch("tiny")


def test_missing_file_from_a_source_is_reported(cache, monkeypatch):
    partial = {k: v for k, v in GOOD.items() if k != "te-img"}
    register(monkeypatch, FakeSource("fake:partial", files=partial))
    with pytest.raises(DataUnavailableError, match="did not provide te-img"):
        fetch("tiny")


def test_files_placed_by_hand_are_accepted_when_pinned(cache, monkeypatch):
    source = FakeSource("fake:a")
    register(monkeypatch, source)
    for name, data in GOOD.items():
        (cache / "tiny" / "raw").mkdir(parents=True, exist_ok=True)
        (cache / "tiny" / "raw" / name).write_bytes(data)
    prov = fetch("tiny")
    assert source.calls == 0 and prov["origin"] == f"manual:{cache / 'tiny' / 'raw'}"


def test_load_returns_uint8_images_and_int64_labels(cache, monkeypatch):
    register(monkeypatch, FakeSource("fake:a"))
    test = load("tiny", "test")
    assert test.images.dtype == torch.uint8 and test.images.shape == (6, 4, 4)
    assert test.labels.dtype == torch.int64 and test.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert (test.name, test.split, test.n_classes) == ("tiny", "test", 3)
    assert test.provenance["split"] == "test" and test.provenance["source"] == "fake:a"
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load("tiny", "valid")


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(ValueError, match="known datasets: mnist, fashion_mnist, emnist_balanced, cifar10"):
        fetch("imagenet")


def test_cached_lists_every_dataset(cache, monkeypatch):
    register(monkeypatch, FakeSource("fake:a"))
    fetch("tiny")
    rows = {row["dataset"]: row for row in cached()}
    assert {"mnist", "fashion_mnist", "emnist_balanced", "cifar10"} <= set(rows)
    assert rows["mnist"]["cached"] is False and rows["mnist"]["source"] is None
    assert rows["tiny"]["cached"] is True and rows["tiny"]["source"] == "fake:a"
    assert rows["tiny"]["size_bytes"] == sum(len(d) for d in GOOD.values())
    assert rows["tiny"]["path"] == str(cache / "tiny")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{broken", "not valid JSON (Expecting property name"),
        (b"\xff\xfe", "not valid JSON ("),
        ('["a list"]', "not a cache record"),
        ('{"source": "fake:a", "files": {"tr-img": 3}}', "not a cache record"),
    ],
)
def test_damaged_cache_record_names_the_file_and_what_to_do(cache, monkeypatch, content, problem):
    source = FakeSource("fake:a")
    register(monkeypatch, source, pinned=False)
    fetch("tiny")
    record = cache / "tiny" / "source.json"
    record.write_bytes(content.encode() if isinstance(content, str) else content)
    for call in (lambda: fetch("tiny"), cached):
        with pytest.raises(BadFileError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"{record}: {problem}") and "\n" not in message
        assert message.endswith("delete it, or run `neuroplastic data fetch tiny --force` to fetch tiny again")
    assert source.calls == 1
    assert fetch("tiny", force=True)["source"] == "fake:a" and fetch("tiny")["source"] == "cache"


def test_each_source_tried_is_announced_on_stderr(cache, monkeypatch, capsys):
    bad = dict(GOOD, **{"te-lab": idx_bytes(np.zeros(6, dtype=np.uint8))})
    register(monkeypatch, FakeSource("fake:bad", files=bad), FakeSource("fake:good"))
    monkeypatch.setattr(fetch_module, "progress_enabled", lambda progress: progress)
    fetch("tiny", progress=False)
    assert capsys.readouterr().err == ""
    fetch("tiny", force=True)
    assert capsys.readouterr().err.splitlines() == ["tiny: trying fake:bad", "tiny: trying fake:good"]
    fetch("tiny")  # from the cache: nothing is tried
    assert capsys.readouterr().err == ""


@dataclass
class TimeoutRecorder:
    label: str = "fake:record"
    timeouts: list = field(default_factory=list)

    def provide(self, request: Request) -> Provided:
        self.timeouts.append(request.timeout_s)
        return Provided(dict(GOOD), self.label)

    def manual_hint(self, request: Request) -> str:
        return "none"


def test_network_timeout_comes_from_the_environment(cache, monkeypatch):
    source = TimeoutRecorder()
    register(monkeypatch, source)
    monkeypatch.delenv("NEUROPLASTIC_NET_TIMEOUT", raising=False)
    fetch("tiny", force=True)
    monkeypatch.setenv("NEUROPLASTIC_NET_TIMEOUT", "2.5")
    fetch("tiny", force=True)
    assert source.timeouts == [DEFAULT_TIMEOUT_S, 2.5]
    for bad in ("soon", "0", "-1", "nan", "inf"):
        monkeypatch.setenv("NEUROPLASTIC_NET_TIMEOUT", bad)
        with pytest.raises(ValueError, match=rf"\$NEUROPLASTIC_NET_TIMEOUT='{bad}' is not a positive number"):
            fetch("tiny", force=True)
    assert len(source.timeouts) == 2
