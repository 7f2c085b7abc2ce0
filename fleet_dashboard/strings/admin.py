"""The super_admin overview."""

from __future__ import annotations

ADMIN_TITLE = "نظرة عامة على المؤسسات"
COL_ORG = "المؤسسة"
COL_WHATSAPP = "حالة الجلسة"
COL_TODAY = "اليوم"
COL_WEEK = "آخر 7 أيام"
COL_FAILURE_RATE = "نسبة الفشل"
COL_QUEUE_DEPTH = "في الطابور"
COL_LAST_ERROR = "آخر خطأ"
OPEN_ORG = "فتح"
CHART_TITLE = "الرسائل يومياً (آخر 14 يوماً، بأيام UTC)"
CHART_MESSAGES = "رسائل"
CHART_FAILED = "فاشلة"
ADMIN_EMPTY = "لا توجد مؤسسات."
ADMIN_PICK_ORG = "اختر مؤسسة من النظرة العامة لعرض صفحاتها."
ADMIN_SEARCH = "بحث باسم المؤسسة أو معرّفها"
ADMIN_NO_MATCH = "لا توجد مؤسسة تطابق البحث."
ADMIN_SORT = "ترتيب حسب"
ADMIN_SORTS = {"name": COL_ORG, "status": COL_WHATSAPP, "sent_today": COL_TODAY, "sent_week": COL_WEEK,
               "failure_rate": COL_FAILURE_RATE, "queue_depth": COL_QUEUE_DEPTH}
SORT_ASC = "تصاعدي"
SORT_DESC = "تنازلي"
ADMIN_SUMMARY = "{total} مؤسسة · الصفحة {page} من {pages}"
