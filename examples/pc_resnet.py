"""Predictive coding on a model with skip connections: a small ResNet, traced with torch.fx (Rosenbaum 2022).

``pc.trace_layers`` finds the PC layers (every leaf module with parameters: convolutions, BatchNorms, the head) and
which beliefs each one reads; a belief read by a residual branch and by the skip receives the sum of what both send
back. Fixed prediction with η = 1 over the longest chain of layers is backprop exactly, checked here on the first
batch; the model then trains on it with Adam. Uses cached MNIST when available, otherwise synthetic digit-like
images. Exits non-zero unless the update equals backprop's and test accuracy ends well above chance (10%).
"""

import sys

import torch
from torch import nn

from neuroplastic import pc
from neuroplastic.data import DataUnavailableError, load, synthetic_images
from neuroplastic.pc.models import SmallResNet

torch.manual_seed(0)
torch.set_num_threads(1)
try:
    train, test = load("mnist", "train"), load("mnist", "test")
except DataUnavailableError as err:
    print(f"MNIST is not available ({err}); this example runs on synthetic digit-like images instead")
    train, test = synthetic_images(3000, seed=0), synthetic_images(1000, seed=0, split="test")

model = SmallResNet(in_channels=1, channels=8, blocks=2)
layers = pc.trace_layers(model)  # trace once, reuse at every step
print(f"{layers.depth} PC layers, longest chain {layers.longest_chain}: {', '.join(layers.names[1:])}")
print(f"the head reads beliefs {layers.inputs[-1]} (the two residual sums and the stem)")
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.functional.cross_entropy


def images(data, idx):
    """Images N×1×28×28 (the channel axis a convolution needs) and labels."""
    x, y = data.batch(idx)
    return x.unsqueeze(1), y


x, y = images(train, torch.randint(len(train), (64,)))
backprop = torch.autograd.grad(loss_fn(model(x), y), list(model.parameters()))
pc.pc_backward(layers, loss_fn, x, y, mode=pc.FixedPred(eta=1.0))
worst = max(((p.grad - g).norm() / g.norm()).item() for p, g in zip(model.parameters(), backprop, strict=True))
print(f"fixed prediction (η = 1, n = {layers.longest_chain}) against backprop: largest relative error {worst:.1e}")

for step in range(200):
    x, y = images(train, torch.randint(len(train), (64,)))
    optimizer.zero_grad()
    result = pc.pc_backward(layers, loss_fn, x, y, mode=pc.FixedPred(eta=1.0))
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step:3d}  loss {result.loss.item():.3f}")

model.eval()
with torch.no_grad():
    x, y = images(test, torch.arange(min(2000, len(test))))
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"test accuracy after 200 fixed-prediction steps: {accuracy:.1%} (chance 10%)")
if worst > 1e-4:
    sys.exit(f"fixed prediction at η = 1 differs from backprop by {worst:.1e}; expected float32 rounding only")
if accuracy < 0.4:
    sys.exit(f"accuracy {accuracy:.1%} is below the 40% this example expects")
