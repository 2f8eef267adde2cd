"""Oracle: predictive coding on traced models (skips, branches, shared and parameter-free layers) against autograd
of ``model(x)`` and against energies written out by hand for each model."""

import warnings

import pytest
import torch
from torch import nn

from neuroplastic import pc
from neuroplastic.pc.models import SmallResNet

CE = nn.functional.cross_entropy


class Block(nn.Module):
    """tanh(h + fc2(tanh(fc1(h))))."""

    def __init__(self, width):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, h):
        return torch.tanh(h + self.fc2(torch.tanh(self.fc1(h))))


class ResidualMLP(nn.Module):
    """stem → two residual blocks → head; beliefs at the six Linear outputs."""

    def __init__(self):
        super().__init__()
        self.stem, self.block1, self.block2, self.head = nn.Linear(6, 5), Block(5), Block(5), nn.Linear(5, 3)

    def forward(self, x):
        return self.head(self.block2(self.block1(torch.tanh(self.stem(x)))))


def residual_energy(model, x, y, v, gamma=1.0):
    """F for ResidualMLP at beliefs v = {name: tensor}, written out by hand."""
    h0 = torch.tanh(v["stem"])
    h1 = torch.tanh(h0 + v["block1.fc2"])
    h2 = torch.tanh(h1 + v["block2.fc2"])
    predictions = {
        "stem": model.stem(x),
        "block1.fc1": model.block1.fc1(h0),
        "block1.fc2": model.block1.fc2(torch.tanh(v["block1.fc1"])),
        "block2.fc1": model.block2.fc1(h1),
        "block2.fc2": model.block2.fc2(torch.tanh(v["block2.fc1"])),
    }
    hidden = sum(0.5 * (predictions[k] - v[k]).pow(2).sum() for k in predictions)
    return hidden + gamma * CE(model.head(h2), y)


class Branching(nn.Module):
    """One belief read by three layers, a gated merge of two branches, and an output that is a sum (no PC layer)."""

    def __init__(self):
        super().__init__()
        self.a, self.b1, self.b2 = nn.Linear(6, 5), nn.Linear(5, 4), nn.Linear(5, 4)
        self.merge, self.skip = nn.Linear(8, 3), nn.Linear(5, 3)

    def forward(self, x):
        h = torch.tanh(self.a(x))
        u, w = torch.tanh(self.b1(h)), torch.sigmoid(self.b2(h))
        return self.merge(torch.cat([u, w * u], dim=1)) + self.skip(h)


def branching_energy(model, x, y, v, gamma=1.0):
    """F for Branching at beliefs v = {name: tensor}, written out by hand."""
    h = torch.tanh(v["a"])
    u, w = torch.tanh(v["b1"]), torch.sigmoid(v["b2"])
    predictions = {
        "a": model.a(x),
        "b1": model.b1(h),
        "b2": model.b2(h),
        "merge": model.merge(torch.cat([u, w * u], dim=1)),
        "skip": model.skip(h),
    }
    hidden = sum(0.5 * (predictions[k] - v[k]).pow(2).sum() for k in predictions)
    return hidden + gamma * CE(v["merge"] + v["skip"], y)


class SkipSequential(nn.Sequential):
    """A Sequential subclass with its own forward: a skip around its middle child."""

    def forward(self, x):
        h = self[0](x)
        return self[2](h + self[1](h))


def make_skip_sequential():
    return SkipSequential(
        nn.Sequential(nn.Linear(6, 5), nn.Tanh()), nn.Sequential(nn.Linear(5, 5), nn.Tanh()), nn.Linear(5, 3)
    )


class Shared(nn.Module):
    """One Linear called twice (weight sharing): two beliefs, one parameter set."""

    def __init__(self):
        super().__init__()
        self.inp, self.shared, self.out = nn.Linear(6, 5), nn.Linear(5, 5), nn.Linear(5, 3)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        h = torch.tanh(self.shared(h))
        return self.out(torch.tanh(self.shared(h)))


