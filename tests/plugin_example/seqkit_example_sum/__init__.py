"""A complete third-party seqkit plugin: a task and a data adapter.

Task ``sequence_sum``: read a sequence of numbers of any length, predict its sum.
The adapter generates the data from the recipe's seed, so the plugin needs no files.
"""

import json

import numpy as np

import seqkit
from seqkit.data import Adapter, DataBundle, Split
from seqkit.errors import DataError


class SequenceSumTask(seqkit.RegressionTask):
    name = "sequence_sum"
    description = "predict the sum of a variable-length sequence of numbers"
    default_adapter = "random_sequences"
    default_encoder = "numeric"  # built into seqkit
    default_head = "regressor"  # built into seqkit


class RandomSequences(Adapter):
    name = "random_sequences"
    description = "random variable-length sequences of numbers and their sums"
    schema = {
        "properties": {
            "samples": {"type": "integer", "minimum": 10, "default": 200},
            "max_steps": {"type": "integer", "minimum": 2, "default": 10},
        }
    }

    def _pad(self, sequences):
        steps = self.config.get("max_steps", 10)
        x = np.zeros((len(sequences), steps, 1), dtype="float32")
        for row, sequence in enumerate(sequences):
            if len(sequence) > steps:
                raise DataError(f"sequence {row + 1} has {len(sequence)} steps; data.max_steps is {steps}")
            x[row, : len(sequence), 0] = sequence
        return x

    def load(self):
        rng = np.random.default_rng(self.context.seed)
        steps = self.config.get("max_steps", 10)
        sequences = [
            rng.uniform(0.1, 1.0, rng.integers(1, steps + 1)).round(2).tolist()
            for _ in range(self.config.get("samples", 200))
        ]
        x = self._pad(sequences)
        y = np.array([[sum(s)] for s in sequences], dtype="float32")
        cut1, cut2 = int(len(x) * 0.7), int(len(x) * 0.85)
        info = {"features": 1, "steps": steps, "targets": ["sum"]}
        return DataBundle(
            train=Split(x[:cut1], y[:cut1], sequences[:cut1]),
            validation=Split(x[cut1:cut2], y[cut1:cut2], sequences[cut1:cut2]),
            test=Split(x[cut2:], y[cut2:], sequences[cut2:]),
            info=info,
        )

    def encode_inputs(self, raw_inputs, info):
        # Command-line inputs arrive as strings such as "[0.5, 0.25]".
        sequences = [json.loads(item) if isinstance(item, str) else item for item in raw_inputs]
        return self._pad(sequences)


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(SequenceSumTask())


@seqkit.hookimpl
def seqkit_register_adapters(register):
    register(RandomSequences)
