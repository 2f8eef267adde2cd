import os
import subprocess
import sys

import pytest

from neuroplastic.cli import main


def test_list_shows_every_experiment(capsys):
    from neuroplastic.experiments import EXPERIMENTS

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, experiment in EXPERIMENTS.items():
        assert name in out and experiment.description in out


def test_describe_lists_keys_and_types(capsys):
    assert main(["describe", "baseline-mlp", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "online_lr: float" in out and "quick config:" in out


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [(["nosuchkey=1"], "unknown key 'nosuchkey'"), (["online_lr=abc"], "bad value for online_lr (float)")],
)
def test_bad_set_fails_fast_with_valid_keys(tmp_path, capsys, overrides, expected):
    args = ["run", "baseline-mlp", "--out", str(tmp_path / "r")]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and "valid keys and types" in err and "hidden: comma-separated list of int" in err
    assert not (tmp_path / "r").exists()  # failed before any work started


def test_unknown_experiment_lists_registered(capsys):
    assert main(["run", "nope"]) == 2
    assert "registered: baseline-mlp" in capsys.readouterr().err


def test_console_script_exit_code():
    result = subprocess.run(
        [sys.executable, "-m", "neuroplastic", "run", "baseline-mlp", "--set", "lr=abc"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "unknown key 'lr'" in result.stderr


def test_version_prints_the_package_version(capsys):
    from neuroplastic import __version__

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"neuroplastic {__version__}"


@pytest.mark.parametrize("argv", [["--quiet", "list"], ["list", "--quiet"], ["data", "list", "--quiet"]])
def test_quiet_is_accepted_before_or_after_the_subcommand(argv, monkeypatch):
    calls = []
    monkeypatch.setattr("neuroplastic.cli.set_quiet", calls.append)
    assert main(argv) == 0
    assert calls == [True]


def test_importing_the_library_leaves_the_plotting_backend_alone():
    """A notebook's backend survives importing the experiments and the run machinery."""
    code = (
        "import matplotlib; matplotlib.use('template'); "
        "import neuroplastic.experiments, neuroplastic.runs, neuroplastic.runs.figures; "
        "print(matplotlib.get_backend())"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "template"


def test_a_misspelt_experiment_gets_one_line_with_the_closest_name(capsys):
    assert main(["run", "reservoir-lesion", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "did you mean 'reservoir-lesions'?" in err
