"""Words of the Callbacks page (the figures' own labels are the report's ``cb_*``)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "cb_work_list": ("Waiting for a call back, oldest first", "Ждут звонка, сначала давние"),
    "cb_work_list_note": (
        "Leads whose call nobody answered and who have not been reached since.",
        "Лиды, чей звонок остался без ответа и с кем с тех пор не поговорили.",
    ),
    "cb_sla_is": ("Call back within", "Перезвонить в течение"),
    "cb_minutes": ("minutes of working time", "минут рабочего времени"),
    "cb_sla_deadline": ("Call back by", "Перезвонить до"),
    "cb_sla": ("SLA", "SLA"),
    "cb_sla_open": ("within the SLA so far", "пока в срок"),
    "cb_hot": ("hot", "горячий"),
    "cb_no_company": ("(no company)", "(без компании)"),
    "cb_nobody_waiting": ("Nobody is waiting for a call back.", "Никто не ждёт звонка."),
    "cb_more": ("More →", "Ещё →"),
    "cb_period": ("Period of the figures", "Период показателей"),
}
