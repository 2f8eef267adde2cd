import itertools

import pytest
import torch

from neuroplastic.data import Episode, EpisodeSampler, split_classes

LABELS = torch.arange(20).repeat_interleave(12)[torch.randperm(240, generator=torch.Generator().manual_seed(0))]


def test_split_classes_partitions_and_is_seeded():
    train, test = split_classes(range(47), 7, seed=3)
    assert len(test) == 7 and len(train) == 40
    assert sorted(train + test) == list(range(47))
    assert split_classes(range(47), 7, seed=3) == (train, test)
    assert split_classes(range(47), 7, seed=4) != (train, test)
    with pytest.raises(ValueError, match="n_test must be between 1 and 46"):
        split_classes(range(47), 47, seed=0)


def check_episode(episode: Episode, labels, allowed, n_way, k_shot, n_query):
    assert episode.classes.shape == (n_way,) and len(set(episode.classes.tolist())) == n_way
    assert set(episode.classes.tolist()) <= set(allowed)
    assert episode.support_idx.shape == episode.support_labels.shape == (n_way * k_shot,)
    assert episode.query_idx.shape == episode.query_labels.shape == (n_way * n_query,)
    assert not set(episode.support_idx.tolist()) & set(episode.query_idx.tolist())
    assert len(set(episode.support_idx.tolist())) == n_way * k_shot
    for idx, rel in ((episode.support_idx, episode.support_labels), (episode.query_idx, episode.query_labels)):
        assert torch.equal(labels[idx], episode.classes[rel])
        assert torch.bincount(rel, minlength=n_way).tolist() == [len(rel) // n_way] * n_way


def test_episode_invariants():
    allowed = [1, 3, 5, 7, 9, 11, 13]
    sampler = EpisodeSampler(LABELS, allowed, n_way=5, k_shot=3, n_query=4, seed=0)
    for episode in itertools.islice(sampler, 50):
        check_episode(episode, LABELS, allowed, 5, 3, 4)


def test_support_is_shuffled():
    sampler = EpisodeSampler(LABELS, range(20), n_way=5, k_shot=5, n_query=1, seed=0)
    grouped = [torch.equal(e.support_labels, e.support_labels.sort().values) for e in itertools.islice(sampler, 20)]
    assert not all(grouped)


def test_same_seed_same_episodes_and_episodes_differ():
    def episodes(seed):
        return list(itertools.islice(EpisodeSampler(LABELS, range(20), 5, 1, 3, seed=seed), 5))

    a, b, c = episodes(7), episodes(7), episodes(8)
    for x, y in zip(a, b, strict=True):
        assert all(torch.equal(getattr(x, f), getattr(y, f)) for f in Episode.__dataclass_fields__)
    assert not torch.equal(a[0].support_idx, a[1].support_idx)
    assert not torch.equal(a[0].support_idx, c[0].support_idx)


def test_clear_errors():
    with pytest.raises(ValueError, match="n_way=21 exceeds the 20 classes"):
        EpisodeSampler(LABELS, range(20), n_way=21, k_shot=1, n_query=1)
    with pytest.raises(ValueError, match=r"fewer than k_shot \+ n_query = 13 samples.*\{0: 12"):
        EpisodeSampler(LABELS, range(20), n_way=5, k_shot=10, n_query=3)
    with pytest.raises(ValueError, match=r"\{99: 0\}"):
        EpisodeSampler(LABELS, [0, 99], n_way=2, k_shot=1, n_query=1)
    with pytest.raises(ValueError, match="duplicates"):
        EpisodeSampler(LABELS, [1, 1, 2], n_way=2, k_shot=1, n_query=1)
