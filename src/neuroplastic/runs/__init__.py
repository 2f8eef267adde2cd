"""The experiment contract, run folders, the resume ledger, configs and reports."""

from neuroplastic.core.atomic import atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text
from neuroplastic.runs.config import (
    ConfigError,
    apply_overrides,
    config_from_dict,
    config_hash,
    config_to_dict,
)
from neuroplastic.runs.errors import RunFolderBusy, RunFolderConflict, RunFolderDamaged, RunFolderError
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger

__all__ = [
    "ConfigError",
    "Experiment",
    "ExperimentConfig",
    "Ledger",
    "ReportRow",
    "RunDir",
    "RunFolderBusy",
    "RunFolderConflict",
    "RunFolderDamaged",
    "RunFolderError",
    "apply_overrides",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "config_from_dict",
    "config_hash",
    "config_to_dict",
]
