"""The tagging task's output of interest for seqkit explain: an entity's tags."""

import numpy as np
import pytest

from seqkit.plugin_api import DataError
from seqkit_tagging.tasks import TaggingTask

INFO = {"tags": ["O", "B-LOC", "I-LOC", "B-PER"], "scheme": "bio"}


def _output(tags):
    out = np.zeros((6, 4))
    for step, tag in enumerate(tags):
        out[step, tag] = 0.9
    return out


def test_an_entity_is_explained_by_its_tokens_tags():
    output = _output([3, 0, 0, 1, 2, 0])  # Anna visited in New York .
    chosen = TaggingTask().explain_target(output, INFO, raw_input="Anna visited in New York .", target="new york")
    assert chosen.label == "LOC tags of 'New York'"
    assert chosen.highlight == [3, 4]
    assert chosen.steps == ["Anna", "visited", "in", "New", "York", "."]
    assert np.argwhere(chosen.weights).tolist() == [[3, 1], [4, 2]]
    first = TaggingTask().explain_target(output, INFO, raw_input="Anna visited in New York .")
    assert first.label == "PER tags of 'Anna'" and first.highlight == [0]
    with pytest.raises(DataError, match="Entities found: 1: Anna \\[PER\\]; 2: New York \\[LOC\\]"):
        TaggingTask().explain_target(output, INFO, raw_input="Anna visited in New York .", target="Paris")
