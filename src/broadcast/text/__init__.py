"""Pure text tools for the channels: shared fact wording, X weighted length, threads."""

from ._facts import next_update_phrase, signature, status_tag, utc_minute
from ._twitter import MAX_WEIGHTED, fits, split_thread, weighted_length

__all__ = [
    "MAX_WEIGHTED",
    "fits",
    "next_update_phrase",
    "signature",
    "split_thread",
    "status_tag",
    "utc_minute",
    "weighted_length",
]
