"""neuroplastic: biologically plausible learning rules in PyTorch."""

__version__ = "0.1.0"
