"""The organisation home page and local time."""

from __future__ import annotations

# ---- Org home (`/`) and local time ----
NAV_HOME = "الرئيسية"
HOME_TITLE = "الرئيسية"
HOME_CONNECTION = "اتصال واتساب"
HOME_CONNECTION_OK = "الاتصال سليم والإشعارات تُرسل."
HOME_CONNECTION_DOWN = "الإشعارات لا تُرسل الآن: تبقى في الطابور حتى يعود الاتصال."
HOME_OPEN_CONNECT = "إدارة الاتصال"
HOME_SENT_TODAY = "أُرسلت اليوم"
HOME_SENT_WEEK = "أُرسلت هذا الأسبوع"
HOME_DELIVERY_RATE = "نسبة الوصول"
HOME_READ_RATE = "نسبة القراءة"
HOME_FAILED_TODAY = "فشلت اليوم"
HOME_FAILED_WEEK = "فشلت هذا الأسبوع"
HOME_QUEUE_DEPTH = "في الطابور"
HOME_IN_PROGRESS = "قيد الإرسال"
HOME_WEEK_NOTE = "الأسبوع: آخر 7 أيام بتوقيت المؤسسة، اليوم منها. النسب من رسائل الأسبوع المرسلة."
HOME_REASONS = "أسباب الفشل هذا الأسبوع"
HOME_NO_FAILURES = "لا رسائل فاشلة هذا الأسبوع."
HOME_LATEST_FAILURES = "آخر الرسائل الفاشلة"
HOME_CHART = "الرسائل يومياً (آخر 14 يوماً بتوقيت المؤسسة)"
HOME_UNKNOWN_REASON = "سبب غير معروف"
HOME_SEE_HISTORY = "عرض في سجل الرسائل"
TIMES_IN = "الأوقات بتوقيت"
SCHEDULE_ZONE_HINT = "يُقرأ الموعد بتوقيت المؤسسة:"
ORG_TIMEZONE_TITLE = "المنطقة الزمنية للمؤسسة"
ORG_TIMEZONE_HINT = "تظهر كل الأوقات في اللوحة وملفات CSV بهذا التوقيت، وتُقرأ مواعيد الجدولة به."
ORG_TIMEZONE_LABEL = "المنطقة الزمنية"
ORG_TIMEZONE_SAVED = "حُفظت المنطقة الزمنية."

# Days as a conversation's separators read them: today, yesterday, else "الأحد 6 ديسمبر 2026".
TODAY = "اليوم"
YESTERDAY = "أمس"
MONTH_NAMES = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
               "نوفمبر", "ديسمبر")

# Arabic names of the zones our organisations live in; any other IANA zone shows its own name, isolated.
ZONE_NAMES = {
    "Africa/Cairo": "القاهرة", "Asia/Riyadh": "الرياض", "Asia/Dubai": "دبي", "Asia/Kuwait": "الكويت",
    "Asia/Qatar": "الدوحة", "Asia/Bahrain": "المنامة", "Asia/Muscat": "مسقط", "Asia/Baghdad": "بغداد",
    "Asia/Amman": "عمّان", "Asia/Beirut": "بيروت", "Asia/Damascus": "دمشق", "Asia/Jerusalem": "القدس",
    "Asia/Gaza": "غزة", "Asia/Hebron": "الخليل", "Asia/Aden": "عدن", "Africa/Khartoum": "الخرطوم",
    "Africa/Tripoli": "طرابلس", "Africa/Tunis": "تونس", "Africa/Algiers": "الجزائر",
    "Africa/Casablanca": "الدار البيضاء", "Africa/Nouakchott": "نواكشوط", "Africa/Mogadishu": "مقديشو",
    "Africa/Djibouti": "جيبوتي", "Indian/Comoro": "موروني", "Europe/Istanbul": "إسطنبول", "Asia/Tehran": "طهران",
    "Asia/Karachi": "كراتشي", "Asia/Kolkata": "كلكتا", "Europe/London": "لندن", "Europe/Paris": "باريس",
    "Europe/Berlin": "برلين", "Europe/Moscow": "موسكو", "America/New_York": "نيويورك",
    "America/Los_Angeles": "لوس أنجلوس", "UTC": "التوقيت العالمي المنسّق", "Etc/UTC": "التوقيت العالمي المنسّق",
}


def zone_name(key: str) -> str:
    """A zone as a person reads it: its Arabic city name, else its IANA name kept in its own direction."""
    return ZONE_NAMES.get(key) or (f"\u2068{key}\u2069" if key else "")
