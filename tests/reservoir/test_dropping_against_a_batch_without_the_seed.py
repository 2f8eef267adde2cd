"""A batch that drops a diverged seed.

Oracle: a batch that never held it; for checkpoints, the same simulation run on without interruption.
"""

import math
from dataclasses import replace

import pytest
import torch

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.reservoir import RLS, RMHL, Reservoir, Simulation, Supertrex, preset

N, PERIOD = 40, 400


def _simulation(seeds, algorithm, *, sparse=True, on_divergence="drop"):
    p = preset("pyle2019-task1", period=PERIOD, n=N)
    readout = {
        "supertrex": Supertrex(replace(p.supertrex, theta=10.0)),  # gate open: RLS runs
        "rmhl": RMHL(p.rmhl),
        "force": RLS(p.force),
    }[algorithm]
    net = Reservoir(replace(p.reservoir, sparse=sparse), 2, seeds)
    return Simulation(net, readout, p.task, on_divergence=on_divergence)


def _weights(sim):
    """The readout's (mastery pathway's) weights W (B, d, N)."""
    state = sim.readout_state
    return state.mastery.W if hasattr(state, "mastery") else state.W


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("algorithm", ["supertrex", "rmhl", "force"])
def test_the_other_seeds_follow_the_batch_that_never_held_the_diverged_one(algorithm, sparse):
    batch, oracle = _simulation([3, 4, 5], algorithm, sparse=sparse), _simulation([3, 5], algorithm, sparse=sparse)
    batch.run(300, learn=True)
    oracle.run(300, learn=True)
    _weights(batch)[1] = math.inf  # seed 4's readout blows up from step 300 on
    trace = batch.run(700, learn=True, record_every=1, keep_outputs=True)
    expected = oracle.run(700, learn=True, record_every=1, keep_outputs=True)

    torch.testing.assert_close(trace.outputs[:, [0, 2]], expected.outputs, rtol=0, atol=1e-12)
    torch.testing.assert_close(trace.deviation[[0, 2]], expected.deviation, rtol=0, atol=1e-12)
    for name, norms in expected.norms.items():
        torch.testing.assert_close(trace.norms[name][:, [0, 2]], norms, rtol=0, atol=1e-12)
    assert trace.finished.tolist() == [True, False, True]
    assert math.isnan(trace.deviation[1]) and bool(trace.outputs[300:, 1].isnan().all())
    (dropped,) = trace.dropped
    assert dropped.seed == 4 and dropped.step == 300  # the first step whose error was non-finite
    assert "readout output z" in dropped.quantities and any("weights" in q for q in dropped.quantities)

    # later runs and restored states carry on without the dropped seed
    state = batch.state()
    test = batch.run(300, learn=False, record_every=1)
    batch.restore(state)
    again = batch.run(300, learn=False, record_every=1)
    torch.testing.assert_close(test.z, again.z, equal_nan=True)
    torch.testing.assert_close(test.z[:, [0, 2]], oracle.run(300, learn=False, record_every=1).z, rtol=0, atol=1e-12)


def test_replay_feeds_each_remaining_seed_its_own_signal():
    batch, oracle = _simulation([3, 4, 5], "rmhl"), _simulation([3, 5], "rmhl")
    recorded = batch.run(500, learn=True, keep_outputs=True).outputs
    oracle.run(500, learn=True)
    _weights(batch)[1] = math.inf
    trace = batch.run(300, learn=False, feedback="replay", replay=recorded, record_every=1)
    expected = oracle.run(300, learn=False, feedback="replay", replay=recorded[:, [0, 2]], record_every=1)
    torch.testing.assert_close(trace.z[:, [0, 2]], expected.z, rtol=0, atol=1e-12)
    assert trace.finished.tolist() == [True, False, True]


def test_when_every_seed_diverges_nothing_more_is_computed_and_all_is_nan():
    sim = _simulation([3, 4], "rmhl")
    _weights(sim).fill_(math.inf)
    trace = sim.run(600, learn=True)
    assert [d.seed for d in trace.dropped] == [3, 4] and not trace.finished.any()
    assert bool(trace.deviation.isnan().all()) and bool(trace.z[-1].isnan().all())
    assert bool(sim.run(300, learn=False).deviation.isnan().all())


def test_the_default_stops_the_whole_batch():
    sim = _simulation([3, 4], "rmhl", on_divergence="stop")
    _weights(sim)[0] = math.inf
    with pytest.raises(DivergenceError, match=r"seed\(s\) \[3\]"):
        sim.run(300, learn=True)


def test_a_bad_policy_is_refused():
    with pytest.raises(ValueError, match="on_divergence must be 'stop' or 'drop'"):
        _simulation([0], "rmhl", on_divergence="skip")


@pytest.mark.parametrize("algorithm", ["supertrex", "rmhl", "force"])
def test_a_checkpointed_simulation_continues_identically_in_a_fresh_one(algorithm, tmp_path):
    """The oracle: the same simulation run on without interruption (a dropped seed included)."""
    original = _simulation([3, 4, 5], algorithm)
    original.run(300, learn=True)
    _weights(original)[1] = math.inf
    original.run(310, learn=True)  # stops mid-chunk: the noise streams are part-way through a chunk
    torch.save(original.state_dict(), tmp_path / "state.pt")
    resumed = _simulation([3, 4, 5], algorithm)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert resumed.dropped == original.dropped and resumed.step == original.step
    expected = original.run(900, learn=True, record_every=1)
    trace = resumed.run(900, learn=True, record_every=1)
    torch.testing.assert_close(trace.z, expected.z, rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(trace.deviation, expected.deviation, rtol=0, atol=0, equal_nan=True)


def test_a_state_is_loaded_into_a_fresh_simulation_of_the_same_seeds_only():
    state = _simulation([3, 4], "rmhl").state_dict()
    with pytest.raises(ValueError, match=r"seeds \[3, 4\], this reservoir has \[3, 5\]"):
        _simulation([3, 5], "rmhl").load_state_dict(state)
