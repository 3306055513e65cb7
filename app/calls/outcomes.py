from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """Tags a manager (or an integration) puts on a call; they drive funnel stages 2 and 3."""

    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    SECRETARY = "secretary"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    CALLBACK_REQUESTED = "callback_requested"
    PRESENTED = "presented"
    NEED_IDENTIFIED = "need_identified"
    APPLICATION = "application"
