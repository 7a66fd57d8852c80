"""seqkit's music plugin: learn from MIDI and scores, generate new music as MIDI
(work in progress: registers nothing yet)."""

__version__ = "0.1.0"
