"""The sending page ("الإرسال"), the number's health card, the alert banner and the alert e-mails."""

from __future__ import annotations

NAV_SENDING = "الإرسال"
SENDING_TITLE = "الإرسال"
WAIT_UNTIL_RESUMED = "عند استئناف الإرسال"
WAIT_AT = "في {when}"

# What an alert is about (deliverability.models.IncidentKind).
ALERT_KIND = {
    "disconnected": "رقم واتساب غير متصل منذ مدة",
    "risk": "رقم واتساب في خطر",
    "paused": "توقف الإرسال لحماية الرقم",
}
ALERT_CLEARED = "انتهى التنبيه"
INCIDENTS_TITLE = "تنبيهات مفتوحة"
INCIDENTS_NONE = "لا تنبيهات مفتوحة."
ALERT_SINCE = "منذ"
ALERT_BANNER_HINT = "الرسائل المجدولة تنتظر ولا تفشل."
ALERT_OPEN_SENDING = "صفحة الإرسال"
ALERT_EMAIL_SUBJECT = "تنبيه: {kind} — {org}"
ALERT_EMAIL_CLEARED_SUBJECT = "انتهى التنبيه: {kind} — {org}"
ALERT_EMAIL_BODY = """مرحباً،

{what}

المؤسسة: {org}
بدأ: {since}

الرسائل المجدولة لا تضيع: تنتظر في الطابور حتى يعود الإرسال.
صفحة الإرسال: {url}

— لوحة الأسطول
"""
ALERT_EMAIL_CLEARED_BODY = """مرحباً،

انتهى التنبيه: {what}

المؤسسة: {org}
بدأ: {since}
انتهى: {until}

عاد الإرسال كما كان.

— لوحة الأسطول
"""

# Risk levels (deliverability.models.Risk).
RISK_NAMES = {"green": "سليم", "amber": "تحذير", "red": "خطر"}
RISK_TITLE = "صحة الرقم"
RISK_NO_REASONS = "لا مؤشرات مقلقة في الأيام السبعة الأخيرة."
TODAY_ALLOWANCE = "المسموح اليوم"
QUIET_NOW = "ساعات الهدوء الآن: ترسل الرسائل العاجلة فقط حتى {until}."
PAUSED_TITLE = "الإرسال متوقف لحماية الرقم"
PAUSED_UNTIL_PREFIX = "يُستأنف تلقائياً في"
URGENT_RESERVE_SHORT = "+ احتياطي العاجلة"
RESUME = "استئناف الإرسال"
RESUMED = "استؤنف الإرسال."
RESUME_CONFIRM = "استئناف الإرسال الآن؟ تأكد أولاً من أن سبب التوقف زال."

# The sending rules form.
RULES_TITLE = "قواعد الإرسال"
RULES_HINT = "تطبق على كل الرسائل المجدولة لهذه المؤسسة، بتوقيتها. الرسائل العاجلة تتجاوز ساعات الهدوء فقط."
RULES_READ_ONLY = "يعدّل هذه القواعد المالك أو المسؤول فقط."
TYPING_LABEL = "إظهار «يكتب...» قبل كل رسالة (من ثانية إلى أربع ثوانٍ حسب طول النص)"
QUIET_TITLE = "ساعات الهدوء"
QUIET_START = "بداية ساعات الهدوء"
QUIET_END = "نهاية ساعات الهدوء"
QUIET_HINT = "اتركهما فارغين لإلغاء ساعات الهدوء. مثال: من 22:00 إلى 08:00."
DAYS_OFF = "أيام العطلة (لا إرسال طوال اليوم)"
WEEKDAY_NAMES = {"monday": "الاثنين", "tuesday": "الثلاثاء", "wednesday": "الأربعاء", "thursday": "الخميس",
                 "friday": "الجمعة", "saturday": "السبت", "sunday": "الأحد"}
DAILY_CAP = "الحد اليومي للرسائل"
DAILY_CAP_HINT = "ما يزيد ينتظر اليوم التالي بتوقيت المؤسسة."
WARMUP_LABEL = "تسخين الرقم الجديد: 50 رسالة في يومه الأول، ثم الضعف كل يوم حتى الحد اليومي"
RULES_SAVED = "حُفظت قواعد الإرسال."
WHY_WAIT_TITLE = "لماذا تنتظر رسائلي؟"
WHY_WAIT_BODY = ("كل حماية تشرح نفسها: في الطابور وفي صفحة الرسالة تجد السبب والموعد. ساعات الهدوء والحد اليومي"
                 " والتوقف لحماية الرقم تؤخر الرسائل ولا تفشلها.")
LINKED_NUMBER_NOTE = "تسخين الرقم: اليوم {day} منذ ربطه."
TEMPLATE_URGENT = "عاجل (رمز تحقق، دفعة فشلت): يتجاوز ساعات الهدوء ولا يتجاوز سرعة الإرسال"
TEMPLATE_URGENT_BADGE = "عاجل"
