"""Mutation check: inject known defects into the numerical cores and see whether the tests catch each one.

    python tests/mutation/run_mutations.py [--only NAME ...] [--timeout SECONDS] [--no-baseline]

Each mutant is one exact text edit of one file under ``src/neuroplastic`` (a sign flip, an off-by-one index, a
transpose, a missing term). For each, ``src/`` is copied to a temporary directory, the edit is applied to the copy
(never to the working tree), and pytest runs the mutant's test folders with ``-x`` and a timeout, importing the
package from the copy (``PYTHONPATH``). A mutant is *caught* when a test fails or errors (or the run times out) and
*survives* when every test passes. First the same folders run once on an unmutated copy: a failure there would make
every mutant look caught, so it stops the check.

It prints one table row per mutant: caught or survived, and by which test. If a mutant's old text is missing from
its file, or occurs more than once, the check stops before running anything: the code has moved on, so update the
mutant. The exit status is 0 only when every mutant is caught. Takes several minutes; not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    """One defect: replace ``old`` (exact, unique) by ``new`` in ``path`` (under src/neuroplastic)."""

    name: str
    path: str
    old: str
    new: str
    description: str
    tests: tuple[str, ...]


MUTANTS = (
    Mutant(
        "pc-fixed-pred-sign",
        "pc/fixed_pred.py",
        "    return (1 - eta) * old + eta * pulled",
        "    return (1 - eta) * old - eta * pulled",
        "sign flip: ε ← (1 − η)ε − ηJᵀε in the fixed-prediction recursion",
        ("tests/pc",),
    ),
    Mutant(
        "pc-strict-belief-gradient-sign",
        "pc/strict.py",
        "else g - eps[l] for l, g",
        "else g + eps[l] for l, g",
        "sign flip: ∂F/∂v_l = Σ_c J_cᵀε_c + ε_l instead of − ε_l in strict inference",
        ("tests/pc",),
    ),
    Mutant(
        "pc-exact-off-by-one",
        "pc/exact.py",
        "for c in range(depth, 1, -1):",
        "for c in range(depth, 2, -1):",
        "off-by-one: the backprop recursion stops before pulling layer 2's error back to layer 1",
        ("tests/pc",),
    ),
    Mutant(
        "plasticity-ehebb-sign",
        "plasticity/terms.py",
        "    return -_outer(post_e, pre_e)",
        "    return _outer(post_e, pre_e)",
        "sign flip: error-Hebbian term F² = +e_ℓ e_{ℓ−1}ᵀ",
        ("tests/plasticity",),
    ),
    Mutant(
        "plasticity-gha-diagonal",
        "plasticity/oja.py",
        "[:, None] >= torch.arange",
        "[:, None] > torch.arange",
        "off-by-one: Sanger's LT(y yᵀ) without its diagonal",
        ("tests/plasticity",),
    ),
    Mutant(
        "plasticity-learner-bias-sign",
        "plasticity/learner.py",
        "b.add_(u.bias) if inplace else b + u.bias",
        "b.add_(u.bias) if inplace else b - u.bias",
        "sign flip: the out-of-place step subtracts the bias update",
        ("tests/plasticity",),
    ),
    Mutant(
        "fixedpoint-reparam-transpose",
        "fixedpoint/rules.py",
        "    right = q - (gains * q) @ W\n",
        "    right = q - (gains * q) @ W.T\n",
        "transpose: ΔW3's right factor (I − G_i W)ᵀ(I − G_i W) r_i built with Wᵀ in place of W",
        ("tests/fixedpoint",),
    ),
    Mutant(
        "fixedpoint-adjoint-transpose",
        "fixedpoint/rules.py",
        "lambda mu: delta + (gains * mu) @ W,",
        "lambda mu: delta + (gains * mu) @ W.T,",
        "transpose: recurrent backprop iterates μ ← δ + W G μ instead of δ + Wᵀ G μ",
        ("tests/fixedpoint",),
    ),
    Mutant(
        "fixedpoint-reparam-v4-missing-term",
        "fixedpoint/rules.py",
        "    left = delta - (gains * delta) @ W.T",
        "    left = delta",
        "missing term: ΔW4's left factor δ_i without − W G_i δ_i",
        ("tests/fixedpoint",),
    ),
    Mutant(
        "reservoir-rls-forgetting-dropped",
        "reservoir/deferred.py",
        "c = 1.0 / (forgetting + ",
        "c = 1.0 / (1.0 + ",
        "missing term: the RLS gain c = 1/(λ_f + rᵀPr) loses the forgetting factor",
        ("tests/reservoir/test_rls_against_ridge_regression.py",),
    ),
    Mutant(
        "feedback-derivative-off-by-one",
        "feedback/errors.py",
        "* sigma_prime(ys[l]))",
        "* sigma_prime(ys[l + 1]))",
        "off-by-one: e_{ℓ−1} takes σ′ of layer ℓ's activity instead of layer ℓ−1's",
        ("tests/feedback", "tests/plasticity/test_terms_closed_form.py"),
    ),
    Mutant(
        "feedback-dfa-bias-mean",
        "feedback/dfa.py",
        "grad_b = flat_delta.sum(0)",
        "grad_b = flat_delta.mean(0)",
        "wrong reduction: DFA's bias gradient averaged over the batch instead of summed",
        ("tests/feedback",),
    ),
    Mutant(
        "reservoir-rmhl-no-highpass",
        "reservoir/rmhl.py",
        "zhat = state.z - state.zbar\n",
        "zhat = state.z\n",
        "missing term: RMHL's ΔW = η Φ ẑ rᵀ with ẑ = z instead of the high-passed z − z̄",
        ("tests/reservoir",),
    ),
    Mutant(
        "reservoir-supertrex-mastery-sign",
        "reservoir/supertrex.py",
        "* -c.kappa",
        "* c.kappa",
        "sign flip: the mastery pathway's RLS error e₁ = +κ z₂, so W₁ moves away from the exploratory output",
        ("tests/reservoir",),
    ),
    Mutant(
        "core-angle-half",
        "core/metrics.py",
        "math.degrees(2 * math.atan2(",
        "math.degrees(math.atan2(",
        "missing factor: ∠(a, b) = atan2(‖â − b̂‖, ‖â + b̂‖) without the 2",
        ("tests/core",),
    ),
)


def check_sites(mutants: tuple[Mutant, ...], src: Path) -> None:
    """Stop unless every mutant's old text occurs exactly once in its file."""
    problems = []
    for m in mutants:
        text = (src / "neuroplastic" / m.path).read_text()
        count = text.count(m.old)
        if count != 1:
            problems.append(f"  {m.name}: {m.old!r} occurs {count} times in src/neuroplastic/{m.path} (need exactly 1)")
    if problems:
        sys.exit("mutation sites out of step with the code; update these mutants:\n" + "\n".join(problems))


