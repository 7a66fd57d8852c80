"""The music tasks' output of interest for seqkit explain: the next event / frame."""

import numpy as np

from seqkit_music import encodings
from seqkit_music.tasks import MelodyTask, note_name


def test_the_next_note_after_the_last_real_step_is_explained():
    events = np.array([1, 4 + 4, encodings.HOLD, encodings.REST, 4 + 7, 0, 0])  # start E4 hold rest G4 pad pad
    output = np.zeros((7, 20))
    output[4, 4 + 9] = 0.8  # after G4: A4
    chosen = MelodyTask().explain_target(output, {"min_pitch": 60}, model_input=events)
    assert chosen.label == "p(next event = A4) after step 5"
    assert chosen.steps == ["start", "E4", "hold", "rest", "G4"]
    assert np.argwhere(chosen.weights).tolist() == [[4, 13]]
    assert note_name(60) == "C4" and note_name(21) == "A0"
