"""Predictive coding (Rosenbaum 2022): strict, fixed-prediction and exact modes for any ``nn.Sequential``.

``pc_backward(model, loss_fn, x, y, mode=..., eta=..., n=...)`` runs inference and writes the update into
``.grad``; any torch optimiser then applies it.
"""

from neuroplastic.pc.backward import MODES, first_energy_rise, pc_backward
from neuroplastic.pc.closed_form import fixed_pred_ratio
from neuroplastic.pc.result import LayerComparison, PCResult

__all__ = ["MODES", "LayerComparison", "PCResult", "first_energy_rise", "fixed_pred_ratio", "pc_backward"]
