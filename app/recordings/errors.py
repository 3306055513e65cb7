"""The one error a recording download ends in, shared by the guarded client and the downloader."""

from __future__ import annotations


class RecordingFetchError(Exception):
    """A recording could not be downloaded; ``retryable`` says whether asking again can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
