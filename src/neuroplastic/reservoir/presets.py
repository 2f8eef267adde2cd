"""Named settings: the authors' Pyle & Rosenbaum (2019) Tasks 1–3, ReScience's modified Tasks 2–3, Sussillo (2009).

ReScience's Task-3 modification is read as: the exploratory learning rate 5·10⁻⁴ × 0.5/n_segs (instead of × 0.5)
and the movement cost on the high-pass of the total output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from neuroplastic.reservoir.network import ReservoirConfig
from neuroplastic.reservoir.rls import RLSConfig
from neuroplastic.reservoir.rmhl import RMHLConfig
from neuroplastic.reservoir.simulate import Feedback
from neuroplastic.reservoir.supertrex import SupertrexConfig
from neuroplastic.reservoir.tasks import Task, arm_task, butterfly_task, sum_of_sines_task

PRESETS = ("pyle2019-task1", "pyle2019-task2", "pyle2019-task3", "resci2021-task2", "resci2021-task3", "sussillo2009")


@dataclass(frozen=True)
class Preset:
    """A task with the constants of every learner that applies to it (``force`` is None where FORCE cannot)."""

    name: str
    reservoir: ReservoirConfig
    task: Task
    train_trials: int
    test_trials: int
    force: RLSConfig | None
    rmhl: RMHLConfig | None
    supertrex: SupertrexConfig | None
    authors_feedback: Feedback


def preset(name: str, *, period: int | None = None, n: int | None = None, clock: bool = False) -> Preset:
    """The preset ``name`` (one of :data:`PRESETS`); ``period`` (steps per trial) and ``n`` shorten it.

    ``clock`` adds the phase cue u(t) = (cos 2πt/T, sin 2πt/T) as a 2-dimensional input.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if name == "sussillo2009":
        reservoir = ReservoirConfig(tau=1.0, dt=0.1, x0="normal", rate_noise=0.0)
        force = RLSConfig(alpha=1.0, learn_every=2)
        task = sum_of_sines_task(reservoir.dt / reservoir.tau)
        return Preset(name, _resize(reservoir, n, clock), task, 24, 12, force, None, None, "closed_loop")
    trial = period or 50_000
    reservoir = _resize(ReservoirConfig(), n, clock)
    rls = RLSConfig(alpha=10.0, learn_every=10)
    if name == "pyle2019-task1":
        rmhl = RMHLConfig()
        st = SupertrexConfig(rmhl=rmhl, rls=rls, kappa=0.5, theta=1.5e-3, mastery_target="z2")
        return Preset(name, reservoir, butterfly_task(trial), 10, 5, rls, rmhl, st, "teacher_forced")
    if name in ("pyle2019-task2", "resci2021-task2"):
        rmhl = RMHLConfig(psi_a=0.01, psi_b=0.2, one_sided=False, a_z=0.2)
        theta = 1.5e-3 if name == "pyle2019-task2" else 1.5e-2
        st = SupertrexConfig(rmhl=replace(rmhl, a_z=0.1), rls=rls, kappa=0.5, theta=theta, mastery_target="zbar2")
        return Preset(name, reservoir, arm_task((1.8, 1.8), period=trial), 10, 5, None, rmhl, st, "replay")
    if name == "pyle2019-task3":
        rmhl = RMHLConfig(eta=2.5e-4, psi_a=0.005, psi_b=0.25, one_sided=False, cost_highpass="scripts")
        costs = (0.1, 0.05, 0.0)
    else:
        rmhl = RMHLConfig(eta=5e-4 * 0.5 / 3, psi_a=0.005, psi_b=0.25, one_sided=False, cost_highpass="total")
        costs = (0.1, 0.05, 0.0)
    st = SupertrexConfig(rmhl=rmhl, rls=rls, kappa=0.9, theta=1.5e-2, mastery_target="zbar2")
    task = arm_task((1.8, 1.2, 0.6), costs, period=trial)
    return Preset(name, reservoir, task, 10, 5, None, rmhl, st, "replay")


def _resize(config: ReservoirConfig, n: int | None, clock: bool) -> ReservoirConfig:
    return replace(config, n=n or config.n, n_inputs=2 if clock else 0)
