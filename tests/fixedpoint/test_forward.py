"""Oracle: the linear closed form of the fixed point; ``FixedPointRNN.forward`` returns a readout only of a fixed point,
unless the caller accepts a non-fixed point."""

import re
import warnings

import numpy as np
import pytest
import torch

from neuroplastic.fixedpoint import FixedPointNotConverged, FixedPointWarning


def test_forward_on_a_convergent_model_is_the_readout_of_the_closed_form(model_factory, inputs):
    gain = torch.linspace(0.5, 1.5, 12, dtype=torch.float64)
    model = model_factory("linear", gain=gain, rho=0.5)
    u = inputs.numpy() @ model.U.detach().numpy().T
    rates = np.linalg.solve(np.diag(1 / gain.numpy()) - model.W.detach().numpy(), u.T).T
    expected = rates @ model.R.detach().numpy().T
    np.testing.assert_allclose(model(inputs, tol=1e-13).detach().numpy(), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ["anderson", "euler"])
def test_forward_on_a_divergent_model_raises_with_iterations_and_residual(model_factory, inputs, method):
    """Spectral radius 3 with unit gain: no Picard-stable fixed point, and Anderson does not find the unstable one."""
    model = model_factory("linear", rho=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FixedPointWarning)
        with pytest.raises(FixedPointNotConverged) as err:
            model(inputs, method=method)
    message = str(err.value)
    assert re.search(r"\d+ of 7 samples did not reach residual ≤ 1e-06 after 1000 iterations", message)
    assert "on_fail='warn' or 'report'" in message
    reported = model.solve(inputs, method=method, on_fail="report")
    # the residual in the message is ‖s − F(s)‖ of the returned state s, recomputed here by hand
    s = reported.state.numpy()
    u = inputs.numpy() @ model.U.detach().numpy().T
    by_hand = np.linalg.norm(s - model.gain.numpy() * (s @ model.W.detach().numpy().T + u), axis=1).max()
    shown = float(re.search(r"largest residual ([^)]+)\)", message).group(1))
    assert shown == pytest.approx(by_hand, rel=1e-2) if np.isfinite(by_hand) else shown == np.inf
    if method == "euler":
        assert "the state is non-finite: the iteration diverged" in message


def test_forward_accepts_a_non_fixed_point_only_when_asked(model_factory, inputs):
    model = model_factory("linear", rho=3.0)
    with pytest.warns(FixedPointWarning, match="not a fixed point"):
        warned = model(inputs, on_fail="warn")
    reported = model(inputs, on_fail="report")
    assert torch.equal(warned, reported)
