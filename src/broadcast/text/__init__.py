"""Pure text tools for the channels: shared fact wording, X weighted length, threads, SMS."""

from ._facts import (
    COMPONENTS_ROOM,
    affected_components,
    component_status_words,
    components_line,
    next_update_phrase,
    next_update_time,
    readable_time,
    signature,
    status_tag,
    utc_minute,
)
from ._sms import (
    SmsCount,
    SmsEncoding,
    SmsText,
    render_sms,
    segments,
    split_segments,
    transliterate,
)
from ._twitter import MAX_WEIGHTED, fits, split_thread, weighted_length

__all__ = [
    "COMPONENTS_ROOM",
    "MAX_WEIGHTED",
    "SmsCount",
    "SmsEncoding",
    "SmsText",
    "affected_components",
    "component_status_words",
    "components_line",
    "fits",
    "next_update_phrase",
    "next_update_time",
    "readable_time",
    "render_sms",
    "segments",
    "signature",
    "split_segments",
    "split_thread",
    "status_tag",
    "transliterate",
    "utc_minute",
    "weighted_length",
]
