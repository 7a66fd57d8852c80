"""seqkit's sequence tagging plugin: named-entity recognition with char features and a CRF
(work in progress: registers nothing yet)."""

__version__ = "0.1.0"
