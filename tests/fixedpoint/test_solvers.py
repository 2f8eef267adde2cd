"""Oracle: the residual ‖F(r) − r‖ of each solver's answer, the linear model's closed form r = (G⁻¹ − W)⁻¹ u, and
the definition of the paper's 500 Euler steps."""

import pytest
import torch

from neuroplastic.fixedpoint import FixedPointNotConverged, FixedPointWarning, solve_fixed_point
from neuroplastic.fixedpoint.solvers import PAPER_RELAX, PAPER_STEPS


@pytest.mark.parametrize("dynamics", ["rate1", "rate2"])
@pytest.mark.parametrize("activation_fn", ["tanh", "softplus"])
def test_every_solver_reaches_the_same_true_fixed_point(model_factory, inputs, dynamics, activation_fn):
    model = model_factory(dynamics, rho=0.8, activation_fn=activation_fn, bias=True)
    with torch.no_grad():
        model.b.normal_(generator=torch.Generator().manual_seed(3))
    solutions = {
        "euler": model.solve(inputs, method="euler", tol=1e-13, max_iter=5000, on_fail="raise"),
        "anderson": model.solve(inputs, method="anderson", tol=1e-13, on_fail="raise"),
        "newton": model.solve(inputs, method="newton", tol=1e-13, on_fail="raise"),
    }
    u = model.drive(inputs)
    for name, s in solutions.items():
        state = s.state
        assert (state - model.step(state, u)).abs().max() < 1e-10, name
        assert torch.equal(s.residual, torch.linalg.vector_norm(state - model.step(state, u), dim=1))
        assert s.all_converged
    for name in ("anderson", "newton"):
        assert torch.allclose(solutions[name].state, solutions["euler"].state, atol=1e-8, rtol=0)
    assert solutions["newton"].iterations < solutions["anderson"].iterations < solutions["euler"].iterations


def test_linear_model_fixed_point_is_the_closed_form(model_factory):
    gain = torch.linspace(0.5, 1.5, 12, dtype=torch.float64)
    model = model_factory("linear", n_in=None, gain=gain, rho=0.5)
    x = torch.randn(4, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    s = model.solve(x, tol=1e-13, on_fail="raise")
    closed = torch.linalg.solve(torch.diag(1 / gain) - model.W, x.T).T
    assert torch.allclose(s.state, closed, atol=1e-11, rtol=0)


def test_paper_mode_is_500_euler_steps_from_zero_and_reports_its_residual(model_factory, inputs):
    model = model_factory("rate1", rho=0.8)
    u = model.drive(inputs)
    with pytest.warns(FixedPointWarning, match="not a fixed point"):
        s = model.solve(inputs, method="paper", tol=1e-10)
    r = torch.zeros_like(u)
    for _ in range(PAPER_STEPS):
        r = r + PAPER_RELAX * (model.step(r, u) - r)
    assert torch.equal(s.state, r)
    assert s.iterations == 500
    exact = model.solve(inputs, method="newton", tol=1e-13).state
    # t = 5τ leaves e^{-5(1-ρ)}-sized errors: far from converged, and the residual says so
    assert (s.residual > 1e-4).all() and not s.converged.any()
    assert torch.allclose(s.residual, torch.linalg.vector_norm(r - model.step(r, u), dim=1))
    assert (s.state - exact).norm() / exact.norm() > 1e-3


def test_non_convergence_warns_or_raises_never_silent(model_factory, inputs):
    model = model_factory("rate1", rho=0.8)
    with pytest.raises(FixedPointNotConverged, match=r"7 of 7 samples .* after 3 iterations"):
        model.solve(inputs, method="euler", tol=1e-12, max_iter=3, on_fail="raise")
    with pytest.warns(FixedPointWarning):
        s = model.solve(inputs, method="anderson", tol=1e-12, max_iter=2)
    assert not s.all_converged


def test_divergent_map_is_reported_as_not_converged():
    with pytest.raises(FixedPointNotConverged, match="largest residual inf"):
        solve_fixed_point(lambda x: 3 * x + 1, torch.zeros(2, 3), method="euler", max_iter=2000, on_fail="raise")


def test_warm_start_at_the_solution_needs_no_iterations(model_factory, inputs):
    model = model_factory("rate2")
    s = model.solve(inputs, tol=1e-12)
    again = model.solve(inputs, method="euler", init=s.state, tol=1e-12)
    assert again.iterations == 0 and torch.equal(again.state, s.state)


def test_anderson_needs_fewer_maps_than_picard_and_far_fewer_than_small_step_euler(model_factory, inputs):
    model = model_factory("rate1", n=60, rho=0.95)
    picard = model.solve(inputs, method="euler", tol=1e-10, max_iter=20000, on_fail="raise")
    euler = model.solve(inputs, method="euler", relax=0.1, tol=1e-10, max_iter=20000, on_fail="raise")
    anderson = model.solve(inputs, method="anderson", tol=1e-10, on_fail="raise")
    assert anderson.iterations < picard.iterations
    assert anderson.iterations * 10 < euler.iterations


def test_bad_inputs_are_refused(model_factory, inputs):
    model = model_factory()
    with pytest.raises(ValueError, match="shape"):
        model.solve(inputs[:, :3])
    with pytest.raises(ValueError, match="init"):
        model.solve(inputs, init=torch.zeros(2, 12, dtype=torch.float64))
    with pytest.raises(ValueError, match="unknown method"):
        model.solve(inputs, method="broyden")
    with pytest.raises(ValueError, match="jacobian"):
        solve_fixed_point(torch.tanh, torch.zeros(2, 3), method="newton")
    with pytest.raises(ValueError, match="relax"):
        solve_fixed_point(torch.tanh, torch.zeros(2, 3), method="euler", relax=1.5)
    with pytest.raises(ValueError, match="dynamics"):
        model_factory("rate3")


def test_anderson_survives_a_sample_that_starts_exactly_at_its_fixed_point():
    shift = torch.tensor([[0.0, 1.0, 2.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    drive = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])  # sample 0: x = 0 is already the fixed point
    s = solve_fixed_point(lambda x: 0.5 * x @ shift.T + drive, torch.zeros(2, 3), tol=1e-6, on_fail="raise")
    assert torch.equal(s.state[0], torch.zeros(3))
    assert torch.allclose(s.state[1], torch.linalg.solve(torch.eye(3) - 0.5 * shift, drive[1]), atol=1e-5)
