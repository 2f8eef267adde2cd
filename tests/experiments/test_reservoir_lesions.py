"""The reservoir-lesions experiment.

Oracle: the reservoir-motor experiment's own training and test of the same network (no intervention), the stated
effects of each intervention, paired differences re-derived from the per-seed table, and hand-computed Student-t
intervals.
"""

from dataclasses import replace

import pytest

from neuroplastic.experiments.reservoir_lesions import (
    CLAIMS,
    EXPERIMENT,
    ReservoirLesionsConfig,
    _motor_config,
    paired_difference,
    verdict,
)
from neuroplastic.experiments.reservoir_motor import train_and_test
from neuroplastic.runs.ledger import Ledger
from neuroplastic.runs.runner import run_experiment

PROTOCOLS = ("authors", "closed_loop")


def test_quick_lesion_table_is_consistent(tmp_path):
    config = replace(ReservoirLesionsConfig.quick(), dopamine_scale=0.0)
    results = run_experiment(EXPERIMENT, config, tmp_path).results
    c = results["conditions"]
    control, before = c["control"], c["lesion_before"]
    assert all(v == 0 for v in before["final_norms"]["W1"] + before["final_norms"]["W2"])
    for lesioned, trained in zip(before["deviation"]["removed/closed_loop"], control["deviation"]["kept/closed_loop"]):
        assert lesioned > trained  # no exploratory pathway, no learning
    assert all(v == 0 for v in c["dopamine_depleted"]["final_norms"]["W2"])
    bad = c["pathological_output"]
    assert all(v == 0 for v in c["lesion_during"]["final_norms"]["W2"])
    for protocol in ("authors", "closed_loop"):
        # keeping the corrupted exploratory pathway degrades the skill
        for corrupted, clean in zip(bad["deviation"][f"kept/{protocol}"], control["deviation"][f"kept/{protocol}"]):
            assert corrupted > clean
    assert set(control["deviation"]) == {f"{v}/{p}" for v in ("removed", "kept", "kept_learning") for p in PROTOCOLS}
    # the control is reservoir-motor's SUPERTREX on the same seeds: same training, same authors' and closed-loop tests
    motor = train_and_test(_motor_config(config), config.preset, "supertrex", config.clock)[0]
    for protocol in PROTOCOLS:
        assert control["deviation"][f"removed/{protocol}"] == motor["deviation"][protocol]
    assert control["final_norms"] == motor["final_norms"]
    # each claim's paired difference, re-derived from the per-seed table
    for e in results["claims"]:
        claim = next(c for c in CLAIMS if c.name == e["claim"])
        a = c[claim.condition]["deviation"][f"{claim.variant}/{e['protocol']}"]
        b = c[claim.baseline]["deviation"][f"{claim.baseline_variant}/{e['protocol']}"]
        assert e["difference"]["mean"] == pytest.approx(sum(x - y for x, y in zip(a, b)) / len(a), rel=1e-12)
        assert e["verdict"] == "quick run: no verdict"
    assert {(e["claim"], e["protocol"]) for e in results["claims"]} == {(c.name, p) for c in CLAIMS for p in PROTOCOLS}


def test_bad_lesion_config_is_refused():
    with pytest.raises(ValueError, match="lesion_during_trial"):
        ReservoirLesionsConfig(lesion_during_trial=10)
    with pytest.raises(ValueError, match="interventions"):
        ReservoirLesionsConfig(interventions=("pallidotomy",))


def test_claims_are_paired_over_the_seeds_both_conditions_finished():
    """Hand values: differences (0.5, 1.0); mean 0.75, sd 0.3536, t(0.975, 1) = 12.706."""
    d = paired_difference([1.0, 2.0, None, 4.0], [0.5, 1.0, 3.0, None])
    assert d["n"] == 2 and d["mean"] == pytest.approx(0.75)
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((0.75 - 3.17655, 0.75 + 3.17655), abs=1e-4)
    assert verdict(d, ">") == "inconclusive"


def test_verdicts_follow_the_side_of_the_interval():
    """Differences (1.0, 1.1, 1.2): mean 1.1, sd 0.1, t(0.975, 2) = 4.3027, interval [0.8516, 1.3484]."""
    d = paired_difference([1.0, 1.1, 1.2], [0.0, 0.0, 0.0])
    assert d["ci_low"] == pytest.approx(0.85159, abs=1e-4)
    assert (verdict(d, ">"), verdict(d, "<"), verdict(d, "≈")) == ("agrees", "disagrees", "disagrees")
    small = paired_difference([0.010, 0.011, 0.012], [0.0, 0.0, 0.0])
    assert verdict(small, "≈") == "agrees"  # below the 0.05 margin
    assert verdict(paired_difference([1.0, None], [0.0, 0.0]), ">") == "inconclusive"  # one pair, no interval


def test_a_run_killed_between_the_control_and_its_pathological_output_resumes_to_the_same_conditions(
    tmp_path, monkeypatch
):
    config = replace(ReservoirLesionsConfig.quick(), interventions=("control",))
    reference = run_experiment(EXPERIMENT, config, tmp_path / "reference").results["conditions"]
    original = Ledger.record

    def killed_after_the_pathological_output(self, part, value):
        original(self, part, value)
        if part == ("pathological_output",):
            raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "record", killed_after_the_pathological_output)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(EXPERIMENT, config, tmp_path / "killed")
    monkeypatch.setattr(Ledger, "record", original)
    resumed = run_experiment(EXPERIMENT, config, tmp_path / "killed").results["conditions"]
    assert list(resumed) == list(reference) == ["pathological_output", "control"]
    assert resumed == reference
