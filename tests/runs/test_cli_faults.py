"""User errors and faults through the command line: one line on stderr and exit 2, nothing written half.

Each case is what a user (or a full disk, or Ctrl-C) can do to `neuroplastic run`; the checks are on the exit
code, the one line of stderr and the files left behind, never on timing.
"""

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from neuroplastic.cli import main
from neuroplastic.runs.folder import RunDir

HERE = Path(__file__).parent
STEPPED = "gated_experiment:STEPPED"
GATED = "gated_experiment:EXPERIMENT"


@pytest.fixture(autouse=True)
def test_experiments_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def one_line_error(capsys, code, *needles):
    """The command's exit code is 2 and its stderr one line, without a traceback, containing every needle."""
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_an_empty_out_is_refused_and_the_current_folder_is_untouched(tmp_path, monkeypatch, capsys):
    (tmp_path / "report.md").write_text("my own report")
    (tmp_path / "metrics.jsonl").write_text('{"mine": 1}\n')
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, main(["run", STEPPED, "--out", ""]), "--out is empty")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("command", ["run", "reproduce", "sweep"])
def test_a_foreign_non_empty_folder_is_refused_with_nothing_written(tmp_path, capsys, command):
    (tmp_path / "notes.txt").write_text("a user's folder")
    before = tree(tmp_path)
    args = {"run": ["run", STEPPED], "reproduce": ["reproduce", "--quick"], "sweep": ["sweep", STEPPED]}[command]
    one_line_error(capsys, main([*args, "--out", str(tmp_path)]), "is not empty (notes.txt)", "give a new or empty")
    assert tree(tmp_path) == before and not (tmp_path / ".lock").exists()


def test_an_out_that_is_a_file_or_under_a_file_is_refused(tmp_path, capsys):
    file = tmp_path / "a-file"
    file.write_text("x")
    one_line_error(capsys, main(["run", STEPPED, "--out", str(file)]), "is a file, not a folder")
    one_line_error(capsys, main(["run", STEPPED, "--out", str(file / "run")]), f"{file} is a file, not a folder")
    assert file.read_text() == "x"


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_an_unwritable_out_is_one_line(tmp_path, capsys, monkeypatch, code):
    def refuse(self, *args, **kwargs):  # root ignores permission bits, so the refusal is injected
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    one_line_error(capsys, main(["run", STEPPED, "--out", str(tmp_path / "r")]), os.strerror(code), "--out")


