"""Convert an MLP to feedback alignment and add an Oja term to its learning rule (online, one sample a step).

Feedback alignment (FA) carries errors down through a fixed random matrix B_ℓ instead of W_ℓᵀ:
e_{ℓ−1} = (B_ℓ e_ℓ) ⊙ σ′(z_{ℓ−1}). The rule is ΔW_ℓ = −θ₀ e_ℓ y_{ℓ−1}ᵀ + θ_oja (y_ℓ y_{ℓ−1}ᵀ − y_ℓ y_ℓᵀ W_ℓ);
``rule_backward`` writes −ΔW into ``.grad``, so ``SGD(lr=1)`` applies W ← W + ΔW. Uses cached MNIST when
available, otherwise synthetic images. Exits non-zero unless test accuracy ends well above chance (10%).
"""

import sys

import torch

from neuroplastic import feedback
from neuroplastic.core.mlp import mlp
from neuroplastic.data import DataUnavailableError, load, synthetic_images
from neuroplastic.plasticity import Rule, rule_backward, weight_feedback_angle

torch.set_num_threads(1)  # batch-1 steps gain nothing from threads
try:
    train, test = load("mnist", "train"), load("mnist", "test")
except DataUnavailableError as err:
    print(f"MNIST is not available ({err}); this example runs on synthetic digit-like images instead")
    train, test = synthetic_images(3000, seed=0), synthetic_images(1000, seed=0, split="test")

generator = torch.Generator().manual_seed(0)
model = mlp([784, 100, 50, 10], activation="softplus", beta=10.0, generator=generator)
model, report = feedback.convert(model, "fa", generator=generator)
for layer in report:
    print(f"layer {layer.name}: {layer.original} → {layer.converted} ({layer.mode})")

rule = Rule({"pseudo_grad": 0.01, "oja": 0.003})  # θ₀ (learning rate) and θ_oja
optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
linears = [m for m in model if isinstance(m, torch.nn.Linear)]
angles_before = [weight_feedback_angle(m.weight.detach(), m.feedback) for m in linears]

order = torch.randperm(len(train), generator=generator)[:4000]
for i in order:
    x, t = train.batch(i.view(1), flatten=True)
    optimizer.zero_grad()
    rule_backward(model, x, t, rule)
    optimizer.step()

angles_after = [weight_feedback_angle(m.weight.detach(), m.feedback) for m in linears]
for ell, (a, b) in enumerate(zip(angles_before, angles_after, strict=True), start=1):
    print(f"∠(W_{ell}, B_{ell}ᵀ): {a:.1f}° → {b:.1f}°")
with torch.no_grad():
    x, y = test.batch(range(2000), flatten=True)
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"test accuracy after 4,000 online FA + Oja steps: {accuracy:.1%} (chance 10%)")
if accuracy < 0.6:
    sys.exit(f"accuracy {accuracy:.1%} is below the 60% this example expects")
