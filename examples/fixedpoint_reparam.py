"""Train a fixed-point RNN with the reparameterised rule ΔW3 (Zhu & Rosenbaum 2024).

The network's output is read from the fixed point r* = f(W r* + U x) of τ dr/dt = −r + f(W r + U x). Gradient
descent on W needs the adjoint solve λ = G (I − Wᵀ G)⁻¹ δ (δ = ∂L/∂r*, G = diag f′ at the fixed point); the
reparameterised rule needs only matrix products, ΔW3 = Σ_i [(I − W G_i) G_i δ_i][(I − G_i W)ᵀ(I − G_i W) r_i]ᵀ, and is
what ``apply_rule(..., Reparam())`` writes into ``W.grad``. Uses cached MNIST when available, otherwise synthetic
images. Exits non-zero unless the loss fell and test accuracy ends well above chance (10%).
"""

import sys

import torch
from torch.nn import functional as F

from neuroplastic.data import DataUnavailableError, load, synthetic_images
from neuroplastic.fixedpoint import FixedPointRNN, Reparam, apply_rule, max_real_eig

torch.set_num_threads(1)
try:
    train, test = load("mnist", "train"), load("mnist", "test")
except DataUnavailableError as err:
    print(f"MNIST is not available ({err}); this example runs on synthetic digit-like images instead")
    train, test = synthetic_images(3000, seed=0), synthetic_images(1000, seed=0, split="test")

generator = torch.Generator().manual_seed(0)
model = FixedPointRNN(100, 784, 10, dynamics="rate1", activation_fn="tanh", rho=0.5, generator=generator)
optimizer = torch.optim.SGD([model.W], lr=0.25)

losses = []
for step in range(150):
    x, y = train.batch(torch.randint(len(train), (128,), generator=generator), flatten=True)
    optimizer.zero_grad()
    outcome = apply_rule(model, x, lambda logits: F.cross_entropy(logits, y), Reparam())  # noqa: B023
    optimizer.step()
    losses.append(outcome.loss.item())
    if step % 50 == 0:
        residual = outcome.solution.residual.max().item()
        print(
            f"step {step:3d}  loss {losses[-1]:.3f}  fixed-point residual {residual:.1e}  "
            f"max Re λ(W) {max_real_eig(model.W):.2f}"
        )

first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
x, y = test.batch(range(2000), flatten=True)
accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"training loss {first:.3f} → {last:.3f}; test accuracy {accuracy:.1%} (chance 10%)")
if not last < 0.8 * first or accuracy < 0.5:
    sys.exit("the loss did not fall by 20% or the accuracy stayed below 50%")
