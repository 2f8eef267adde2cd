"""The time loop: a reservoir driving a readout on a task, training or testing under a named feedback protocol.

Per step t: x ← x + a(−x + J r + Q z_fb + W_in u(t)); r = tanh x (+ ε while learning); z = readout(r);
learning (if on); then z_fb is z ("closed_loop"), f(t) ("teacher_forced") or a recorded output ("replay").
D²(t) ← D² + a_D(‖h(z) − f(t)‖² − D²) is computed for a chunk of steps at once (:func:`low_pass`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import torch

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.core.threads import torch_threads
from neuroplastic.reservoir.lesions import NO_SWITCHES, Switches
from neuroplastic.reservoir.network import Reservoir
from neuroplastic.reservoir.noise import CHUNK
from neuroplastic.reservoir.rls import NotApplicable
from neuroplastic.reservoir.tasks import Task

Feedback = Literal["closed_loop", "teacher_forced", "replay"]
FEEDBACK_DESCRIPTIONS = {
    "closed_loop": "closed loop: the network's own output is fed back",
    "teacher_forced": "teacher forced: the target f(t) is fed back (authors' Task-1 test protocol)",
    "replay": "replayed training output: the output recorded during training is fed back (authors' Task 2-3 protocol)",
}
D_FILTER = 2e-4  # per-step low-pass factor of the squared error behind D(t) (τ_e = 1 s at dt = 0.2 ms)


class ReadoutState(Protocol):
    """What the loop needs from a readout's state (a :class:`~neuroplastic.reservoir.state.BatchedState`)."""

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """Frobenius norms of the readout weights, each (B,)."""

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the batch elements at positions ``rows`` (increasing)."""

    def clone(self) -> Any:
        """An independent copy."""

    def state_dict(self) -> dict[str, Any]:
        """Everything that changes while it learns, as tensors and plain data."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict`."""


class Readout(Protocol):
    """What the loop needs from a learning rule (RLS, RMHL, Supertrex): constants only, its state held apart."""

    needs_output_target: bool  # learns from e₋ = z − f, so the task must measure its error in output space

    def init(self, n: int, n_out: int, seeds: Sequence[int], *, dtype: torch.dtype, device: str | torch.device) -> Any:
        """The initial state for a batch of ``seeds``."""

    def output(self, state: Any, r: torch.Tensor, *, explore: bool, switches: Switches) -> torch.Tensor:
        """The total output z (B, d)."""

    def partial_fit(
        self,
        state: Any,
        r: torch.Tensor,
        z: torch.Tensor,
        target: torch.Tensor,
        distance2: torch.Tensor,
        *,
        cost: Callable[[torch.Tensor], torch.Tensor] | None,
        switches: Switches,
    ) -> Any:
        """One step of learning on ``state`` (``distance2`` = ‖h(z) − f‖², computed once by the loop)."""


OnDivergence = Literal["stop", "drop"]


@dataclass(frozen=True)
class DroppedSeed:
    """A seed removed from the batch because it diverged.

    ``step``: the first step whose error was non-finite (else the last step of the chunk in which it was found);
    ``quantities``: what was non-finite; ``cause``: the likely reason.
    """

    seed: int
    step: int
    quantities: tuple[str, ...]
    cause: str


