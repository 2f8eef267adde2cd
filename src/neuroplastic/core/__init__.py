"""Shared pieces: seeding, devices, progress bars."""

from neuroplastic.core.devices import resolve_device
from neuroplastic.core.progress import progress, progress_enabled, set_quiet
from neuroplastic.core.seeding import make_generator, seed_everything

__all__ = ["make_generator", "progress", "progress_enabled", "resolve_device", "seed_everything", "set_quiet"]