def run_tests(src_copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, str]:
    """('passed' | 'failed' | 'timeout', the first failing test or a note) for ``tests`` against ``src_copy``."""
    env = {**os.environ, "PYTHONPATH": str(src_copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"no result within {timeout:g} s"
    if done.returncode == 0:
        return "passed", ""
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", done.stdout, flags=re.MULTILINE)
    return "failed", found.group(1) if found else (done.stdout + done.stderr).strip().splitlines()[-1]


def mutated_copy(workdir: Path, mutant: Mutant | None) -> Path:
    """A fresh copy of src/ in ``workdir``, with ``mutant`` applied (``None``: unmutated)."""
    target = workdir / "src"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    if mutant is not None:
        path = target / "neuroplastic" / mutant.path
        path.write_text(path.read_text().replace(mutant.old, mutant.new))
    return target


def main() -> int:
    """Check the sites, run the baseline, then one row per mutant; exit 1 when any mutant survived."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per pytest run (default 600)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run on the unmutated copy")
    args = parser.parse_args()
    check_sites(MUTANTS, ROOT / "src")
    known = {m.name for m in MUTANTS}
    if args.only and not set(args.only) <= known:
        sys.exit(f"unknown mutants {sorted(set(args.only) - known)}; choose from {sorted(known)}")
    chosen = tuple(m for m in MUTANTS if not args.only or m.name in args.only)
    with tempfile.TemporaryDirectory(prefix="np-mutation-") as tmp:
        workdir = Path(tmp)
        if not args.no_baseline:
            folders = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            outcome, detail = run_tests(mutated_copy(workdir, None), folders, args.timeout)
            if outcome != "passed":
                sys.exit(f"the unmutated code does not pass {' '.join(folders)}: {outcome} {detail}")
            print(f"baseline: {' '.join(folders)} pass on the unmutated code\n")
        rows = []
        name_width, defect_width = max(len(m.name) for m in chosen), max(len(m.description) for m in chosen)
        print(f"| {'mutant':<{name_width}} | result   | {'defect':<{defect_width}} | caught by |")
        print(f"|{'-' * (name_width + 2)}|----------|{'-' * (defect_width + 2)}|-----------|")
        for mutant in chosen:
            outcome, detail = run_tests(mutated_copy(workdir, mutant), mutant.tests, args.timeout)
            result = "survived" if outcome == "passed" else "caught"
            caught_by = detail if outcome == "failed" else (detail or "-")
            rows.append(result)
            row = f"| {mutant.name:<{name_width}} | {result:<8} | {mutant.description:<{defect_width}} | {caught_by} |"
            print(row, flush=True)
    survived = rows.count("survived")
    print(f"\n{len(rows) - survived} of {len(rows)} mutants caught" + (f", {survived} survived" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