MODELS = {
    "residual": (ResidualMLP, lambda: torch.randn(7, 6)),
    "branching": (Branching, lambda: torch.randn(7, 6)),
    "skip-sequential": (make_skip_sequential, lambda: torch.randn(7, 6)),
    "shared": (Shared, lambda: torch.randn(7, 6)),
    "resnet-bn": (lambda: SmallResNet(channels=3, classes=3).eval(), lambda: torch.randn(4, 1, 6, 6)),
}


@pytest.fixture(params=sorted(MODELS))
def graph_case(request):
    make_model, make_x = MODELS[request.param]
    model, x = make_model(), make_x()
    return model, x, torch.randint(0, 3, (len(x),))


def autograd_grads(model, x, y, loss_fn=CE):
    return torch.autograd.grad(loss_fn(model(x), y), list(model.parameters()))


def max_relative_error(model, expected):
    return max(((p.grad - g).norm() / g.norm()).item() for p, g in zip(model.parameters(), expected, strict=True))


def test_exact_mode_equals_autograd_of_the_whole_model(graph_case):
    model, x, y = graph_case
    expected = autograd_grads(model, x, y)
    pc.pc_backward(model, CE, x, y, mode=pc.Exact())
    assert max_relative_error(model, expected) <= 1e-12


def test_fixed_prediction_eta_one_over_the_longest_chain_equals_autograd(graph_case):
    model, x, y = graph_case
    expected = autograd_grads(model, x, y)
    result = pc.pc_backward(model, CE, x, y, mode=pc.FixedPred(eta=1.0))
    assert result.steps == pc.trace_layers(model).longest_chain
    assert max_relative_error(model, expected) <= 1e-10


def test_fixed_prediction_one_step_short_misses_the_longest_path():
    model, x = ResidualMLP(), torch.randn(7, 6)
    y = torch.randint(0, 3, (7,))
    expected = dict(zip((n for n, _ in model.named_parameters()), autograd_grads(model, x, y), strict=True))
    layers = pc.trace_layers(model)
    assert layers.longest_chain == 6  # stem, block1.fc1, block1.fc2, block2.fc1, block2.fc2, head
    pc.pc_backward(layers, CE, x, y, mode=pc.FixedPred(eta=1.0, n=5))
    stem = model.stem.weight
    assert ((stem.grad - expected["stem.weight"]).norm() / expected["stem.weight"].norm()).item() > 1e-3
    assert torch.allclose(model.head.weight.grad, expected["head.weight"], rtol=1e-12, atol=0)


def test_layers_and_what_they_read():
    layers = pc.trace_layers(Branching())
    assert layers.names == ["input", "a", "b1", "b2", "merge", "skip", "output"]
    assert layers.inputs[1:] == [(0,), (1,), (1,), (2, 3), (1,), (4, 5)]
    assert layers.consumers[1] == (2, 3, 5)
    assert pc.trace_layers(Shared()).names == ["input", "inp", "shared (call 1)", "shared (call 2)", "out"]


@pytest.mark.parametrize(("make", "energy"), [(ResidualMLP, residual_energy), (Branching, branching_energy)])
def test_each_strict_step_is_a_gradient_step_on_the_hand_written_energy(make, energy):
    model = make()
    x, y = torch.randn(7, 6), torch.randint(0, 3, (7,))
    eta, gamma = 0.05, 0.5
    start = pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=eta, n=1, output_precision=gamma))
    names = start.names[1:-1]
    beliefs = {k: start.vhat[l].clone().requires_grad_(True) for l, k in enumerate(names, start=1)}
    for steps in (1, 2, 3):
        grads = torch.autograd.grad(energy(model, x, y, beliefs, gamma), list(beliefs.values()))
        beliefs = {k: (v - eta * g).detach().requires_grad_(True) for (k, v), g in zip(beliefs.items(), grads)}
        result = pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=eta, n=steps, output_precision=gamma))
        for l, k in enumerate(names, start=1):
            assert torch.allclose(result.v[l], beliefs[k], rtol=1e-12, atol=1e-13)
    expected = torch.autograd.grad(energy(model, x, y, beliefs, gamma), list(model.parameters()))
    for p, g in zip(model.parameters(), expected, strict=True):
        assert torch.allclose(p.grad, g / gamma, rtol=1e-11, atol=1e-14)
    assert result.energy[-1].item() == pytest.approx(energy(model, x, y, beliefs, gamma).item(), rel=1e-12)


