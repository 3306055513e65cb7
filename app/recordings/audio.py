"""What counts as a recording: the audio types kept, and what a file's own bytes say it is.

Pure over bytes and a local file: no network, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import mutagen

# The audio types callfunnel keeps, with the file extension each is stored under.
AUDIO_TYPES: Mapping[str, str] = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mpeg3": "mp3",
    "audio/x-mpeg": "mp3",
    "audio/x-mpeg-3": "mp3",
    "audio/x-mp3": "mp3",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
}
# Storage buckets and CDNs behind providers often label every file this way, and no provider
# promises a content type. Such a file is kept only when its first bytes are an audio container,
# under the type those bytes show.
OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 12


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a file whose first bytes are a known audio container."""
    if head.startswith(b"ID3"):
        return "audio/mpeg", "mp3"
    # An MPEG audio frame header; layer bits 00 would be AAC's ADTS, not MP3.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "audio/mpeg", "mp3"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav", "wav"
    if head.startswith(b"OggS"):
        return "audio/ogg", "ogg"
    if head[4:8] == b"ftyp":
        return "audio/mp4", "m4a"
    return None


def duration_seconds(path: Path) -> int | None:
    """The length the audio container states; None when it states none (or is not parseable)."""
    try:
        audio = mutagen.File(path)
    except mutagen.MutagenError:
        return None
    length = getattr(getattr(audio, "info", None), "length", None)
    return round(length) if isinstance(length, int | float) and length > 0 else None