@dataclass
class Trace:
    """What one call of :meth:`Simulation.run` recorded (every ``record_every`` steps, plus run-wide means).

    B counts every seed the simulation started with; a seed dropped after diverging is NaN from then on (its
    run-wide means are NaN), and ``finished`` is False for it.
    """

    feedback: str
    learned: bool
    steps: torch.Tensor  # (K,)
    z: torch.Tensor  # (K, B, d)
    hand: torch.Tensor  # (K, B, m)
    target: torch.Tensor  # (K, m)
    D: torch.Tensor  # (K, B)
    norms: dict[str, torch.Tensor]  # name -> (K, B)
    deviation: torch.Tensor  # (B,) mean of D(t) over all steps of the run
    mse: torch.Tensor  # (B,) mean of ‖h(z) − f‖² over all steps of the run
    outputs: torch.Tensor | None  # (T, B, d) every step's output, when asked for
    finished: torch.Tensor  # (B,) bool: still running at the end of this run
    dropped: tuple[DroppedSeed, ...]  # every seed dropped so far, this run's included

    def to_dict(self) -> dict[str, Any]:
        """Tensors and plain data only (for a checkpoint); :meth:`from_dict` reverses it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """The trace :meth:`to_dict` gave."""
        dropped = tuple(DroppedSeed(**{**d, "quantities": tuple(d["quantities"])}) for d in data["dropped"])
        return cls(**{**data, "dropped": dropped})


class Simulation:
    """Explicit loop state (x, r, z_fb, D², step) and readout state for one reservoir batch, one readout and one task.

    ``readout`` is a learning rule's constants; its state (weights, running averages, noise streams) is
    :attr:`readout_state`, from ``readout.init`` unless ``readout_state`` is given.

    ``on_divergence``: "stop" raises :class:`DivergenceError` when any seed's state or output becomes non-finite;
    "drop" removes that seed from the batch (reservoir, readout and loop state), records it in :attr:`dropped` and
    goes on with the others, whose trajectories are those of a batch that never held it. Divergence is checked
    every ``CHUNK`` steps. When no seed is left, later steps are not computed and everything recorded is NaN.
    """

    def __init__(
        self,
        net: Reservoir,
        readout: Readout,
        task: Task,
        *,
        clock: bool = False,
        threads: int | None = 1,
        on_divergence: OnDivergence = "stop",
        readout_state: ReadoutState | None = None,
    ):
        if task.n_out != net.n_out:
            raise ValueError(f"task {task.name!r} has {task.n_out} outputs but the reservoir feeds back {net.n_out}")
        if clock and net.W_in is None:
            raise ValueError("clock=True needs a reservoir with an input layer (ReservoirConfig.n_inputs = 2)")
        if net.W_in is not None and not clock:
            raise ValueError("the reservoir has an input layer: pass clock=True (the phase cue is its input)")
        if on_divergence not in ("stop", "drop"):
            raise ValueError(f"on_divergence must be 'stop' or 'drop', got {on_divergence!r}")
        if readout.needs_output_target and task.plant is not None:
            raise NotApplicable(
                f"{type(readout).__name__} needs the target in output space, but task {task.name!r} measures the error "
                "through a plant h(z) (it would need the inverse kinematics); use RMHL or SUPERTREX"
            )
        self.net, self.readout, self.task, self.clock, self.threads = net, readout, task, clock, threads
        if readout_state is None:
            readout_state = readout.init(net.config.n, net.n_out, net.seeds, dtype=net.dtype, device=net.device)
        self.readout_state = readout_state
        self.on_divergence = on_divergence
        self.seeds = net.seeds
        self.alive = list(range(net.batch))
        self.dropped: list[DroppedSeed] = []
        self.x, self.r = net.initial_state()
        self.z_fb = torch.zeros(net.batch, net.n_out, dtype=net.dtype, device=net.device)
        self.D2 = torch.zeros(net.batch, dtype=net.dtype, device=net.device)
        self.step = 0

    def state(self) -> dict[str, Any]:
        """A copy of the loop state and the readout's state, for :meth:`restore`."""
        return self._loop() | {"readout": self.readout_state.clone()}

    def _loop(self) -> dict[str, Any]:
        tensors = {"x": self.x, "r": self.r, "z_fb": self.z_fb, "D2": self.D2}
        return {**{k: v.clone() for k, v in tensors.items()}, "step": self.step, "alive": tuple(self.alive)}

    def restore(self, state: dict[str, Any], *, readout: bool = True) -> None:
        """Return to a state from :meth:`state` (e.g. to test one trained network under two protocols).

        ``readout=False`` rewinds the loop only: the readout goes on from where it is (its weights, running averages
        and noise streams). Seeds dropped since the state was taken stay dropped.
        """
        saved = list(state.get("alive", range(self.net.batch)))
        missing = sorted(set(self.alive) - set(saved))
        if missing:
            raise ValueError(f"the state lacks seeds {[self.seeds[i] for i in missing]} that this simulation runs")
        rows = torch.tensor([saved.index(i) for i in self.alive], dtype=torch.long)
        self.x, self.r, self.z_fb, self.D2 = (
            state[k][rows.to(state[k].device)].clone() for k in ("x", "r", "z_fb", "D2")
        )
        self.step = int(state["step"])
        if readout:
            readout_state = state["readout"].clone()
            if len(saved) != len(self.alive):
                readout_state.keep_rows_(rows)
            self.readout_state = readout_state

    def state_dict(self) -> dict[str, Any]:
        """The whole simulation as tensors and plain data, for a checkpoint.

        Loop state, reservoir noise streams, readout and dropped seeds: a simulation built alike and given it by
        :meth:`load_state_dict` continues identically.
        """
        loop = self._loop()
        return {
            "loop": loop | {"alive": list(loop["alive"])},
            "dropped": [asdict(d) for d in self.dropped],
            "net": self.net.state_dict(),
            "readout": self.readout_state.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a simulation built with the same reservoir, readout and seeds."""
        alive = list(state["loop"]["alive"])
        if self.alive != list(range(len(self.seeds))):
            raise ValueError("load a state into a freshly built simulation (this one has dropped seeds)")
        if alive != self.alive:
            rows = torch.tensor(alive, dtype=torch.long)
            self.net.keep_rows_(rows)
            self.readout_state.keep_rows_(rows)
            self.alive = alive
        self.net.load_state_dict(state["net"])
        self.readout_state.load_state_dict(state["readout"])
        self.dropped = [DroppedSeed(**{**d, "quantities": tuple(d["quantities"])}) for d in state["dropped"]]
        self.restore(state["loop"], readout=False)

    @torch.no_grad()
    def run(
        self,
        steps: int,
        *,
        learn: bool,
        feedback: Feedback = "closed_loop",
        replay: torch.Tensor | None = None,
        record_every: int = 100,
        keep_outputs: bool = False,
        switches: Switches = NO_SWITCHES,
    ) -> Trace:
        """Advance ``steps`` steps; ``learn`` turns on learning, rate noise and exploration.

        ``switches``: the interventions in force during this run (a lesion, dopamine, a kept exploratory pathway);
        a :class:`~neuroplastic.reservoir.lesions.Plan` gives them trial by trial.

        ``replay`` (steps, B, d) is the fed-back signal for ``feedback="replay"`` (B: every seed the simulation
        started with). The loop runs on ``threads`` CPU threads (default 1: its many small operations, the sparse
        J r above all, run slower with more threads, and much slower on a busy machine); None keeps torch's setting.
        """
        with torch_threads(self.threads):
            return self._run(steps, learn, feedback, replay, record_every, keep_outputs, switches)

    def _run(
        self,
        steps: int,
        learn: bool,
        feedback: Feedback,
        replay: torch.Tensor | None,
        record_every: int,
        keep_outputs: bool,
        switches: Switches,
    ) -> Trace:
        net, task, readout, state = self.net, self.task, self.readout, self.readout_state
        cost = task.cost if task.costs else None
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        if not isinstance(record_every, int) or record_every < 1:
            raise ValueError(f"record_every must be an integer >= 1, got {record_every!r}")
        for name, value in (("x", self.x), ("r", self.r), ("z_fb", self.z_fb), ("D2", self.D2)):
            if not bool(torch.isfinite(value).all()):
                raise ValueError(
                    f"the loop state {name} holds NaN or inf entries at step {self.step} (set by hand or by restore); "
                    "restore a finite state before running"
                )
        if feedback not in FEEDBACK_DESCRIPTIONS:
            raise ValueError(f"feedback must be one of {sorted(FEEDBACK_DESCRIPTIONS)}, got {feedback!r}")
        if feedback == "teacher_forced" and task.plant is not None:
            raise ValueError(f"teacher forcing needs the target in output space; task {task.name!r} has a plant")
        width = len(self.seeds)
        if feedback == "replay":
            if replay is None or replay.shape[0] < steps or replay.shape[1] != width:
                raise ValueError(f"feedback='replay' needs a replay tensor of shape (>= {steps}, {width}, d)")
            replay = replay[:steps, self.alive]
            if not bool(torch.isfinite(replay).all()):
                raise ValueError("the replay tensor holds NaN or inf entries in the steps to be fed back")
        like = {"dtype": net.dtype, "device": net.device}
        n_rec = (steps + record_every - 1) // record_every
        nan = float("nan")
        rec_z = torch.full((n_rec, width, net.n_out), nan, **like)
        rec_D = torch.full((n_rec, width), nan, **like)
        rec_norms: dict[str, torch.Tensor] = {}
        outputs = torch.full((steps, width, net.n_out), nan, **like) if keep_outputs else None
        d2_buffer = torch.empty(CHUNK, len(self.alive), **like)
        sum_D = torch.full((width,), nan, **like)
        sum_d2 = torch.full((width,), nan, **like)
        sum_D[self.alive] = 0
        sum_d2[self.alive] = 0
        x, r = self.x, self.r
        start = self.step
        for chunk_start in range(0, steps, CHUNK):
            if not self.alive:
                break
            columns = self.alive if len(self.alive) < width else slice(None)
            count = min(CHUNK, steps - chunk_start)
            t0 = start + chunk_start
            targets = task.target(t0, count, **like)
            if not bool(torch.isfinite(targets).all()):
                raise ValueError(f"task {task.name!r} gives a non-finite target f(t) at steps {t0}..{t0 + count - 1}")
            inputs = task.clock(t0, count, **like) if self.clock else None
            recorded = []
            for i in range(count):
                k = chunk_start + i
                net.step_(x, r, self.z_fb, None if inputs is None else inputs[i], noisy=learn)
                z = readout.output(state, r, explore=learn, switches=switches)
                f = targets[i]
                d2 = task.distance2(z, f)
                if learn:
                    readout.partial_fit(state, r, z, f, d2, cost=cost, switches=switches)
                d2_buffer[i] = d2
                if outputs is not None:
                    outputs[k, columns] = z
                if k % record_every == 0:
                    rec_z[k // record_every, columns] = z
                    recorded.append(i)
                    for name, value in state.weight_norms().items():
                        if name not in rec_norms:
                            rec_norms[name] = torch.full((n_rec, width), nan, **like)
                        rec_norms[name][k // record_every, columns] = value
                if feedback == "closed_loop":
                    self.z_fb = z
                elif feedback == "teacher_forced":
                    self.z_fb = f.expand_as(z)
                else:
                    self.z_fb = replay[k]
            D2 = low_pass(self.D2, d2_buffer[:count], D_FILTER)
            self.D2 = D2[-1].clone()
            D = D2.sqrt()
            first = (chunk_start + record_every - 1) // record_every
            rec_D[first : first + len(recorded), columns] = D[recorded]
            sum_D[columns] += D.sum(0)
            sum_d2[columns] += d2_buffer[:count].sum(0)
            diverged = ~(torch.isfinite(z).all(-1) & torch.isfinite(x).all(-1))
            if bool(diverged.any()):
                if self.on_divergence == "stop":
                    raise _divergence(
                        net, readout, state, z, x, diverged, step=t0 + count - 1, learn=learn, feedback=feedback
                    )
                bad = ~torch.isfinite(d2_buffer[:count])
                first_bad = torch.where(bad.any(0), bad.to(torch.int8).argmax(0), count - 1) + t0
                self._drop(diverged, first_bad, z, x, learn=learn, feedback=feedback)
                x, r, state = self.x, self.r, self.readout_state
                d2_buffer = torch.empty(CHUNK, len(self.alive), **like)
                if replay is not None:
                    replay = replay[:, ~diverged]
        self.step = start + steps
        rec_steps = torch.arange(start, start + steps, record_every)
        finished = torch.zeros(width, dtype=torch.bool)
        finished[self.alive] = True
        return Trace(
            feedback=feedback,
            learned=learn,
            steps=rec_steps,
            z=rec_z,
            hand=task.hand(rec_z),
            target=task.target_fn(rec_steps).to(**like),
            D=rec_D,
            norms=rec_norms,
            deviation=sum_D / steps,
            mse=sum_d2 / steps,
            outputs=outputs,
            finished=finished,
            dropped=tuple(self.dropped),
        )

    def _drop(
        self,
        diverged: torch.Tensor,
        first_bad: torch.Tensor,
        z: torch.Tensor,
        x: torch.Tensor,
        *,
        learn: bool,
        feedback: Feedback,
    ) -> None:
        """Record the diverged seeds and remove them from the reservoir, the readout and the loop state."""
        for row in diverged.nonzero().view(-1).tolist():
            bad = _non_finite(self.readout, self.readout_state, z, x, torch.tensor([row]))
            cause = _cause(self.net, self.readout, bad, learn=learn, feedback=feedback)
            self.dropped.append(DroppedSeed(self.seeds[self.alive[row]], int(first_bad[row]), tuple(bad), cause))
        keep = (~diverged).nonzero().view(-1)
        self.alive = [self.alive[i] for i in keep.tolist()]
        self.x, self.r, self.z_fb, self.D2 = (t[keep] for t in (self.x, self.r, self.z_fb, self.D2))
        if self.alive:
            self.net.keep_rows_(keep)
            self.readout_state.keep_rows_(keep)


def deviation(task: Task, outputs: torch.Tensor, start: int, D2: torch.Tensor) -> torch.Tensor:
    """The mean of D(t) over a recorded output series, as :meth:`Simulation.run` reports it for the same outputs.

    ``outputs`` (T, B, d) are the outputs of steps ``start`` … ``start + T − 1`` and ``D2`` (B,) is D² before them
    (``Simulation.state()["D2"]``); D² ← D² + a_D(‖h(z) − f‖² − D²). Returns (B,).
    """
    total = torch.zeros_like(D2)
    for first in range(0, outputs.shape[0], CHUNK):
        z = outputs[first : first + CHUNK]
        f = task.target(start + first, z.shape[0], dtype=z.dtype, device=z.device)
        filtered = low_pass(D2, task.distance2(z, f.unsqueeze(1)), D_FILTER)
        D2 = filtered[-1]
        total += filtered.sqrt().sum(0)
    return total / outputs.shape[0]


def low_pass(initial: torch.Tensor, values: torch.Tensor, a: float) -> torch.Tensor:
    """The filter D_t = (1 − a) D_{t−1} + a v_t over a chunk, all t at once: D_t = g^t (D_0 + a Σ_{s≤t} v_s g^{−s}).

    ``initial`` D_0 (B,), ``values`` v_1..v_C (C, B), g = 1 − a; returns D_1..D_C (C, B). Exact up to rounding for
    g^C well away from 0 (here a = 2·10⁻⁴ and C ≤ 250, so g^C ≈ 0.95).
    """
    g = (1 - a) ** torch.arange(1, values.shape[0] + 1, dtype=values.dtype, device=values.device).unsqueeze(1)
    return g * (initial + a * torch.cumsum(values / g, 0))


def _non_finite(
    readout: Readout, state: ReadoutState, z: torch.Tensor, x: torch.Tensor, rows: torch.Tensor
) -> list[str]:
    """The quantities of batch rows ``rows`` that hold NaN or inf."""
    name = type(readout).__name__
    bad = [
        label for label, t in (("reservoir state x", x), ("readout output z", z)) if not bool(t[rows].isfinite().all())
    ]
    return bad + [
        f"{name} weights {key}" for key, norms in state.weight_norms().items() if not bool(norms[rows].isfinite().all())
    ]


def _cause(net: Reservoir, readout: Readout, bad: list[str], *, learn: bool, feedback: Feedback) -> str:
    """The cause a non-finite chunk can prove.

    Configuration, loop state, inputs, targets and replay are checked finite before use. With a finite leak
    a ≤ 1, |x| can only grow past |J r| + |Q z_fb| + |W_in u|, so unless the recurrence alone can overflow
    (``recurrent_bound``), a non-finite state under closed-loop feedback comes from the readout's output z.
    """
    name = type(readout).__name__
    scale = net.recurrent_bound * (1 + net.config.rate_noise)
    if not scale < torch.finfo(net.dtype).max / 4:
        return (
            f"the recurrence alone overflows: max_i Σ_j |J_ij| (1 + rate_noise) = {scale:.3g} with "
            f"gain={net.config.gain}; the readout is not the cause"
        )
    if "reservoir state x" in bad and feedback != "closed_loop":
        return f"the {feedback} fed-back signal overflowed the reservoir; the readout does not feed back here"
    if learn:
        return f"the {name} readout diverged; lower its learning rate (eta / kappa) or raise the RLS regulariser alpha"
    return f"this run did not learn, so the {name} readout's weights were already too large (an earlier run diverged)"


def _divergence(
    net: Reservoir,
    readout: Readout,
    state: ReadoutState,
    z: torch.Tensor,
    x: torch.Tensor,
    diverged: torch.Tensor,
    *,
    step: int,
    learn: bool,
    feedback: Feedback,
) -> DivergenceError:
    """The error for a chunk that ended non-finite: which quantities are non-finite, and the cause it can prove."""
    rows = diverged.nonzero().view(-1)
    seeds = [net.seeds[i] for i in rows.tolist()]
    bad = _non_finite(readout, state, z, x, rows)
    cause = _cause(net, readout, bad, learn=learn, feedback=feedback)
    return DivergenceError(
        f"{', '.join(bad)} of seed(s) {seeds} became non-finite at step {step} (checked every {CHUNK} steps); "
        f"stopping the run ({cause})"
    )