def test_a_full_disk_stops_with_one_line_and_the_rerun_resumes_to_the_same_result(tmp_path, capsys, monkeypatch):
    import neuroplastic.runs.folder as folder

    whole = tmp_path / "whole"
    assert main(["run", STEPPED, "--set", "steps=6", "--out", str(whole)]) == 0
    real_write, calls = folder.atomic_write_bytes, []

    def disk_fills_at_the_fourth_checkpoint(path, data):
        calls.append(path)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, data)

    monkeypatch.setattr(folder, "atomic_write_bytes", disk_fills_at_the_fourth_checkpoint)
    resumed = tmp_path / "resumed"
    args = ["run", STEPPED, "--set", "steps=6", "--out", str(resumed)]
    capsys.readouterr()
    one_line_error(capsys, main(args), "No space left on device", "rerun the same command to resume")
    assert not list(resumed.glob(".*.tmp")) and not (resumed / "results.json").exists()
    monkeypatch.setattr(folder, "atomic_write_bytes", real_write)
    assert main(args) == 0
    assert RunDir(resumed).read_results()["total"] == RunDir(whole).read_results()["total"]
    assert RunDir(resumed).metrics() == RunDir(whole).metrics()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--device", "tpu"], "device 'tpu' is not one of cpu, cuda, cuda:N, mps"),
        (["--device", "gpu"], "device 'gpu' is not one of"),
        (["--set", "device="], "device '' is not one of"),
        (["--set", "device=cpu=1"], "device 'cpu=1' is not one of"),
        (["--set", "seed=-1"], "seed must be an integer in [0, 2**63)"),
        (["--seed", str(2**70)], "seed must be an integer in [0, 2**63)"),
        (["--set", "step_s=1e300"], "step_s must be a finite number within ±3.4e+38"),
        (["--set", "step_s=nan"], "step_s must be a finite number"),
        (["--set", "threads=0"], "threads must be between 1 and 1024"),
    ],
)
def test_bad_values_are_refused_before_the_run_folder_exists(tmp_path, capsys, args, needle):
    one_line_error(capsys, main(["run", STEPPED, *args, "--out", str(tmp_path / "r")]), needle)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "steps=2", "--set", "steps=3"], "steps is given twice ('steps=2' and 'steps=3')"),
        (["--seed", "3", "--set", "seed=4"], "--seed 3 and --set seed=4 both give seed"),
        (["--device", "cpu", "--set", "device=cpu"], "--device cpu and --set device=cpu both give device"),
    ],
)
def test_a_key_given_twice_is_refused(tmp_path, capsys, args, needle):
    assert main(["run", STEPPED, *args, "--out", str(tmp_path / "r")]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_misspelt_key_gets_a_suggestion(tmp_path, capsys):
    assert main(["run", STEPPED, "--set", "stesp=2", "--out", str(tmp_path / "r")]) == 2
    assert "unknown key 'stesp' (did you mean 'steps'?)" in capsys.readouterr().err


def prepared(tmp_path: Path) -> Path:
    """A run folder of STEPPED whose results.json is gone, as if it had been killed before the end."""
    path = tmp_path / "r"
    assert main(["run", STEPPED, "--out", str(path)]) == 0
    (path / "results.json").unlink()
    return path


def test_a_truncated_checkpoint_is_named_with_how_to_start_over(tmp_path, capsys):
    path = prepared(tmp_path)
    payload = {"state": {"step": 3, "total": torch.tensor(1.0, dtype=torch.float64)}, "metrics_lines": 3}
    torch.save(payload, path / "checkpoint.pt")
    (path / "checkpoint.pt").write_bytes((path / "checkpoint.pt").read_bytes()[:100])
    capsys.readouterr()
    one_line_error(
        capsys, main(["run", STEPPED, "--out", str(path)]), "checkpoint.pt is damaged", "start this run over"
    )


def test_a_checkpoint_of_an_older_layout_is_named_with_how_to_start_over(tmp_path, capsys):
    path = prepared(tmp_path)
    payload = {"state": {"step": 3, "total": torch.tensor(1.0, dtype=torch.float64)}, "metrics_lines": 3}
    torch.save(payload, path / "checkpoint.pt")
    capsys.readouterr()
    one_line_error(capsys, main(["run", STEPPED, "--out", str(path)]), "holds no resume ledger", "start this run over")
    (path / "checkpoint.pt").unlink()
    assert main(["run", STEPPED, "--out", str(path)]) == 0


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_hostile_checkpoint_is_not_loaded_and_is_called_untrusted(tmp_path, capsys):
    path = prepared(tmp_path)
    torch.save({"state": Payload(), "metrics_lines": 0}, path / "checkpoint.pt")
    capsys.readouterr()
    err = one_line_error(capsys, main(["run", STEPPED, "--out", str(path)]), "not trusted and was not loaded")
    assert "weights_only" not in err and "pwned" not in err


@pytest.mark.parametrize("text", ["experiment: [unclosed", "- a\n- list\n", "\xff\xfe"])
def test_a_damaged_config_yaml_is_named(tmp_path, capsys, text):
    path = prepared(tmp_path)
    (path / "config.yaml").write_bytes(text.encode("latin-1"))
    capsys.readouterr()
    one_line_error(capsys, main(["run", STEPPED, "--out", str(path)]), f"{path / 'config.yaml'}")


def test_a_damaged_results_json_is_named(tmp_path, capsys):
    path = tmp_path / "r"
    assert main(["run", STEPPED, "--out", str(path)]) == 0
    (path / "results.json").write_text('{"steps": 5, "tot')
    capsys.readouterr()
    one_line_error(capsys, main(["run", STEPPED, "--out", str(path)]), f"{path / 'results.json'} is damaged")


def test_ctrl_c_says_how_to_resume_and_the_rerun_resumes(tmp_path, capsys):
    whole, path = tmp_path / "whole", tmp_path / "r"
    assert main(["run", STEPPED, "--out", str(whole)]) == 0
    capsys.readouterr()
    assert main(["run", STEPPED, "--set", "interrupt_at=3", "--out", str(path)]) == 130
    assert capsys.readouterr().err.strip() == "neuroplastic: interrupted; rerun the same command to resume"
    assert not (path / "error.json").exists()  # an interruption is not a failure
    config = yaml.safe_load((path / "config.yaml").read_text())
    (path / "config.yaml").write_text(yaml.safe_dump({**config, "interrupt_at": -1}, sort_keys=False))
    assert main(["run", STEPPED, "--out", str(path)]) == 0  # the same run, now left alone
    assert RunDir(path).read_results()["total"] == RunDir(whole).read_results()["total"]


def test_a_kill_after_results_json_is_completed_by_the_rerun(tmp_path, capsys):
    path = tmp_path / "r"
    assert main(["run", STEPPED, "--out", str(path)]) == 0
    report = (path / "report.md").read_text()
    (path / "report.md").unlink()
    torch.save({"state": {}, "metrics_lines": 0}, path / "checkpoint.pt")  # as if killed before its removal
    (path / ".metrics.jsonl.x1y2.tmp").write_text("half a write")  # a write the kill interrupted
    assert main(["run", STEPPED, "--out", str(path)]) == 0
    assert "already finished; skipped" in capsys.readouterr().out
    assert (path / "report.md").read_text() == report
    assert not (path / "checkpoint.pt").exists() and not list(path.glob(".*.tmp"))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "neuroplastic", "--quiet", *args]


