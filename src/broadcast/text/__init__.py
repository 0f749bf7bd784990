"""Pure text tools for the channels: X weighted length and thread splitting."""

from ._twitter import MAX_WEIGHTED, fits, split_thread, weighted_length

__all__ = ["MAX_WEIGHTED", "fits", "split_thread", "weighted_length"]
