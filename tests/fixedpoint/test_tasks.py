"""Oracle: the authors' notebook (its initial loss) and the teacher, which fits its own targets up to their noise."""

import torch

from neuroplastic.fixedpoint import linear_teacher_student


def test_linear_task_has_the_notebooks_initial_loss_and_an_exact_teacher():
    task = linear_teacher_student()
    assert abs(task.loss(task.w_init).item() - 3.19) < 0.01  # J at step 0 in a re-run of the authors' notebook
    assert task.loss(task.teacher).item() < 2e-2  # only the 0.01 target noise is left: 200 × 1e-4
    assert task.inputs.shape == (200, 100) and task.inputs.dtype == torch.float64
    again = linear_teacher_student()
    assert torch.equal(again.targets, task.targets) and torch.equal(again.w_init, task.w_init)
