"""Shared pieces: activations, Xavier init, tensor angles, seeding and named streams, devices, progress bars."""

from neuroplastic.core.activations import ACTIVATIONS, SOFTPLUS_BETA, Activation, ActivationName, resolve_activation
from neuroplastic.core.devices import resolve_device
from neuroplastic.core.init import xavier_uniform
from neuroplastic.core.metrics import angle_degrees
from neuroplastic.core.progress import progress, progress_enabled, set_quiet
from neuroplastic.core.seeding import make_generator, seed_everything

__all__ = [
    "ACTIVATIONS",
    "SOFTPLUS_BETA",
    "Activation",
    "ActivationName",
    "angle_degrees",
    "make_generator",
    "progress",
    "progress_enabled",
    "resolve_activation",
    "resolve_device",
    "seed_everything",
    "set_quiet",
    "xavier_uniform",
]
