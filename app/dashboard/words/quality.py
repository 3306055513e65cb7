"""Words of the Script quality pages (the figures' own labels are the report's ``quality_*``)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "quality_none_in_period": (
        "No call of this period was scored.",
        "За этот период звонки не оценивали.",
    ),
    "quality_queue": ("Calls to score", "Звонки на оценку"),
    "quality_queue_note": (
        "Conversations of the last weeks not scored yet: a few per manager and week, always the "
        "same ones.",
        "Разговоры последних недель, ещё без оценки: несколько на менеджера в неделю, всегда одни "
        "и те же.",
    ),
    "quality_queue_empty": ("Nothing left to score.", "Оценивать нечего."),
    "quality_score_it": ("Score", "Оценить"),
    "quality_score_call": ("Score a call", "Оценка звонка"),
    "quality_no_recording": ("This call has no stored recording.", "У звонка нет записи."),
    "quality_saved": ("Saved. Score", "Сохранено. Оценка"),
    "quality_comment": ("Comment", "Комментарий"),
    "quality_save_score": ("Save the score", "Сохранить оценку"),
    "quality_evaluator": ("Reviewer", "Кто оценил"),
    "quality_updated": ("Updated", "Изменено"),
    "quality_not_scored": ("Not scored yet.", "Ещё не оценён."),
    "quality_answer_yes": ("yes", "да"),
    "quality_answer_no": ("no", "нет"),
    "quality_answer_na": ("n/a", "н/п"),
    "quality_applies_any": ("any call", "любой звонок"),
    "quality_applies_first_call": ("first call", "первый звонок"),
    "quality_applies_second_call": ("second call", "второй звонок"),
}
