import pytest
import torch
from torch.nn import functional as F

from neuroplastic.fixedpoint import adjoint, apply_rule, euclidean, reparam, reparam_exact, reparam_v4

LABELS = torch.tensor([0, 2, 1, 1, 0, 2, 1])


def cross_entropy(output):
    return F.cross_entropy(output, LABELS)


def loss_at_exact_fixed_point(model, x):
    state = model.solve(x, method="newton", tol=1e-14, on_fail="raise").state
    return cross_entropy(model.output(model.rates(state))).item()


def fixed_point_pieces(model, x):
    """Rates, gains and δ = ∂L/∂r at the exact fixed point."""
    state = model.solve(x, method="newton", tol=1e-14, on_fail="raise").state
    u = model.drive(x)
    r = model.rates(state).detach().requires_grad_(True)
    (delta,) = torch.autograd.grad(cross_entropy(model.output(r)), r)
    return r.detach(), model.gains(state, u).detach(), delta


def per_sample_gradients(W, rates, gains, delta):
    """∇_W L_i = G_i (I − Wᵀ G_i)⁻¹ δ_i r_iᵀ with explicit inverses (the prior code's form)."""
    eye = torch.eye(W.shape[0], dtype=W.dtype)
    return [
        torch.outer(torch.diag(g) @ torch.linalg.inv(eye - W.T @ torch.diag(g)) @ d, r)
        for r, g, d in zip(rates, gains, delta, strict=True)
    ]


@pytest.mark.parametrize(("dynamics", "activation_fn"), [("rate1", "tanh"), ("rate1", "softplus"), ("rate2", "tanh")])
def test_euclidean_rule_equals_central_finite_differences(model_factory, inputs, dynamics, activation_fn):
    model = model_factory(dynamics, activation_fn=activation_fn, rho=0.8, bias=True, train_input=True, train_bias=True)
    apply_rule(model, inputs, cross_entropy, "euclidean", solve_options={"method": "newton", "tol": 1e-14})
    h, pick = 1e-5, torch.Generator().manual_seed(7)
    for param in (model.W, model.U, model.b):
        flat, grad = param.data.view(-1), param.grad.view(-1)
        entries = torch.randperm(flat.numel(), generator=pick)[:25]
        numeric = torch.zeros(len(entries), dtype=torch.float64)
        for k, i in enumerate(entries):
            flat[i] += h
            up = loss_at_exact_fixed_point(model, inputs)
            flat[i] -= 2 * h
            down = loss_at_exact_fixed_point(model, inputs)
            flat[i] += h
            numeric[k] = (up - down) / (2 * h)
        assert (grad[entries] - numeric).norm() / numeric.norm() < 1e-6


@pytest.mark.parametrize("dynamics", ["rate1", "rate2"])
def test_euclidean_rule_equals_autograd_through_a_converged_unrolled_solve(model_factory, inputs, dynamics):
    implicit, unrolled = model_factory(dynamics, rho=0.7), model_factory(dynamics, rho=0.7)
    unrolled.load_state_dict(implicit.state_dict())
    unrolled.R.requires_grad_(True)
    implicit.R.requires_grad_(True)
    step = apply_rule(implicit, inputs, cross_entropy, "euclidean", solve_options={"tol": 1e-14})
    through = apply_rule(unrolled, inputs, cross_entropy, "bptt", bptt_steps=300, bptt_relax=1.0)
    assert torch.allclose(step.loss, through.loss, rtol=1e-12)
    for a, b in ((implicit.W.grad, unrolled.W.grad), (implicit.R.grad, unrolled.R.grad)):
        assert (a - b).norm() / b.norm() < 1e-10


def test_all_adjoint_methods_agree_with_the_closed_form(model_factory, inputs):
    model = model_factory("rate1", rho=0.8)
    rates, gains, delta = fixed_point_pieces(model, inputs)
    W = model.W.detach()
    eye = torch.eye(12, dtype=torch.float64)
    closed = torch.stack(
        [torch.linalg.inv(torch.diag(1 / g) - W).T @ d for g, d in zip(gains, delta, strict=True)]
    )  # (G⁻¹ − W)⁻ᵀ δ = G (I − Wᵀ G)⁻¹ δ
    for method in ("auto", "iteration", "anderson", "solve"):
        assert torch.allclose(adjoint(W, gains, delta, method=method), closed, atol=1e-12, rtol=0), method
    shared = gains[0]
    expected = (torch.diag(shared) @ torch.linalg.inv(eye - W.T @ torch.diag(shared)) @ delta.T).T
    assert torch.allclose(adjoint(W, shared, delta), expected, atol=1e-13, rtol=0)