def test_strict_energy_does_not_increase_at_small_eta(graph_case):
    model, x, y = graph_case
    result = pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=0.02, n=60))
    assert torch.all(result.energy[1:] <= result.energy[:-1] + 1e-14)
    assert result.energy[-1] < result.energy[0]


def test_a_sequential_traced_layer_by_layer_gives_the_sequential_numbers(case):
    model, loss_fn, x, y = case
    names = [name for name, _ in model.named_children()]
    for mode in [pc.Exact(), pc.FixedPred(eta=0.3, n=7), pc.Strict(eta=0.1, n=5)]:
        chain = pc.pc_backward(model, loss_fn, x, y, mode=mode)
        chain_grads = [p.grad.clone() for p in model.parameters()]
        traced = pc.pc_backward(model, loss_fn, x, y, mode=mode, layers=names)
        assert traced.names[1:] == names
        for a, b in zip(chain_grads, model.parameters(), strict=True):
            assert torch.allclose(a, b.grad, rtol=1e-13, atol=1e-15)
        for a, b in zip(chain.v[1:], traced.v[1:], strict=True):
            assert torch.allclose(a, b, rtol=1e-13, atol=1e-15)


def test_strict_update_at_vhat_is_the_feedforward_vjp_of_the_final_errors():
    model = ResidualMLP()
    x, y = torch.randn(7, 6), torch.randint(0, 3, (7,))
    result = pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=0.1, n=8, grad_at="vhat"))
    # Σ_l ⟨f_l(v̂), ε_l⟩ differentiated in θ with the feedforward beliefs held fixed, written out by hand
    h0 = torch.tanh(result.vhat[1])
    h1 = torch.tanh(h0 + result.vhat[3])
    h2 = torch.tanh(h1 + result.vhat[5])
    predictions = [
        model.stem(x),
        model.block1.fc1(h0),
        model.block1.fc2(torch.tanh(result.vhat[2])),
        model.block2.fc1(h1),
        model.block2.fc2(torch.tanh(result.vhat[4])),
        model.head(h2),
    ]
    total = sum((p * e).sum() for p, e in zip(predictions, result.eps[1:], strict=True))
    expected = torch.autograd.grad(total, list(model.parameters()))
    at_beliefs = [p.grad.clone() for p in model.parameters()]
    for p, g in zip(model.parameters(), expected, strict=True):
        assert torch.allclose(p.grad, g, rtol=1e-12, atol=1e-15)
    pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=0.1, n=8))
    assert any(not torch.allclose(a, p.grad) for a, p in zip(at_beliefs, model.parameters(), strict=True))


@pytest.mark.parametrize("first", ["flatten", "dropout", "frozen"])
@pytest.mark.parametrize("mode", [pc.Exact(), pc.FixedPred(eta=1.0)])
def test_first_layer_without_trainable_parameters(first, mode):
    head = [nn.Sequential(nn.Linear(16, 6), nn.Tanh()), nn.Linear(6, 3)]
    layer = {"flatten": nn.Flatten(), "dropout": nn.Dropout(0.3), "frozen": nn.Linear(16, 16)}[first]
    model = nn.Sequential(layer, *head)
    if first == "frozen":
        layer.requires_grad_(False)
    x = torch.randn(5, 4, 4) if first == "flatten" else torch.randn(5, 16)
    y = torch.randint(0, 3, (5,))
    torch.manual_seed(1)
    expected = [p for p in model.parameters() if p.requires_grad]
    expected = torch.autograd.grad(CE(model(x), y), expected)
    torch.manual_seed(1)  # the same dropout mask as the oracle's pass
    pc.pc_backward(model, CE, x, y, mode=mode)
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p, g in zip(trainable, expected, strict=True):
        assert ((p.grad - g).norm() / g.norm()).item() <= 1e-12
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


