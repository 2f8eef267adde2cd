"""Named random streams.

Oracle: the invariant that names drawn under one seed never share a stream, and the values the experiments'
recorded results were drawn with (a renumbering would silently change them).
"""

import enum

import pytest

from neuroplastic.core import streams
from neuroplastic.core.seeding import make_generator

FAMILIES = [
    cls
    for cls in vars(streams).values()
    if isinstance(cls, type) and issubclass(cls, enum.IntEnum) and cls.__module__ == streams.__name__
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda cls: cls.__name__)
def test_no_two_names_of_a_family_share_a_value(family):
    values = [member.value for member in family.__members__.values()]  # aliases included
    assert len(values) == len(set(values)), f"{family.__name__} reuses a stream id: {family.__members__}"


def test_values_are_those_the_results_were_drawn_with():
    recorded = {
        streams.TrainingStream: {"INIT": 1, "ORDER": 2},
        streams.LandscapeStream: {"ANGLE_START": 1, "SLICE_DIRECTIONS": 2},
        streams.MetaStream: {"META_TRAIN": 1, "META_TEST": 2},
        streams.EpisodePart: {"SAMPLER": 0, "WEIGHTS": 1},
        streams.EpisodeStream: {"WEIGHTS": 7},
        streams.ReservoirStream: {"WEIGHTS": 1, "RATE_NOISE": 2, "EXPLORATION": 3, "CORRUPTION": 4},
    }
    assert set(recorded) == set(FAMILIES)
    for family, values in recorded.items():
        assert {name: member.value for name, member in family.__members__.items()} == values


def test_a_named_stream_is_the_generator_of_its_integer():
    g_named = make_generator(5, streams.TrainingStream.ORDER, 3)
    assert g_named.initial_seed() == make_generator(5, 2, 3).initial_seed()
