"""Zhu & Rosenbaum's linear teacher–student task (setup A): learn A = (I − W)⁻¹ mapping inputs X to targets R̂."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class LinearTask:
    """Inputs X (n×m, columns are samples), targets R̂ = (I − Ŵ)⁻¹X + noise, teacher Ŵ and student start W₀."""

    inputs: torch.Tensor
    targets: torch.Tensor
    teacher: torch.Tensor
    w_init: torch.Tensor

    def loss(self, W: torch.Tensor) -> torch.Tensor:
        """J(W) = (1/m)‖(I − W)⁻¹X − R̂‖²_F."""
        eye = torch.eye(W.shape[0], dtype=W.dtype, device=W.device)
        return ((torch.linalg.solve(eye - W, self.inputs) - self.targets) ** 2).sum() / self.inputs.shape[1]


def linear_teacher_student(
    n: int = 200,
    m: int = 100,
    *,
    seed: int = 2023,
    input_scale: float = 0.1,
    teacher_scale: float = 0.5,
    noise: float = 0.01,
    student_scale: float = 0.75,
    dtype: torch.dtype = torch.float64,
) -> LinearTask:
    """Setup A (the paper's linear task) with NumPy's legacy global-seed stream in the prior notebook's draw order.

    X = 0.1·N(0, 1), Ŵ = 0.5·N(0, 1/n), R̂ = (I − Ŵ)⁻¹X + 0.01·N(0, 1), W₀ = 0.75·N(0, 1/n).
    """
    if n < 1 or m < 1:
        raise ValueError(f"n and m must be positive, got n={n}, m={m}")
    rng = np.random.RandomState(seed)
    x = input_scale * rng.randn(n, m)
    teacher = teacher_scale * rng.randn(n, n) / np.sqrt(n)
    targets = np.linalg.solve(np.eye(n) - teacher, x) + noise * rng.randn(n, m)
    w_init = student_scale * rng.randn(n, n) / np.sqrt(n)
    as_tensor = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
    return LinearTask(as_tensor(x), as_tensor(targets), as_tensor(teacher), as_tensor(w_init))
