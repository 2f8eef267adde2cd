"""Fault injection against `neuroplastic run`: kills, kills inside writes, a full disk and concurrent runs.

    python tests/faults/run_faults.py [--keep DIR]

For each of two experiments (baseline-mlp on a small MNIST subset, reservoir-motor's quick variant) an
uninterrupted run gives the reference. Each case then injects its fault into a fresh run folder, reruns the same
command until it finishes, and compares results.json and metrics.jsonl with the reference (wall-clock fields
aside). The faults are placed deterministically (the N-th checkpoint, the N-th atomic write), never by timing.
It prints one table row per case: what happened, and whether any data was lost or differs. Takes a few minutes;
the full-disk case needs root (a small tmpfs) and says so when it cannot run. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENTS = {
    "baseline-mlp": [
        "--set", "datasets=mnist", "--set", "hidden=32", "--set", "epochs=2", "--set", "train_subset=1500",
        "--set", "test_subset=300", "--set", "eval_every=300", "--set", "batch_size=50",
    ],
    "reservoir-motor": ["--quick"],
}  # fmt: skip

HOOK = r"""
import json, os, signal, sys
fault = json.loads(os.environ["NP_FAULT"])
count = {"n": 0}

def die():
    sys.stdout.flush(); sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)

if fault["kind"] == "kill_after_replace":      # SIGKILL right after the N-th rename onto a file of this name
    real = os.replace
    def replace(src, dst, *a, **k):
        real(src, dst, *a, **k)
        if os.path.basename(str(dst)) == fault["name"]:
            count["n"] += 1
            if count["n"] == fault["nth"]:
                die()
    os.replace = replace
elif fault["kind"] == "kill_before_rename":    # SIGKILL with the N-th atomic write's temporary file complete
    real_fsync = os.fsync
    def fsync(fd):
        real_fsync(fd)
        count["n"] += 1
        if count["n"] == fault["nth"]:
            die()
    os.fsync = fsync
