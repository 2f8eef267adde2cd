import json
from dataclasses import replace

import pytest

from neuroplastic.experiments.meta_plasticity import EXPERIMENT, RULES, MetaPlasticityConfig
from neuroplastic.plasticity import MetaLearner
from neuroplastic.runs.runner import run_experiment

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
SYNTHETIC = replace(MetaPlasticityConfig.quick(), synthetic_data=("mnist", "fashion_mnist"))


def test_quick_run_meta_learns_on_held_out_classes(offline, tmp_path):
    run_experiment(EXPERIMENT, SYNTHETIC, tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    config = MetaPlasticityConfig.quick()

    bp = results["rules"]["bp"]
    assert bp["accuracy"]["mean"] > 1 / config.n_way + 0.2  # held-out classes, chance 1/3
    assert bp["accuracy"]["ci"][0] <= bp["accuracy"]["mean"] <= bp["accuracy"]["ci"][1]
    assert bp["theta_final"]["pseudo_grad"] > config.theta0_init + 3 * config.lr_meta  # meta-training raised it
    assert max(bp["alignment"]) < 1e-4  # backprop's errors are the backprop errors: ∠ = 0 (atan2 form)
    assert len(bp["orthonormality"]) == len(config.hidden) + 1 and min(bp["orthonormality"]) > 0
    first, last = bp["train_query_loss"][:5], bp["train_query_loss"][-5:]
    assert sum(last) < sum(first)

    assert set(results["rules"]) == set(RULES)
    train, test = results["classes"]["meta_train"], results["classes"]["meta_test"]
    assert len(test) == config.meta_test_classes and not set(train) & set(test) and len(train) + len(test) == 20
    for rule, r in results["rules"].items():
        assert r["terms"] == list(config.pool if rule == "fa_pool" else RULES[rule][1])
        assert len(r["accuracy"]["per_seed"]) == config.seeds
        assert len(r["theta_trajectory"]) == config.episodes // config.meta_batch
    pool = results["rules"]["fa_pool"]
    assert pool["terms"] == list(config.pool) and set(pool["share"]) == set(config.pool)
    assert pool["share"]["pseudo_grad"] == 1 and pool["scales"]["pseudo_grad"] == 1
    assert all(set(seed) <= set(config.pool) for seed in pool["survivors_per_seed"])
    for rule in config.sweep_rules:
        assert set(results["sweeps"][rule]["depth"]) == {str(d) for d in config.depths}
        assert set(results["sweeps"][rule]["shots"]) == {str(k) for k in config.shots}
    assert len(results["figures"]) == 4 and all((tmp_path / f).is_file() for f in results["figures"])
    assert any("synthetic" in n.lower() for n in results["notes"])
    rows = EXPERIMENT.summarize(results)
    assert len([r for r in rows if r.quantity.startswith("meta-test accuracy")]) == len(RULES)
    assert [r.ours for r in rows if r.source == "NatComm ordering"] == [
        "yes" if c["holds"] else "no" for c in results["ordering"]
    ]


def test_a_killed_run_resumes_from_its_last_checkpoint(offline, tmp_path, monkeypatch):
    config = replace(SYNTHETIC, rules=("fa_oja",), sweep_rules=(), episodes=12, meta_batch=1, save_every=5)
    whole = run_experiment(EXPERIMENT, config, tmp_path / "whole").results
    step = MetaLearner.step
    calls = []

    def killed_at_step_8(self, batch):
        calls.append(1)
        if len(calls) > 8:
            raise KeyboardInterrupt
        return step(self, batch)

    monkeypatch.setattr(MetaLearner, "step", killed_at_step_8)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(EXPERIMENT, config, tmp_path / "killed")
    monkeypatch.setattr(MetaLearner, "step", step)
    resumed = run_experiment(EXPERIMENT, config, tmp_path / "killed").results
    assert resumed["rules"]["fa_oja"]["theta_trajectory"] == whole["rules"]["fa_oja"]["theta_trajectory"]
    assert resumed["rules"]["fa_oja"]["accuracy"] == whole["rules"]["fa_oja"]["accuracy"]
    logged = [json.loads(line) for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "step" in r] == list(range(12))


def test_config_validation():
    with pytest.raises(ValueError, match="rules"):
        MetaPlasticityConfig(rules=("bp", "nonsense"))
    with pytest.raises(ValueError, match="sweep"):
        MetaPlasticityConfig(rules=("bp",))
    with pytest.raises(ValueError, match="meta-test classes"):
        MetaPlasticityConfig(n_way=7)
    with pytest.raises(ValueError, match="output_post"):
        MetaPlasticityConfig(output_post="both")
    with pytest.raises(ValueError, match="depths"):
        MetaPlasticityConfig(depths=(1, 2))
    with pytest.raises(ValueError, match="loss_bound"):
        MetaPlasticityConfig(loss_bound=0.5)
    with pytest.raises(ValueError, match="backoff"):
        MetaPlasticityConfig(backoff=0.0)
    with pytest.raises(ValueError, match="head"):
        MetaPlasticityConfig(head="n_plus_one")
    with pytest.raises(ValueError, match="pool"):
        MetaPlasticityConfig(pool=("ehebb", "oja"))


def test_oja_init_starts_theta_oja_only_in_rules_with_an_oja_term():
    from neuroplastic.experiments.meta_plasticity import _meta_learner

    config = replace(MetaPlasticityConfig.quick(), oja_init=0.004, theta0_init=0.02)
    for rule in ("fa_oja", "fa_bio", "fa_ehebb"):
        meta = _meta_learner(config, rule, [784, 8, 3], "cpu")
        start = meta.coefficients()
        assert start["pseudo_grad"] == pytest.approx(0.02)
        assert start.get("oja", 0.0) == pytest.approx(0.004 if "oja" in meta.terms else 0.0)
        assert all(v == 0 for name, v in start.items() if name not in ("pseudo_grad", "oja"))
