"""Train an ordinary ``nn.Sequential`` with strict predictive coding (Rosenbaum 2022).

Each child of the Sequential is one PC layer. ``pc.pc_backward`` relaxes the beliefs v_ℓ for n steps of
gradient descent on the energy F = ½Σ‖ε_ℓ‖² + γℒ and writes ∇_θF at the relaxed beliefs into ``.grad``; any
torch optimiser then applies it. Uses cached MNIST when available, otherwise synthetic digit-like images.
Exits non-zero unless test accuracy ends well above chance (10%).
"""

import sys

import torch
from torch import nn
from torch.nn import functional as F

from neuroplastic import pc
from neuroplastic.data import DataUnavailableError, load, synthetic_images

torch.manual_seed(0)
torch.set_num_threads(1)  # batch-100 steps gain nothing from threads on a small CPU
try:
    train, test = load("mnist", "train"), load("mnist", "test")
except DataUnavailableError as err:
    print(f"MNIST is not available ({err}); this example runs on synthetic digit-like images instead")
    train, test = synthetic_images(3000, seed=0), synthetic_images(1000, seed=0, split="test")

# A nested Sequential groups operations into one PC layer: here three layers, v_1 = tanh(W_1 x), ...
model = nn.Sequential(
    nn.Sequential(nn.Linear(784, 64), nn.Tanh()), nn.Sequential(nn.Linear(64, 32), nn.Tanh()), nn.Linear(32, 10)
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def mse_on_one_hot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The squared-error loss of the paper's strict-PC experiments: ℒ = ½‖ŷ − onehot(y)‖², summed, / batch."""
    return 0.5 * (logits - F.one_hot(y, 10).to(logits.dtype)).pow(2).sum() / len(y)


batch = 100
for step in range(100):
    idx = torch.randint(len(train), (batch,))
    x, y = train.batch(idx, flatten=True)
    optimizer.zero_grad()
    result = pc.pc_backward(
        model, mse_on_one_hot, x, y, mode=pc.Strict(eta=0.1, n=20), compare_with_backprop=step % 25 == 0
    )
    optimizer.step()
    if step % 25 == 0:
        angles = ", ".join(f"{c.angle_degrees:.0f}°" for c in result.comparison[1:])
        f0, fn = result.energy[0].item(), result.energy[-1].item()
        print(f"step {step:3d}  loss {result.loss.item():.3f}  F {f0:.3f} → {fn:.3f}  angle to backprop: {angles}")

with torch.no_grad():
    x, y = test.batch(range(2000), flatten=True)
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"test accuracy after 100 strict-PC steps: {accuracy:.1%} (chance 10%)")
if accuracy < 0.6:
    sys.exit(f"accuracy {accuracy:.1%} is below the 60% this example expects")
