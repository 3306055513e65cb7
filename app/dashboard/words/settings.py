"""Words of the Settings page; each economics field is ``settings_<path with underscores>``."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "settings_saved": ("Saved.", "Сохранено."),
    "settings_not_saved": (
        "Not saved: correct the fields marked below",
        "Не сохранено: исправьте отмеченные поля",
    ),
    "settings_economics": ("Economics", "Экономика"),
    "settings_currency": ("Currency (ISO code)", "Валюта (код ISO)"),
    "settings_telephony_cost_per_minute": ("Telephony, per minute", "Телефония, за минуту"),
    "settings_labor_cost_per_hour": ("Labour, per hour", "Труд, за час"),
    "settings_wrapup_seconds": ("Wrap-up after a call, s", "Обработка после звонка, с"),
    "settings_default_margin_rate": ("Default margin (0–1)", "Маржа по умолчанию (0–1)"),
    "settings_timezone": ("Reporting time zone", "Часовой пояс отчётов"),
    "settings_thresholds_reached_s": ("Reached: talk from, s", "Дозвон: разговор от, с"),
    "settings_thresholds_conversation_s": (
        "Conversation: talk from, s",
        "Разговор: от, с",
    ),
    "settings_thresholds_second_call_s": ("Second call: talk from, s", "Второй звонок: от, с"),
    "settings_thresholds_second_call_gap_minutes": (
        "Second call: at least minutes after the first",
        "Второй звонок: не раньше чем через, мин",
    ),
    "settings_forecast_reference_days": ("Forecast: days of history", "Прогноз: дней истории"),
    "settings_forecast_min_closed_applications": (
        "Forecast: closed applications needed",
        "Прогноз: нужно закрытых заявок",
    ),
    "settings_forecast_prior_win_rate": (
        "Forecast: prior win rate (0–1)",
        "Прогноз: априорная доля побед (0–1)",
    ),
    "settings_forecast_prior_margin_per_contract": (
        "Forecast: prior margin per contract",
        "Прогноз: априорная маржа договора",
    ),
    "settings_callbacks_sla_minutes": ("SLA, minutes", "SLA, минут"),
    "settings_callbacks_window_hours": ("Lost after, hours", "Потерян через, часов"),
    "settings_callbacks_short_abandon_seconds": (
        "Short abandon: under, s",
        "Короткий сброс: короче, с",
    ),
    "settings_callbacks_business_hours_clock": (
        "The SLA clock counts working hours only",
        "Часы SLA считают только рабочее время",
    ),
    "settings_working_hours": ("Working hours", "Рабочие часы"),
    "settings_working_hours_note": (
        "Local time of the reporting zone; leave both blank for a day off.",
        "Местное время пояса отчётов; пустые поля — выходной.",
    ),
    "settings_opens": ("opens", "начало"),
    "settings_closes": ("closes", "конец"),
    "settings_integrations": ("Integrations", "Интеграции"),
    "settings_no_integrations": ("No integration yet.", "Интеграций пока нет."),
    "settings_name": ("Name", "Название"),
    "settings_provider": ("Provider", "Провайдер"),
    "settings_webhook_urls": ("Webhook URLs", "Адреса вебхуков"),
    "settings_api_keys": ("API keys", "API-ключи"),
    "settings_role": ("Role", "Роль"),
    "settings_prefix": ("Starts with", "Начало ключа"),
    "settings_last_used": ("Last used", "Последнее использование"),
    "settings_revoke": ("Revoke", "Отозвать"),
    "settings_revoked": ("revoked", "отозван"),
    "settings_new_key": ("New key", "Новый ключ"),
    "settings_key_employee": ("Acts as (manager keys)", "Сотрудник (для ключа менеджера)"),
    "settings_create_key": ("Create", "Создать"),
    "settings_key_once": (
        "The new key, shown this once: copy it now.",
        "Новый ключ показан один раз: скопируйте его сейчас.",
    ),
}
