"""Feedback pathways: backprop (B = Wᵀ), feedback alignment, direct feedback alignment and sign symmetry.

Convention: B_ℓ has the paper's shape n_{ℓ−1} × n_ℓ and carries errors down, e_{ℓ−1} = (B_ℓ e_ℓ) ⊙ σ′;
backprop is B_ℓ = W_ℓᵀ (convolutions keep B in W's shape: backprop is B = W). B is a buffer and never changes
unless a rule writes to it. Module API: ``convert(model, mode)``; functional API: ``signals``/``errors``.
"""

from neuroplastic.feedback.conv import FeedbackConv2d
from neuroplastic.feedback.convert import ConvertedLayer, convert
from neuroplastic.feedback.dfa import DirectFeedbackLinear, OutputErrorHub
from neuroplastic.feedback.errors import Signals, effective_feedback, errors, forward, output_error, signals
from neuroplastic.feedback.init import FEEDBACK_MODES, FeedbackMode, init_feedback
from neuroplastic.feedback.linear import FeedbackLinear

__all__ = [
    "FEEDBACK_MODES",
    "ConvertedLayer",
    "DirectFeedbackLinear",
    "FeedbackConv2d",
    "FeedbackLinear",
    "FeedbackMode",
    "OutputErrorHub",
    "Signals",
    "convert",
    "effective_feedback",
    "errors",
    "forward",
    "init_feedback",
    "output_error",
    "signals",
]
