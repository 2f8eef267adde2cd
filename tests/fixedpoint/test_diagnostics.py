"""Oracle: eigenvalues and singular values of the per-sample matrices −I + G_i W and I − G_i W, built explicitly."""

import torch

from neuroplastic.fixedpoint import condition, max_real_eig, spectral_abscissa


def test_spectral_abscissa_and_condition_match_per_sample_matrices():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(9, 9, generator=g, dtype=torch.float64) / 2
    gains = torch.rand(4, 9, generator=g, dtype=torch.float64)
    eye = torch.eye(9, dtype=torch.float64)
    abscissa = spectral_abscissa(W, gains)
    cond = condition(W, gains)
    for i, gi in enumerate(gains):
        jac = -eye + torch.diag(gi) @ W
        assert abs(abscissa[i] - torch.linalg.eigvals(jac).real.max()) < 1e-12
        assert abs(abscissa[i] - torch.linalg.eigvals(-eye + W @ torch.diag(gi)).real.max()) < 1e-12
        s = torch.linalg.svdvals(eye - torch.diag(gi) @ W)
        assert abs(cond[i] - s[0] / s[-1]) < 1e-9 * cond[i]
    unit = spectral_abscissa(W, torch.ones(1, 9, dtype=torch.float64))
    assert abs(unit.item() - (max_real_eig(W) - 1)) < 1e-12


def test_an_unstable_fixed_point_has_nonnegative_abscissa_and_a_singular_one_infinite_condition():
    W = torch.diag(torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64))
    gains = torch.tensor([[1.0, 1.0, 0.4], [1.0, 0.5, 0.5]], dtype=torch.float64)
    assert spectral_abscissa(W, gains).tolist() == [0.0, 0.0]
    assert condition(W, gains)[0] > 1e15  # I − G W has a zero eigenvalue: ΔW1 is singular here
    assert max_real_eig(W) == 2.0