def test_auto_adjoint_falls_back_to_a_solve_when_the_iteration_cannot_converge(model_factory, inputs):
    model = model_factory("rate1", rho=0.8)
    rates, gains, delta = fixed_point_pieces(model, inputs)
    W = 3.0 * model.W.detach()  # ρ(G W) > 1: recurrent backprop diverges, the implicit gradient still exists
    exact = adjoint(W, gains, delta, method="solve")
    assert torch.allclose(adjoint(W, gains, delta, method="auto", max_iter=20), exact, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dynamics", ["rate1", "rate2"])
def test_batched_reparam_equals_per_sample_preconditioned_gradients_and_descends(model_factory, inputs, dynamics):
    model = model_factory(dynamics, rho=0.9, activation_fn="softplus")
    rates, gains, delta = fixed_point_pieces(model, inputs)
    W = model.W.detach()
    eye = torch.eye(12, dtype=torch.float64)
    per_sample = per_sample_gradients(W, rates, gains, delta)
    dw3, dw4 = torch.zeros_like(W), torch.zeros_like(W)
    for grad, g in zip(per_sample, gains, strict=True):
        wg, gw = eye - W @ torch.diag(g), eye - torch.diag(g) @ W
        term = (wg @ wg.T) @ grad @ (gw.T @ gw)
        assert (grad * term).sum() > 0  # ⟨∇L_i, P_i ∇L_i Q_i⟩ > 0: each sample's update is a descent direction
        dw3 += term
        dw4 += (wg @ torch.diag(1 / g) @ wg.T) @ grad @ (wg.T @ wg)
    assert (reparam(W, rates, gains, delta) - dw3).norm() / dw3.norm() < 1e-12
    assert (reparam_v4(W, rates, gains, delta) - dw4).norm() / dw4.norm() < 1e-12


def test_reparam_with_unit_gain_is_the_linear_rule(model_factory):
    W = model_factory("linear", n_in=None).W.detach()
    eye = torch.eye(12, dtype=torch.float64)
    x = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    rates = torch.linalg.solve(eye - W, x.T).T
    delta = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    grad_a = delta.T @ x  # ∇_A J for r_i = A x_i
    linear = (eye - W) @ grad_a @ (eye - W)
    assert (reparam(W, rates, torch.ones(12, dtype=torch.float64), delta) - linear).norm() / linear.norm() < 1e-13


def test_exact_reparam_is_a_gradient_step_in_a_and_linear_reparam_is_its_first_order(model_factory):
    W = model_factory("linear", n_in=None, rho=0.6).W.detach()
    eye = torch.eye(12, dtype=torch.float64)
    x = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    target = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    rates = torch.linalg.solve(eye - W, x.T).T
    delta = 2 * (rates - target) / 9
    gain = torch.ones(12, dtype=torch.float64)
    dw3 = reparam(W, rates, gain, delta)
    gaps = []
    for lr in (1e-2, 1e-3, 1e-4):
        dw2 = reparam_exact(W, gain, x, delta, lr)
        a_next = torch.linalg.inv(eye - (W - lr * dw2))
        assert torch.allclose(a_next, torch.linalg.inv(eye - W) - lr * delta.T @ x, atol=1e-12, rtol=0)
        gaps.append(((dw2 - dw3).norm() / dw2.norm()).item())
    assert 8 < gaps[0] / gaps[1] < 12 and 8 < gaps[1] / gaps[2] < 12  # relative gap O(η)


def test_apply_rule_writes_grad_for_any_optimiser_and_accumulates(model_factory, inputs):
    model = model_factory("rate1")
    rates, gains, delta = fixed_point_pieces(model, inputs)
    expected = reparam(model.W.detach(), rates, gains, delta)
    before = model.W.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    step = apply_rule(model, inputs, cross_entropy, "reparam", solve_options={"tol": 1e-13})
    assert torch.allclose(model.W.grad, expected, atol=1e-12, rtol=0)
    assert step.loss.item() == pytest.approx(cross_entropy(step.output).item())
    optimizer.step()
    assert torch.allclose(model.W.detach(), before - 0.1 * expected, atol=1e-13, rtol=0)
    assert model.U.grad is None and model.R.grad is None  # frozen parts stay frozen
    apply_rule(model, inputs, cross_entropy, "reparam", solve_options={"tol": 1e-13})
    new = reparam(model.W.detach(), *fixed_point_pieces(model, inputs))
    assert torch.allclose(model.W.grad, expected + new, atol=1e-12, rtol=0)


def test_rules_do_not_depend_on_the_order_of_the_batch(model_factory, inputs):
    model = model_factory("rate1")
    rates, gains, delta = fixed_point_pieces(model, inputs)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    for rule in (reparam, reparam_v4, euclidean):
        a = rule(model.W.detach(), rates, gains, delta)
        b = rule(model.W.detach(), rates[perm], gains[perm], delta[perm])
        assert torch.allclose(a, b, atol=1e-14, rtol=0)


def test_rules_refuse_bad_input(model_factory, inputs):
    model = model_factory("rate1")
    with pytest.raises(ValueError, match="linear model"):
        apply_rule(model, inputs, cross_entropy, "reparam_exact", lr=0.1)
    with pytest.raises(ValueError, match="unknown rule"):
        apply_rule(model, inputs, cross_entropy, "sgd")
    W = model.W.detach()
    with pytest.raises(ValueError, match="gains"):
        reparam(W, torch.zeros(3, 12), torch.zeros(3, 11), torch.zeros(3, 12))
    with pytest.raises(ValueError, match="delta"):
        euclidean(W, torch.zeros(3, 12), torch.zeros(3, 12), torch.zeros(3, 10))
    with pytest.raises(ValueError, match="square"):
        reparam(W[:5], torch.zeros(3, 12), torch.zeros(3, 12), torch.zeros(3, 12))
    with pytest.raises(ValueError, match="adjoint method"):
        adjoint(W, torch.ones(3, 12), torch.ones(3, 12), method="cg")


def test_exact_reparam_through_apply_rule_moves_a_by_one_gradient_step(model_factory):
    gain = torch.linspace(0.6, 1.2, 12, dtype=torch.float64)
    model = model_factory("linear", n_in=None, n_out=None, gain=gain, rho=0.5)
    x = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    target = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    a = torch.linalg.inv(torch.diag(1 / gain) - model.W.detach())
    r = (a @ x.T).T
    grad_a = (2 * (r - target) / 9).T @ x  # ∇_A of L = (1/9)‖A X − R̂‖²
    optimizer = torch.optim.SGD([model.W], lr=0.05)
    apply_rule(
        model, x, lambda out: ((out - target) ** 2).sum() / 9, "reparam_exact", lr=0.05, solve_options={"tol": 1e-13}
    )
    optimizer.step()
    a_next = torch.linalg.inv(torch.diag(1 / gain) - model.W.detach())
    assert torch.allclose(a_next, a - 0.05 * grad_a, atol=1e-10, rtol=0)


def test_direct_adjoint_solve_at_paper_size_with_two_threads_equals_a_loop():
    """Regression: torch 2.13's batched CPU LU fails on batches of 300×300 matrices with 2 threads."""
    from neuroplastic.fixedpoint.rules import adjoint

    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(0)
    n, m = 300, 8
    W = torch.randn(n, n, generator=generator, dtype=torch.float64) * 0.5 / n**0.5
    gains = torch.rand(m, n, generator=generator, dtype=torch.float64)
    delta = torch.randn(m, n, generator=generator, dtype=torch.float64)
    expected = torch.stack(
        [g * torch.linalg.solve(torch.eye(n, dtype=W.dtype) - W.T * g, d) for g, d in zip(gains, delta)]
    )
    assert torch.allclose(adjoint(W, gains, delta, method="solve"), expected, rtol=1e-12, atol=1e-14)
