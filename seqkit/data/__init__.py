"""Data adapters, splits and shared readers. No TensorFlow here."""

from seqkit.data.adapter import Adapter, DataBundle, DataContext, Split

__all__ = ["Adapter", "DataBundle", "DataContext", "Split"]