elif fault["kind"] == "kill_mid_line":         # SIGKILL with half of the N-th metrics line written
    from neuroplastic.runs import folder
    real_log = folder.RunDir.log
    def log(self, **record):
        count["n"] += 1
        if count["n"] == fault["nth"]:
            line = json.dumps(record)
            with self.metrics_file.open("a") as handle:
                handle.write(line[: len(line) // 2])
            die()
        real_log(self, **record)
    folder.RunDir.log = log

elif fault["kind"] == "start_when_exists":    # already imported, start the moment this file appears
    import time
    import neuroplastic.experiments, neuroplastic.runs.runner  # what the command imports lazily
    while not os.path.exists(fault["path"]):
        time.sleep(0.002)

from neuroplastic.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def command(experiment: str, out: Path) -> list[str]:
    return ["--quiet", "run", experiment, *EXPERIMENTS[experiment], "--out", str(out)]


def launch(args: list[str], fault: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if fault:
        env["NP_FAULT"] = json.dumps(fault)
        argv = [sys.executable, "-c", HOOK, *args]
    else:
        argv = [sys.executable, "-m", "neuroplastic", *args]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(args: list[str], fault: dict | None = None) -> tuple[int, str]:
    process = launch(args, fault)
    _, err = process.communicate(timeout=1800)
    return process.returncode, err.strip()


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if not (k == "time" or k.endswith(("seconds", "_s")))}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def snapshot(folder: Path) -> tuple[object, object]:
    results = json.loads((folder / "results.json").read_text())
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return without_timing(results), without_timing(metrics)


def finish(args: list[str], attempts: int = 3) -> list[int]:
    """Rerun the plain command until it exits 0 (at most ``attempts`` times); the exit codes."""
    codes = []
    for _ in range(attempts):
        codes.append(run(args)[0])
        if codes[-1] == 0:
            break
    return codes


def verdict(folder: Path, reference, foreign: dict[Path, bytes] | None = None) -> str:
    if not (folder / "results.json").exists():
        return "LOST: no results.json"
    problems = []
    results, metrics = snapshot(folder)
    if results != reference[0]:
        problems.append("results differ")
    if metrics != reference[1]:
        problems.append(f"metrics differ ({len(metrics)} lines, reference {len(reference[1])})")
    leftovers = [p.name for p in folder.rglob(".*.tmp")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    if (folder / "checkpoint.pt").exists() or not (folder / "report.md").exists():
        problems.append("stale checkpoint or no report")
    for path, content in (foreign or {}).items():
        if not path.exists() or path.read_bytes() != content:
            problems.append(f"{path.name} changed")
    return "none; identical to the uninterrupted run" if not problems else "LOST: " + "; ".join(problems)


def one_line(err: str) -> str:
    lines = err.splitlines()
    tag = "" if len(lines) <= 1 and "Traceback" not in err else f" [{len(lines)} lines of stderr]"
    return (lines[-1] if lines else "") + tag


def cases(experiment: str, work: Path, reference) -> list[tuple[str, str, str]]:
    rows = []

    def fresh(name: str) -> tuple[Path, list[str]]:
        out = work / experiment / name
        return out, command(experiment, out)

    for nth in (1, 2):
        out, args = fresh(f"kill-after-checkpoint-{nth}")
        code, _ = run(args, {"kind": "kill_after_replace", "name": "checkpoint.pt", "nth": nth})
        codes = finish(args)
        rows.append(
            (
                f"SIGKILL after checkpoint {nth}, rerun",
                f"killed (rc {code}), reruns rc {codes}",
                verdict(out, reference),
            )
        )
    out, args = fresh("kill-after-results")
    code, _ = run(args, {"kind": "kill_after_replace", "name": "results.json", "nth": 1})
    codes = finish(args)
    rows.append(("SIGKILL right after results.json", f"killed (rc {code}), reruns rc {codes}", verdict(out, reference)))
    for nth in (2, 4):
        out, args = fresh(f"kill-before-rename-{nth}")
        code, _ = run(args, {"kind": "kill_before_rename", "nth": nth})
        codes = finish(args)
        rows.append(
            (f"SIGKILL inside atomic write {nth}", f"killed (rc {code}), reruns rc {codes}", verdict(out, reference))
        )
    out, args = fresh("kill-mid-line")
    code, _ = run(args, {"kind": "kill_mid_line", "nth": 2})
    codes = finish(args)
    rows.append(
        ("SIGKILL half-way through metrics line 2", f"killed (rc {code}), reruns rc {codes}", verdict(out, reference))
    )
    rows.append(full_disk(experiment, work, reference))
    out, args = fresh("concurrent")
    first, second = launch(args), launch(args)
    (_, err1), (_, err2) = first.communicate(timeout=1800), second.communicate(timeout=1800)
    outcome = f"rc {first.returncode} and {second.returncode}: " + one_line(err1 if first.returncode else err2)
    rows.append(("two runs of one folder started together", outcome, verdict(out, reference)))
    out, args = fresh("concurrent-after-checkpoint")
    second = launch(args, {"kind": "start_when_exists", "path": str(out / "checkpoint.pt")})
    first = launch(args)
    (_, err1), (out2, err2) = first.communicate(timeout=1800), second.communicate(timeout=1800)
    said = one_line(err2) if second.returncode else out2.strip().splitlines()[0]
    outcome = f"first rc {first.returncode}; second rc {second.returncode}: {said}"
    rows.append(("a second run started at the first's first checkpoint", outcome, verdict(out, reference)))
    out, args = fresh("foreign-folder")
    out.mkdir(parents=True)
    mine = {out / "report.md": b"a user's own report\n", out / "metrics.jsonl": b'{"mine": 1}\n'}
    for path, content in mine.items():
        path.write_bytes(content)
    code, err = run(args)
    intact = all(p.read_bytes() == c for p, c in mine.items()) and sorted(os.listdir(out)) == sorted(
        p.name for p in mine
    )
    rows.append(
        (
            "--out is a user's non-empty folder",
            f"rc {code}: {one_line(err)}",
            "none; folder untouched" if intact else "LOST: folder changed",
        )
    )
    return rows


def full_disk(experiment: str, work: Path, reference) -> tuple[str, str, str]:
    name = "disk full part-way, space freed, rerun"
    if os.geteuid() != 0:
        return name, "not run: mounting a small tmpfs needs root", "-"
    mount = work / experiment / "tmpfs"
    mount.mkdir(parents=True)
    size = sum(p.stat().st_size for p in (work / experiment / "reference").rglob("*") if p.is_file())
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        return name, f"not run: mount failed ({mounted.stderr.decode().strip()})", "-"
    try:
        filler = mount / "filler"
        free = shutil.disk_usage(mount).free
        with open(filler, "wb") as handle:
            handle.write(b"\0" * max(free - size // 2, 0))
        out = mount / "run"
        args = command(experiment, out)
        code, err = run(args)
        filler.unlink()
        codes = finish(args)
        return name, f"rc {code}: {one_line(err)}; reruns rc {codes}", verdict(out, reference)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="neuroplastic-faults-"))
    start = time.monotonic()
    print("| experiment | case | what happened | data lost or changed |\n|---|---|---|---|")
    lost = 0
    try:
        for experiment in EXPERIMENTS:
            out = work / experiment / "reference"
            code, err = run(command(experiment, out))
            if code != 0:
                print(f"| {experiment} | reference run | rc {code}: {one_line(err)} | - |")
                lost += 1
                continue
            reference = snapshot(out)
            for case, outcome, loss in cases(experiment, work, reference):
                lost += loss.startswith("LOST")
                print(f"| {experiment} | {case} | {outcome} | {loss} |", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{lost} case(s) lost or changed data; {time.monotonic() - start:.0f} s; load {os.getloadavg()[0]:.1f}")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