def test_a_second_run_of_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    gate, out = tmp_path / "gate", tmp_path / "r"
    args = cli("run", GATED, "--set", f"gate={gate}", "--out", str(out))
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300  # a guard against a hang only
        while len(RunDir(out).metrics()) < 3:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"being run right now by process {first.pid}" in lines[0], second.stderr
        gate.touch()
        assert first.wait(timeout=300) == 0
    finally:
        first.kill()
    assert [m["step"] for m in RunDir(out).metrics()] == [0, 1, 2]  # one run's lines, once, in order
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already finished; skipped" in again.stdout


def test_the_run_folder_records_the_thread_count_it_ran_on(tmp_path):
    path = tmp_path / "r"
    assert main(["run", STEPPED, "--set", "threads=2", "--out", str(path)]) == 0
    assert yaml.safe_load((path / "config.yaml").read_text())["threads"] == 2
    assert json.loads((path / "environment.json").read_text())["torch_threads"] == 2


@pytest.mark.parametrize(
    ("experiment", "setting"),
    [
        ("baseline-mlp", "hidden=0"),
        ("oja-online", "hidden=0"),
        ("fa-online", "hidden=0"),
        ("meta-plasticity", "hidden=0"),
        ("fixedpoint-mnist", "n=0"),
        ("pc-train", "n=0"),
        ("reservoir-motor", "n=0"),
        ("reservoir-lesions", "n=0"),
    ],
)
def test_out_of_range_sizes_are_refused_before_the_run_folder_exists(tmp_path, capsys, experiment, setting):
    code = main(["run", experiment, "--quick", "--set", setting, "--out", str(tmp_path / "r")])
    one_line_error(capsys, code, "invalid config for")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", ['{"experiment": "x", "gri', '["not", "a", "plan"]'])
def test_a_damaged_sweep_plan_is_named(tmp_path, capsys, text):
    (tmp_path / "sweep.json").write_text(text)
    one_line_error(capsys, main(["sweep", "--status", str(tmp_path)]), f"{tmp_path / 'sweep.json'}")


@pytest.mark.parametrize(("device", "needle"), [("tpu", "is not one of"), ("mps", "MPS is not available here")])
def test_reproduce_checks_the_device_before_anything_is_written(tmp_path, capsys, device, needle):
    one_line_error(capsys, main(["reproduce", "--quick", "--device", device, "--out", str(tmp_path / "r")]), needle)
    assert not (tmp_path / "r").exists()
