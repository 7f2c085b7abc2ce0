"""Integration settings: webhooks and API keys."""

from __future__ import annotations

from fleet_dashboard.core.events import EventType as _Event  # private: `strings.*` exports text only

SETTINGS_TITLE = "الإعدادات"
# The page's two parts: the organisation's own settings, then what the SaaS backend and scripts use.
SETTINGS_ORG_TITLE = "إعدادات المؤسسة"
SETTINGS_INTEGRATION_TITLE = "الربط البرمجي"
TIMEZONE_SEARCH = "ابحث باسم المدينة أو المنطقة"
TIMEZONE_CURRENT = "المنطقة الحالية:"
TIMEZONE_RESULTS = "المناطق المطابقة"
# Webhook deliveries: what happened to the latest events sent to the organisation's links.
DELIVERIES_TITLE = "آخر عمليات الإرسال"
DELIVERIES_EMPTY = "لم يُرسل أي حدث بعد."
DELIVERY_EVENT = "الحدث"
DELIVERY_OUTCOME = "النتيجة"
DELIVERY_ATTEMPTS = "المحاولات"
DELIVERY_ANSWER = "رد الخادم"
DELIVERY_WHEN = "آخر محاولة"
DELIVERY_STATUS = {"pending": "بانتظار إعادة المحاولة", "delivered": "وصل", "failed": "فشل نهائياً"}
DELIVERY_HTTP = "رد الخادم {code}"
DELIVERY_NO_ANSWER = "لم يرد الخادم"
CREATED_AT = "أُنشئ"
WEBHOOKS_TITLE = "إشعارات Webhook"
WEBHOOKS_HELP = ("نرسل إلى هذا الرابط طلب JSON موقّعاً (X-Fleet-Signature) عند تغيّر حالة رسالة أو الجلسة"
                 " أو عند وصول رسالة.")
WEBHOOKS_EMPTY = "لا توجد روابط إشعارات."
WEBHOOK_URL = "الرابط"
WEBHOOK_SECRET = "السر (اختياري)"
WEBHOOK_SECRET_HINT = "اتركه فارغاً لننشئ سراً ونعرضه مرة واحدة. 16 حرفاً على الأقل."
WEBHOOK_EVENTS = "الأحداث"
# Every public EventType (what a webhook may subscribe to), by name.
WEBHOOK_EVENT_NAMES = {_Event.message_status: "حالة الرسائل", _Event.session_status: "حالة الجلسة",
                       _Event.message_inbound: "الرسائل الواردة", _Event.session_alert: "تنبيهات الرقم"}
WEBHOOK_PICK_EVENT = "اختر حدثاً واحداً على الأقل."
WEBHOOK_ADD = "حفظ الرابط"
WEBHOOK_SAVED = "حُفظ رابط الإشعارات."
WEBHOOK_DELETED = "حُذف رابط الإشعارات."
WEBHOOK_DELETE_TITLE = "حذف رابط الإشعارات؟"
WEBHOOK_SECRET_ONCE = "سر التوقيع: انسخه الآن، فلن يظهر مرة أخرى."
API_KEYS_TITLE = "مفاتيح الواجهة البرمجية"
API_KEYS_HELP = "يرسل النظام الخلفي المفتاح في Authorization: Bearer مع X-Org-Id. التوثيق في ‎/api/docs."
API_KEYS_EMPTY = "لا توجد مفاتيح."
API_KEY_NAME = "اسم المفتاح"
API_KEY_PREFIX = "بدايته"
API_KEY_SCOPES = "الصلاحيات"
API_KEY_SCOPE_NAMES = {"send": "الإرسال", "sessions": "الجلسة", "read": "القراءة"}
API_KEY_PICK_SCOPE = "اختر صلاحية واحدة على الأقل."
API_KEY_LAST_USED = "آخر استخدام"
API_KEY_CREATE = "إنشاء مفتاح"
API_KEY_ONCE = "المفتاح الجديد: انسخه الآن، فلن يظهر مرة أخرى."
API_KEY_REVOKE = "إلغاء المفتاح"
API_KEY_REVOKE_TITLE = "إلغاء هذا المفتاح؟ تتوقف الطلبات التي تستخدمه فوراً."
API_KEY_REVOKED = "أُلغي المفتاح."
API_KEY_REVOKED_BADGE = "ملغى"
API_KEY_CREATED = "أُنشئ المفتاح."
# A one-time secret (a new API key, a generated webhook secret) in a dialog until the person says it is copied.
SECRET_ONCE_NOTE = "لن يظهر مرة أخرى بعد إغلاق هذه النافذة. احفظه في مكان آمن."
SECRET_COPY = "نسخ"
SECRET_COPIED = "نُسخ إلى الحافظة."
SECRET_DONE = "نسختُه"
# The organisation's id: every API call names it in X-Org-Id.
ORG_ID_TITLE = "معرّف المؤسسة"
ORG_ID_HELP = "ضعه في الترويسة X-Org-Id مع كل طلب إلى الواجهة البرمجية."
ORG_ID_COPY = "نسخ المعرّف"
WHATSAPP_ERROR_GENERIC = "تعذّر الاتصال بواتساب. اضغط «إعادة المحاولة»."