def test_dropout_mask_and_batchnorm_statistics_in_a_traced_model():
    model = SmallResNet(channels=3, classes=3).train()
    model.blocks[0].conv1 = nn.Sequential(nn.Dropout(0.3), model.blocks[0].conv1)
    x, y = torch.randn(4, 1, 6, 6), torch.randint(0, 3, (4,))
    twin_state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(3)
    expected = torch.autograd.grad(CE(model(x), y), list(model.parameters()))
    after_one_pass = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(twin_state)
    torch.manual_seed(3)
    pc.pc_backward(model, CE, x, y, mode=pc.FixedPred(eta=1.0))
    assert max_relative_error(model, expected) <= 1e-10
    for k, v in model.state_dict().items():
        assert torch.equal(v, after_one_pass[k]), k


def test_in_place_activation_after_a_belief_does_not_overwrite_it():
    model = SmallResNet(channels=3, classes=3).eval()  # ReLU(inplace=True) reads the BatchNorm beliefs
    x, y = torch.randn(4, 1, 6, 6), torch.randint(0, 3, (4,))
    x_before = x.clone()
    result = pc.pc_backward(model, CE, x, y, mode=pc.Exact())
    assert torch.equal(x, x_before)
    assert (result.vhat[4] < 0).any()  # blocks.0.bn1's output is kept before its in-place ReLU


def test_rounding_sized_rises_at_relu_kinks_do_not_warn():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Sequential(nn.Linear(6, 20), nn.ReLU()), nn.Sequential(nn.Linear(20, 20), nn.ReLU()))
    model.append(nn.Linear(20, 3))
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=0.2, n=60))
    rises = result.energy[1:] - result.energy[:-1]
    assert rises.max() > 64 * torch.finfo(torch.float64).eps * result.energy[0]  # F does rise at the kinks ...
    assert rises.max() < 1e-6 * result.energy[0]  # ... by amounts far below a divergence


def test_first_energy_rise_is_relative_to_the_starting_energy():
    energy = torch.tensor([2.0, 1.0, 1.0 + 1e-9, 0.5])
    assert pc.first_energy_rise(energy) is None
    assert pc.first_energy_rise(torch.tensor([2.0, 1.0, 1.0 + 1e-4, 0.5])) == 2


def test_clear_errors_for_models_that_cannot_be_traced():
    class DataDependent(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else -self.fc(x)

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, x, z):
            return self.fc(x + z)

    x, y = torch.randn(4, 6), torch.randint(0, 3, (4,))
    with pytest.raises(ValueError, match="could not trace DataDependent.forward"):
        pc.pc_backward(DataDependent(), CE, x, y)
    with pytest.raises(ValueError, match="takes 2 inputs"):
        pc.pc_backward(TwoInputs(), CE, x, y)
    with pytest.raises(ValueError, match="does not have"):
        pc.pc_backward(Branching(), CE, x, y, layers=["a", "nope"])
    with pytest.raises(ValueError, match="inside 'block1'"):
        pc.pc_backward(ResidualMLP(), CE, x, y, layers=["block1", "block1.fc1"])


def test_layers_by_type_take_the_outermost_match():
    layers = pc.trace_layers(ResidualMLP(), (Block, nn.Linear))
    assert layers.names == ["input", "stem", "block1", "block2", "head"]
    x, y = torch.randn(7, 6), torch.randint(0, 3, (7,))
    model = layers.model
    expected = autograd_grads(model, x, y)
    pc.pc_backward(layers, CE, x, y, mode=pc.FixedPred())
    assert max_relative_error(model, expected) <= 1e-10
