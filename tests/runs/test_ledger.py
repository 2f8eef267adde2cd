"""Oracle: the values written, compared bit for bit after a fresh load from disk, and for resuming, the same
computation run without interruption (a float64 sum of seeded draws, in step order)."""

import os

import pytest
import torch

from neuroplastic.core.seeding import make_generator
from neuroplastic.runs.errors import RunFolderDamaged
from neuroplastic.runs.experiment import ExperimentConfig
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger


@pytest.fixture
def run_dir(tmp_path):
    return RunDir.prepare(tmp_path, experiment="toy", config=ExperimentConfig())


def test_recorded_values_come_back_exactly_in_order(run_dir):
    weights = torch.randn(4, 3, dtype=torch.float64, generator=make_generator(0, 0))
    values = {
        ("mnist", "online"): {"accuracy": 0.1 + 0.2, "curve": [[0, 2.5, 0.1]], "none": None, "nan": float("nan")},
        ("weights", "mnist", 3): {"W": weights},
        ("lr", 0.001): [1, "two", (3.0, 4)],
    }
    ledger = Ledger.load(run_dir)
    for key, value in values.items():
        assert ledger.record(key, value) is value

    loaded = Ledger.load(RunDir(run_dir.path))
    assert list(loaded) == list(values) and len(loaded) == 3
    first = loaded["mnist", "online"]
    assert first["accuracy"] == 0.30000000000000004 and first["curve"] == [[0, 2.5, 0.1]] and first["none"] is None
    assert first["nan"] != first["nan"]
    restored = loaded["weights", "mnist", 3]["W"]
    assert restored.dtype == torch.float64 and torch.equal(restored, weights)
    assert loaded.get(("lr", 0.001)) == [1, "two", (3.0, 4)] and loaded.get(("lr", 0.01)) is None
    assert [key for key, _ in loaded.items()] == list(values)


def test_keys_with_a_slash_stay_apart_from_the_keys_it_would_split_into(run_dir):
    ledger = Ledger.load(run_dir)
    ledger.record(("a/b",), 1)
    ledger.record(("a", "b"), 2)
    ledger.record(("a", "1"), 3)
    ledger.record(("a", 1), 4)
    loaded = Ledger.load(RunDir(run_dir.path))
    assert [loaded["a/b",], loaded["a", "b"], loaded["a", "1"], loaded["a", 1]] == [1, 2, 3, 4]
    assert ("a",) not in loaded and ("a", "b", "c") not in loaded


@pytest.mark.parametrize("key", ["mnist/online", ("mnist", ["online"]), (), ("seed", True), ("w", torch.ones(1))])
def test_a_key_that_is_not_a_tuple_of_strings_and_numbers_is_refused(run_dir, key):
    with pytest.raises(TypeError, match="non-empty tuple of strings and numbers"):
        Ledger.load(run_dir).record(key, 0)
    assert not run_dir.checkpoint_file.exists()


def test_progress_belongs_to_one_part_and_goes_when_that_part_is_recorded(run_dir):
    ledger = Ledger.load(run_dir)
    ledger.save_partial(("control",), {"trial": 1})
    ledger.save_partial(("control",), {"trial": 2})
    assert Ledger.load(RunDir(run_dir.path)).partial(("control",)) == {"trial": 2}
    assert ledger.partial(("lesion",)) is None

    ledger.record(("other",), 0)  # another part's record keeps the progress
    assert Ledger.load(RunDir(run_dir.path)).partial(("control",)) == {"trial": 2}
    ledger.record(("control",), "done")
    loaded = Ledger.load(RunDir(run_dir.path))
    assert loaded.partial(("control",)) is None and loaded["control",] == "done"

    ledger.save_partial(("a",), 1)
    ledger.save_partial(("b",), 2)  # one part is in progress at a time
    assert ledger.partial(("a",)) is None and ledger.partial(("b",)) == 2


def test_a_crash_while_saving_leaves_the_previous_ledger(run_dir, monkeypatch):
    ledger = Ledger.load(run_dir)
    ledger.record(("first",), torch.arange(3, dtype=torch.float64))

    def power_cut(fd):
        raise KeyboardInterrupt  # the new ledger is written to a temporary file but never renamed onto the old

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(KeyboardInterrupt):
        ledger.record(("second",), torch.ones(2))
    monkeypatch.undo()
    loaded = Ledger.load(RunDir(run_dir.path))
    assert list(loaded) == [("first",)] and torch.equal(loaded["first",], torch.arange(3, dtype=torch.float64))
    assert not list(run_dir.path.glob(".*.tmp"))


def _stepped_sum(run_dir: RunDir, steps: int, kill_at: int | None = None) -> torch.Tensor:
    """Σ of one seeded float64 draw per step, each step a ledger entry, with a kill before step ``kill_at``."""
    ledger = Ledger.load(run_dir)
    for step in range(steps):
        if (step,) in ledger:
            continue
        if step == kill_at:
            raise KeyboardInterrupt
        value = torch.rand((), dtype=torch.float64, generator=make_generator(7, step))
        run_dir.log(step=step)
        ledger.record((step,), value)
    return sum((ledger[step,] for step in range(steps)), torch.zeros((), dtype=torch.float64))


def test_a_killed_computation_resumes_to_the_uninterrupted_result(tmp_path):
    whole = RunDir.prepare(tmp_path / "whole", experiment="toy", config=ExperimentConfig())
    killed = RunDir.prepare(tmp_path / "killed", experiment="toy", config=ExperimentConfig())
    with pytest.raises(KeyboardInterrupt):
        _stepped_sum(killed, 6, kill_at=4)
    killed.log(step="logged after the last save")  # dropped on resume: the ledger does not cover it
    expected = torch.zeros((), dtype=torch.float64)
    for step in range(6):
        expected = expected + torch.rand((), dtype=torch.float64, generator=make_generator(7, step))
    assert torch.equal(_stepped_sum(RunDir(killed.path), 6), expected)
    assert torch.equal(_stepped_sum(whole, 6), expected)
    assert [m["step"] for m in killed.metrics()] == list(range(6))


def test_a_checkpoint_without_a_ledger_is_refused_with_how_to_start_over(run_dir):
    run_dir.save_checkpoint({"completed": {"mnist/online": {}}})  # an older layout
    with pytest.raises(RunFolderDamaged, match=r"holds no resume ledger.*rm .*checkpoint\.pt"):
        Ledger.load(RunDir(run_dir.path))
