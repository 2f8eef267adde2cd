"""Predictive coding (Rosenbaum 2022): strict, fixed-prediction and exact modes for any traceable model.

``pc_backward(model, loss_fn, x, y, mode=..., eta=..., n=...)`` runs inference and writes the update into
``.grad``; any torch optimiser then applies it. ``trace_layers(model, layers=...)`` shows (and fixes once) which
submodules are the PC layers of a model that is not a plain ``nn.Sequential``.
"""

from neuroplastic.pc.backward import GRAD_AT, MODES, first_energy_rise, pc_backward, pc_layers
from neuroplastic.pc.closed_form import fixed_pred_ratio
from neuroplastic.pc.fixed_pred import STORAGES
from neuroplastic.pc.graph import trace_layers
from neuroplastic.pc.layers import PCLayers
from neuroplastic.pc.result import LayerComparison, PCResult

__all__ = [
    "GRAD_AT",
    "MODES",
    "STORAGES",
    "LayerComparison",
    "PCLayers",
    "PCResult",
    "first_energy_rise",
    "fixed_pred_ratio",
    "pc_backward",
    "pc_layers",
    "trace_layers",
]
