"""Input preprocessing: statistics of the training split (numpy oracle), applied unchanged to other splits."""

import numpy as np
import pytest
import torch

from neuroplastic.data.preprocessing import PREPROCESSING_KINDS, InputPreprocessing, fit_preprocessing

F64 = torch.float64


def splits(n_train=200, n_test=50, features=6, seed=0):
    """Training features on different scales and offsets; a test split from another distribution."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0, 0.02], dtype=F64)[:features]
    offsets = torch.tensor([0.3, -1.0, 2.0, -0.6, 5.0, 0.9], dtype=F64)[:features]
    train = torch.randn(n_train, features, generator=g, dtype=F64) * scales + offsets
    test = torch.rand(n_test, features, generator=g, dtype=F64) * 4 - 7
    return train, test


def numpy_stats(x):
    """Per-feature mean and the pooled population sd of the centred features."""
    a = x.numpy()
    mean = a.mean(axis=0)
    return mean, float(np.sqrt(((a - mean) ** 2).mean()))


@pytest.mark.parametrize("kind", ["centred", "standardised"])
def test_statistics_come_from_the_training_split_only(kind):
    train, test = splits()
    train_before = train.clone()
    prep = fit_preprocessing(kind, train)
    assert isinstance(prep, InputPreprocessing) and prep.kind == kind
    assert torch.equal(train, train_before)  # fitting reads the training split and leaves it alone
    mean, sd = numpy_stats(train)
    scale = sd if kind == "standardised" else 1.0
    np.testing.assert_allclose(prep.mean.numpy(), mean, atol=1e-13, rtol=0)
    assert prep.scale == pytest.approx(scale, abs=1e-13, rel=0)
    got = prep.apply(test)
    np.testing.assert_allclose(got.numpy(), (test.numpy() - mean) / scale, atol=1e-13, rtol=0)
    # the test split's own statistics would give something else entirely
    leaked = fit_preprocessing(kind, test).apply(test)
    assert (got - leaked).abs().max() > 1.0
    test_mean, test_sd = numpy_stats(test)
    test_scale = test_sd if kind == "standardised" else 1.0
    np.testing.assert_allclose(leaked.numpy(), (test.numpy() - test_mean) / test_scale, atol=1e-13, rtol=0)


def test_centred_training_data_has_zero_mean_per_feature():
    train, _ = splits()
    assert train.mean(0).abs().min() > 0.05  # the raw features are not centred already
    centred = fit_preprocessing("centred", train).apply(train)
    np.testing.assert_allclose(centred.numpy().mean(axis=0), 0.0, atol=1e-14, rtol=0)
    # only shifted: the spread is untouched
    np.testing.assert_allclose(centred.numpy().std(axis=0), train.numpy().std(axis=0), atol=1e-14, rtol=0)


def test_standardised_training_data_has_zero_mean_and_unit_mean_variance():
    train, _ = splits(n_train=40)
    out = fit_preprocessing("standardised", train).apply(train).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-14, rtol=0)
    variances = out.var(axis=0, ddof=0)
    assert variances.mean() == pytest.approx(1.0, abs=1e-13, rel=0)  # population variance, pooled over features
    # not the sample variance (N − 1): that mean is N / (N − 1) here
    assert out.var(axis=0, ddof=1).mean() == pytest.approx(40 / 39, abs=1e-13, rel=0)
    # one pooled σ̄, not one σ per feature: the features keep their relative spread
    raw = train.numpy().var(axis=0)
    np.testing.assert_allclose(variances / variances.sum(), raw / raw.sum(), atol=1e-14, rtol=0)
    assert variances.max() > 3 and variances.min() < 1e-2


def test_raw_is_the_identity():
    train, test = splits()
    prep = fit_preprocessing("raw", train)
    assert prep.mean is None and prep.scale == 1.0
    assert torch.equal(prep.apply(test), test) and torch.equal(prep.apply(train), train)
    assert prep.record() == {"kind": "raw", "scale": 1.0, "mean": None}


def test_record_summarises_the_fitted_statistics():
    train, _ = splits()
    mean, sd = numpy_stats(train)
    record = fit_preprocessing("standardised", train).record()
    assert record["kind"] == "standardised"
    assert record["scale"] == pytest.approx(sd, abs=1e-13, rel=0)
    assert record["mean"]["min"] == pytest.approx(mean.min(), abs=1e-13, rel=0)
    assert record["mean"]["max"] == pytest.approx(mean.max(), abs=1e-13, rel=0)
    assert fit_preprocessing("centred", train).record()["scale"] == 1.0


def test_unknown_kind_names_the_valid_ones():
    train, _ = splits()
    assert set(PREPROCESSING_KINDS) == {"raw", "centred", "standardised"}
    with pytest.raises(ValueError, match="whitened") as info:
        fit_preprocessing("whitened", train)
    assert all(kind in str(info.value) for kind in PREPROCESSING_KINDS)


def test_constant_training_data_cannot_be_standardised():
    rows = torch.arange(6, dtype=F64).expand(30, 6)  # every training input is the same (features differ)
    with pytest.raises(ValueError, match="standardise"):
        fit_preprocessing("standardised", rows)
    with pytest.raises(ValueError, match="standardise"):
        fit_preprocessing("standardised", torch.full((10, 4), 0.5, dtype=F64))
    # centring constant data is well defined: everything becomes 0
    assert torch.equal(fit_preprocessing("centred", rows).apply(rows), torch.zeros(30, 6, dtype=F64))


@pytest.mark.parametrize("kind", PREPROCESSING_KINDS)
def test_apply_does_not_refit(kind):
    train, test = splits()
    prep = fit_preprocessing(kind, train)
    whole = prep.apply(test)
    for i in (0, 17, len(test) - 1):
        torch.testing.assert_close(prep.apply(test[i : i + 1]), whole[i : i + 1], atol=0, rtol=0)
        torch.testing.assert_close(prep.apply(test[i]), whole[i], atol=0, rtol=0)
    # leading dimensions are samples too, and the statistics stay put after use
    torch.testing.assert_close(prep.apply(test.view(5, 10, -1)), whole.view(5, 10, -1), atol=0, rtol=0)
    refit = fit_preprocessing(kind, train)
    assert prep.scale == refit.scale
    assert (prep.mean is None) == (refit.mean is None)
    if prep.mean is not None:
        assert torch.equal(prep.mean, refit.mean)
