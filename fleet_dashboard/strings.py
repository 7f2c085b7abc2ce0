"""Every piece of user-facing Arabic text. A second language is a second module of the same shape."""

from __future__ import annotations

import re

APP_NAME = "لوحة الأسطول"
APP_TAGLINE = "مركز إشعارات واتساب"

# Error codes (services.errors.DomainError.code) to the Arabic a person reads.
ERRORS: dict[str, str] = {
    # OIDC sign-in refusals (services/identities.REFUSALS).
    "oidc_email_unverified": "لم يؤكد مزوّد الهوية بريدك الإلكتروني. أكّده لديه ثم حاول مرة أخرى.",
    "oidc_no_account": "لا يوجد حساب نشط بهذا البريد. اطلب من مسؤول مؤسستك دعوتك أولاً.",
    "oidc_linked_elsewhere": "هذا الحساب مرتبط بهوية أخرى لدى مزوّد الهوية.",
    "oidc_inactive": "هذا الحساب موقوف.",
    "invalid": "الطلب غير صالح.",
    "validation": "البيانات المدخلة غير صحيحة.",
    "not_found": "العنصر غير موجود.",
    "conflict": "تعارض مع بيانات موجودة.",
    "forbidden": "ليست لديك صلاحية لهذا الإجراء.",
    "invalid_phone": "رقم الهاتف غير صحيح. اكتبه بالصيغة الدولية مثل ‎+201001234567.",
    "missing_variables": "متغيرات ناقصة: {missing}",
    "not_connected": "الواتساب غير متصل. اربط الرقم أولاً.",
    "send_failed": "رفض واتساب الإرسال أو تعذّر الوصول إليه.",
    # Why the WhatsApp session is down (whatsapp_sessions.connection_error_code).
    "connect_failed": "انقطع الاتصال بواتساب؛ نعيد المحاولة تلقائياً.",
    "connect_gave_up": ("تعذّر الاتصال بواتساب بعد عدة محاولات متتالية؛ ما زلنا نحاول كل بضع دقائق."
                        " تأكد من اتصال الهاتف بالإنترنت أو اضغط «إعادة المحاولة» الآن."),
    "temporary_ban": "حظر واتساب هذا الرقم مؤقتاً. توقف الإرسال؛ انتظر انتهاء الحظر ثم أعد المحاولة.",
    "logged_out_phone": "فُكّ ربط الجهاز من الهاتف. اربط الواتساب من جديد بمسح الرمز.",
    "qr_expired": "انتهت صلاحية رمز QR قبل مسحه. اضغط «ربط الواتساب» لرمز جديد.",
    "engine_stopped": "أُعيد تشغيل الخدمة؛ سيعود الاتصال تلقائياً.",
    "engine_crashed": "توقفت خدمة واتساب فجأة وتُعاد الآن؛ سيعود الاتصال تلقائياً خلال ثوانٍ.",
    "engine_down": "خدمة واتساب متوقفة حالياً؛ ستعود الجلسات تلقائياً حين تعمل من جديد.",
    "reconnecting": "انقطع الاتصال بواتساب؛ يعيد الاتصال نفسه تلقائياً ولن تُرسل رسائل حتى يعود.",
    "keepalive_timeout": "متصل، لكن واتساب لا يرد على نبضات الاتصال؛ قد تتأخر الرسائل حتى يستقر الاتصال.",
    "sends_failing": "متصل، لكن الرسائل الأخيرة فشلت كلها؛ تحقّق من الهاتف ومن حالة الرقم لدى واتساب.",
    "needs_relink": "الجهاز المرتبط لم يعد محفوظاً (فُكّ ربطه من مكان آخر). اربط الواتساب من جديد.",
    "stream_replaced": ("فتح جهاز أو برنامج آخر هذا الحساب مكاننا فأُغلق اتصالنا. اضغط «ربط الواتساب»"
                        " لاستعادته."),
    "client_outdated": "يقول واتساب إن إصدار البرنامج قديم؛ يلزم تحديث الخدمة.",
    "pair_code_failed": "تعذّر الحصول على رمز الربط من واتساب. تأكد من الرقم وحاول مرة أخرى، أو امسح رمز QR.",
    "unlinked_offline": ("فككنا ربط الجهاز لدينا لكن تعذّر إبلاغ واتساب؛ احذفه من «الأجهزة المرتبطة»"
                         " في الهاتف."),
    "already_connected": "الواتساب متصل بالفعل. افصله أولاً لربط رقم آخر.",
    "send_outcome_unknown": ("لم يؤكد واتساب استلام الرسالة وقد تكون وصلت؛ لم نُعد إرسالها تلقائياً."
                             " تحقّق قبل إعادة المحاولة."),
    "send_timeout": "انتهت مهلة الإرسال وقد تكون الرسالة وصلت؛ لم نُعد إرسالها تلقائياً. تحقّق قبل إعادة المحاولة.",
    "outcome_unknown": ("توقف العامل أثناء الإرسال وقد تكون الرسالة وصلت؛ لم نُعد إرسالها تلقائياً."
                        " تحقّق قبل إعادة المحاولة."),
    "already_handled": "هذه الرسالة أُرسلت أو عولجت من قبل، فلم تُرسل مرة أخرى.",
    "opted_out": "هذا الرقم طلب إيقاف الرسائل.",
    "org_name": "اسم المؤسسة مطلوب (حتى 200 حرف).",
    "org_slug": "المعرّف المختصر يقبل الحروف الإنجليزية الصغيرة والأرقام والشرطة فقط.",
    "org_exists": "توجد مؤسسة بهذا المعرّف.",
    "unknown_org": "المؤسسة غير موجودة.",
    "invalid_role": "الدور غير معروف.",
    "super_admin_org": "مدير النظام لا ينتمي إلى مؤسسة.",
    "role_needs_org": "هذا الدور يحتاج إلى مؤسسة.",
    "weak_password": "كلمة المرور قصيرة: 8 أحرف على الأقل.",
    "invalid_email": "البريد الإلكتروني غير صحيح.",
    "email_exists": "يوجد مستخدم بهذا البريد.",
    "unknown_user": "المستخدم غير موجود.",
    "unknown_template": "القالب غير موجود.",
    "template_required": "اختر قالباً.",
    "template_name": "اسم القالب: حروف إنجليزية صغيرة وأرقام و _ ويبدأ بحرف (2-64).",
    "template_body_empty": "نص القالب مطلوب.",
    "template_body_long": "نص القالب أطول من {limit} حرف.",
    "template_exists": "يوجد قالب بهذا الاسم.",
    "system_template_readonly": "قوالب النظام للقراءة فقط. يمكنك نسخها.",
    "invalid_cursor": "رابط الصفحة غير صالح.",
    "rate_limited": "محاولات كثيرة. حاول مرة أخرى بعد قليل.",
    "bad_credentials": "البريد الإلكتروني أو كلمة المرور غير صحيحة.",
    "internal": "حدث خطأ غير متوقع. حاول مرة أخرى.",
    # API keys and webhooks (services/api_keys.py, services/webhooks.py)
    "invalid_scope": "صلاحية غير معروفة. الصلاحيات المتاحة: send و sessions و read.",
    "api_key_ref": "اكتب معرّف المفتاح أو 6 أحرف على الأقل من بدايته.",
    "unknown_api_key": "مفتاح الواجهة البرمجية غير موجود.",
    "webhook_url": "رابط الإشعارات (Webhook) يجب أن يبدأ بـ http:// أو https://.",
    "webhook_events": "نوع حدث غير معروف للإشعارات.",
    "webhook_secret": "السر يجب أن يكون 16 حرفاً على الأقل.",
    "unknown_webhook": "رابط الإشعارات غير موجود.",
    "webhook_private": "لا يُسمح برابط إشعارات إلى عنوان داخلي أو خاص.",
    "template_inactive": "هذا القالب معطّل.",
    "message_empty": "نص الرسالة مطلوب.",
    "message_too_long": "الرسالة أطول من {limit} حرف.",
    "idempotency_key_long": "مفتاح عدم التكرار أطول من {limit} حرف.",
    "unknown_message": "الرسالة غير موجودة.",
    "invalid_status": "الحالة غير معروفة.",
    "unknown_notification": "الإشعار غير موجود.",
    "not_cancellable": "لا يمكن إلغاء إشعار إلا وهو بانتظار الإرسال.",
    "not_retryable": "لا تمكن إعادة المحاولة إلا لإشعار فشل أو حالته غير مؤكدة.",
    "bulk_too_large": "الحد الأقصى {limit} إشعار في الطلب الواحد.",
    "invalid_priority": "الأولوية رقم من 0 (الأعلى) إلى 10.",
    "invalid_max_attempts": "عدد المحاولات من 1 إلى 20.",
    # Accounts, organisations and links (issue 12).
    "organization_suspended": "هذه المؤسسة موقوفة مؤقتاً: لا يمكن الإرسال أو التعديل حتى يُعاد تفعيلها.",
    "invalid_timezone": "المنطقة الزمنية غير معروفة. اختر اسماً مثل Asia/Riyadh.",
    "invalid_datetime": "التاريخ والوقت غير صحيحين.",
    "last_owner": "يجب أن يبقى للمؤسسة مالك نشط واحد على الأقل.",
    "admin_cannot_touch_owner": "المسؤول لا يستطيع تعيين مالك أو تعديل حساب مالك.",
    "cannot_deactivate_self": "لا يمكنك إيقاف حسابك بنفسك.",
    "wrong_password": "كلمة المرور الحالية غير صحيحة.",
    "full_name": "الاسم مطلوب (حتى 200 حرف).",
    "link_invalid": "هذا الرابط غير صالح.",
    "link_used": "استُخدم هذا الرابط من قبل؛ كل رابط يعمل مرة واحدة فقط.",
    "link_expired": "انتهت صلاحية هذا الرابط. اطلب رابطاً جديداً.",
    "link_revoked": "أُلغي هذا الرابط.",
    "unknown_link": "الدعوة غير موجودة.",
    "user_inactive": "هذا الحساب موقوف.",
    "user_is_super_admin": "هذا المعرّف لمدير النظام، ولا ينتمي إلى مؤسسة.",
    # Documents and images (issue 13).
    "media_too_large": "الملف أكبر من الحد المسموح ({limit_text}).",
    "media_empty": "الملف فارغ.",
    "media_not_image": "الصورة يجب أن تكون JPEG أو PNG أو WebP؛ أرسل غيرها كمستند.",
    "media_content_mismatch": "محتوى الملف لا يطابق نوعه ({mime_type}).",
    "media_invalid_type": "نوع الملف غير صحيح.",
    "media_invalid_kind": "نوع الرسالة لا يحمل ملفاً.",
    "media_invalid_base64": "محتوى الملف (base64) غير صالح.",
    "media_invalid_url": "رابط الملف يجب أن يبدأ بـ http:// أو https://.",
    "media_url_refused": "لا يُسمح بجلب ملف من عنوان داخلي أو خاص.",
    "media_fetch_failed": "تعذّر جلب الملف من رابطه.",
    "media_source": "حدّد الملف برابط أو بمحتوى base64، وليس بالاثنين.",
    "media_required": "هذا النوع من الرسائل يحتاج إلى ملف.",
    "media_needs_type": "حدّد نوع الرسالة: مستند أو صورة.",
    "media_missing": "الملف لم يعد موجوداً (حُذف وفق سياسة الاحتفاظ).",
    "body_too_large": "حجم الطلب أكبر من المسموح.",
}


def file_size(size: int) -> str:
    """A file size as people read it: 350 ك.ب، 4.2 م.ب."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} م.ب"
    return f"{max(1, round(size / 1024))} ك.ب"


def error_text(code: str, **params: object) -> str:
    """The Arabic text for an error code, with its parameters filled in."""
    text = ERRORS.get(code) or ERRORS["invalid"]
    if isinstance(params.get("limit"), int) and "limit_text" not in params:
        params = {**params, "limit_text": file_size(params["limit"])}
    flat = {k: ("، ".join(map(str, v)) if isinstance(v, list | tuple) else v) for k, v in params.items()}
    try:
        return text.format(**flat)
    except (KeyError, IndexError):  # a detail we were not given: leave it out rather than show "{name}"
        return re.sub(r"[:،]?\s*\{\w*\}", "", text).strip()


SESSION_STATUS = {
    "disconnected": "غير متصل",
    "connecting": "جارٍ الاتصال",
    "qr_pending": "بانتظار مسح الرمز",
    "connected": "متصل",
    "error": "خطأ",
}

MESSAGE_STATUS = {
    "pending": "قيد الانتظار",
    "queued": "في الطابور",
    "sending": "جارٍ الإرسال",
    "sent": "تم الإرسال",
    "delivered": "تم التسليم",
    "read": "تمت القراءة",
    "failed": "فشل",
}

QUEUE_STATUS = {
    "pending": "بانتظار الإرسال",
    "processing": "قيد المعالجة",
    "completed": "مكتمل",
    "failed": "فشل",
    "cancelled": "ملغى",
    "unknown": "غير مؤكد — يحتاج مراجعة",
}

ROLES = {"owner": "مالك", "admin": "مسؤول", "member": "عضو", "super_admin": "مدير النظام"}

LOGIN_TITLE = "تسجيل الدخول"
LOGIN_EMAIL = "البريد الإلكتروني"
LOGIN_PASSWORD = "كلمة المرور"
LOGIN_SUBMIT = "دخول"
LOGOUT = "تسجيل الخروج"

# ---- Dashboard (pages, state, components) ----
LOGIN_OIDC = "الدخول عبر مزوّد الهوية"
LOGIN_OIDC_FAILED = "تعذّر الدخول عبر مزوّد الهوية. حاول مرة أخرى."
LOGIN_WAIT = "جارٍ التحقق…"
LOGIN_HINT = "ادخل بحساب مؤسستك لإدارة إشعارات واتساب."

NAV_CONNECT = "ربط الواتساب"
NAV_SEND = "إرسال رسالة"
NAV_TEMPLATES = "القوالب"
NAV_HISTORY = "سجل الرسائل"
NAV_QUEUE = "الطابور"
NAV_AUDIT = "سجل التدقيق"
NAV_SETTINGS = "الربط البرمجي"
NAV_ADMIN = "نظرة عامة"
NAV_MENU = "القائمة"
READ_ONLY_BANNER = "عرض للقراءة فقط:"
BACK_TO_OVERVIEW = "العودة إلى النظرة العامة"
LOADING = "جارٍ التحميل…"
NONE = "—"
CANCEL = "إلغاء"
SAVE = "حفظ"
CLOSE = "إغلاق"
BACK = "رجوع"
ALL = "الكل"
APPLY = "تطبيق"
RESET = "مسح"
NEXT_PAGE = "الصفحة التالية"
FIRST_PAGE = "الصفحة الأولى"
PREV_PAGE = "الصفحة السابقة"
FIELD_REQUIRED = "هذا الحقل مطلوب"

FORBIDDEN_TITLE = "403 — غير مسموح"
FORBIDDEN_BODY = "ليست لديك صلاحية لعرض هذه الصفحة."
FORBIDDEN_HOME = "العودة إلى الرئيسية"
QR_MANAGERS_ONLY = "رمز الربط يظهر للمالك والمدير فقط: مسحه يربط هاتفاً بواتساب المؤسسة."
PAGE_NOT_ALLOWED = "ليست لديك صلاحية لعرض هذه الصفحة."
NOT_MANAGER = "دورك يتيح العرض فقط: لا يمكنك ربط الواتساب أو قطعه أو تعديل القوالب."

CONNECT_TITLE = "ربط الواتساب"
CONNECT_INTRO = "قم بربط حساب الواتساب الخاص بك لإرسال الإشعارات التلقائية للعملاء."
CONNECT_BUTTON = "ربط الواتساب"
CONNECT_STATUS = "حالة الاتصال"
CONNECTING_TEXT = "جارٍ الاتصال بواتساب…"
QR_INSTRUCTIONS = "افتح واتساب على هاتفك، ثم الإعدادات ← الأجهزة المرتبطة ← ربط جهاز، وامسح الرمز."
QR_ALT = "رمز QR لربط واتساب"
QR_EXPIRES_IN = "ينتهي الرمز خلال"
QR_SECONDS = "ثانية"
QR_EXPIRED = "انتهت صلاحية الرمز، سيظهر رمز جديد تلقائياً."
PHONE = "الرقم"
DISPLAY_NAME = "الاسم"
LAST_CONNECTED = "آخر اتصال"
ERROR_REASON = "سبب الخطأ"
RETRY_COUNT = "عدد المحاولات"
RETRY = "إعادة المحاولة"
DISCONNECT = "قطع الاتصال"
DISCONNECT_CONFIRM_TITLE = "قطع الاتصال؟"
DISCONNECT_CONFIRM_BODY = "سيُسجَّل خروج الرقم من هذه اللوحة، وستحتاج إلى مسح رمز جديد لربطه مرة أخرى."
DISCONNECT_CONFIRM = "نعم، اقطع الاتصال"

SEND_TITLE = "إرسال رسالة"
SEND_MODE_TEXT = "نص حر"
SEND_MODE_TEMPLATE = "قالب"
RECIPIENT = "رقم المستلم"
RECIPIENT_PLACEHOLDER = "‎+201001234567"
MESSAGE_TEXT = "نص الرسالة"
ATTACH_FILE = "إرفاق ملف PDF أو صورة"
ATTACH_HINT = "اسحب الملف إلى هنا أو انقر للاختيار. يُرسل النص أو القالب كتعليق عليه."
REMOVE_FILE = "إزالة الملف"
MESSAGE_FILE = "الملف"
MESSAGE_TYPE = {"text": "نص", "template": "قالب", "document": "مستند", "image": "صورة"}
CHOOSE_TEMPLATE = "اختر قالباً"
TEMPLATE_VARIABLES = "متغيرات القالب"
PREVIEW = "المعاينة"
PREVIEW_EMPTY = "ستظهر المعاينة هنا."
SEND_NOW = "إرسال الآن"
SCHEDULE = "جدولة في الطابور"
SCHEDULE_AT = "موعد الإرسال (اختياري)"
SENT_OK = "أُرسلت الرسالة."
QUEUED_OK = "أضيفت الرسالة إلى الطابور."
SEND_FAILED = "لم تُرسل الرسالة:"

TEMPLATES_TITLE = "القوالب"
TEMPLATE_NEW = "قالب جديد"
TEMPLATE_EDIT = "تعديل القالب"
TEMPLATE_NAME = "الاسم"
TEMPLATE_NAME_HINT = "حروف إنجليزية صغيرة وأرقام و _، مثل order_ready"
TEMPLATE_DESCRIPTION = "الوصف"
TEMPLATE_CATEGORY = "التصنيف"
TEMPLATE_BODY = "نص القالب"
TEMPLATE_BODY_HINT = "استخدم {{اسم_المتغير}} للمتغيرات، مثل {{customer_name}}"
TEMPLATE_VARS = "المتغيرات"
TEMPLATE_USAGE = "مرات الاستخدام"
TEMPLATE_LAST_USED = "آخر استخدام"
TEMPLATE_KIND = "النوع"
TEMPLATE_SYSTEM = "نظام"
TEMPLATE_ORG = "المؤسسة"
TEMPLATE_ACTIVE = "مفعّل"
TEMPLATE_INACTIVE = "معطّل"
TEMPLATE_ACTIONS = "إجراءات"
EDIT = "تعديل"
DELETE = "حذف"
DUPLICATE = "نسخ"
DEACTIVATE = "تعطيل"
ACTIVATE = "تفعيل"
TEMPLATE_SAMPLE_PREVIEW = "معاينة بقيم تجريبية"
TEMPLATE_DELETE_TITLE = "حذف القالب؟"
TEMPLATE_DELETE_BODY = "لا يمكن التراجع عن الحذف. الرسائل المرسلة تحتفظ بنصها."
TEMPLATE_CREATED = "أُنشئ القالب."
TEMPLATE_UPDATED = "حُفظ القالب."
TEMPLATE_DELETED = "حُذف القالب."
TEMPLATE_DUPLICATED = "نُسخ القالب إلى قوالب المؤسسة."
SAMPLE_VALUE = "قيمة تجريبية"

HISTORY_TITLE = "سجل الرسائل"
FILTER_STATUS = "الحالة"
FILTER_FROM = "من تاريخ"
FILTER_TO = "إلى تاريخ"
FILTER_SEARCH = "بحث برقم أو نص"
FILTER_TEMPLATE = "القالب"
EXPORT_CSV = "تصدير CSV"
COL_RECIPIENT = "المستلم"
COL_BODY = "النص"
COL_STATUS = "الحالة"
COL_TEMPLATE = "القالب"
COL_DATE = "التاريخ"
COL_DETAILS = "التفاصيل"
HISTORY_EMPTY = "لا توجد رسائل."
DETAILS = "عرض"
MESSAGE_TITLE = "تفاصيل الرسالة"
MESSAGE_BODY = "نص الرسالة"
MESSAGE_ERROR = "الخطأ"
MESSAGE_CREATED = "أُنشئت"
MESSAGE_SENT = "أُرسلت"
MESSAGE_DELIVERED = "سُلّمت"
MESSAGE_READ = "قُرئت"
MESSAGE_FAILED = "فشلت"
MESSAGE_NOT_FOUND = "الرسالة غير موجودة."

AUDIT_TITLE = "سجل التدقيق"
AUDIT_EVENT = "الحدث"
AUDIT_ACTOR = "المنفّذ"
AUDIT_DETAILS = "التفاصيل"
AUDIT_SYSTEM_ACTOR = "النظام"
AUDIT_EMPTY = "لا توجد أحداث."
AUDIT_EVENTS = {
    "login": "تسجيل دخول",
    "login_failed": "محاولة دخول فاشلة",
    "oidc_linked": "ربط حساب مزوّد الهوية",
    "logout": "تسجيل خروج",
    "connect_requested": "طلب ربط الواتساب",
    "retry_requested": "إعادة محاولة الاتصال",
    "logout_requested": "قطع الاتصال",
    "stop_requested": "إيقاف الجلسة",
    "message_sent": "إرسال رسالة",
    "message_scheduled": "جدولة رسالة",
    "template_created": "إنشاء قالب",
    "template_updated": "تعديل قالب",
    "template_deleted": "حذف قالب",
    "template_duplicated": "نسخ قالب",
    "queue_cancelled": "إلغاء إشعار",
    "queue_retried": "إعادة إرسال إشعار",
    "access_denied": "محاولة مرفوضة",
    "messages_exported": "تصدير الرسائل",
    # What the engine and the webhooks did on their own.
    "qr_generated": "إنشاء رمز QR",
    "session_connected": "اتصال الواتساب",
    "session_disconnected": "انقطاع الاتصال",
    "session_error": "خطأ في الجلسة",
    "logged_out": "خروج الجهاز من الواتساب",
    "temporary_ban": "حظر مؤقت",
    "opted_out": "إلغاء اشتراك رقم",
    "opted_in": "إعادة اشتراك رقم",
    "webhook_delivery": "إرسال Webhook",
    "webhook_saved": "حفظ Webhook",
    "webhook_deleted": "حذف Webhook",
    "api_key_created": "إنشاء مفتاح واجهة برمجية",
    "api_key_revoked": "إلغاء مفتاح واجهة برمجية",
    # Organisations and people (issue 12).
    "org_created": "إنشاء مؤسسة",
    "org_renamed": "تغيير اسم المؤسسة",
    "org_timezone_changed": "تغيير المنطقة الزمنية",
    "org_suspended": "إيقاف المؤسسة",
    "org_resumed": "إعادة تفعيل المؤسسة",
    "member_invited": "دعوة عضو",
    "invitation_revoked": "إلغاء دعوة",
    "invitation_accepted": "قبول دعوة",
    "role_changed": "تغيير دور",
    "user_deactivated": "إيقاف حساب",
    "user_reactivated": "إعادة تفعيل حساب",
    "password_changed": "تغيير كلمة المرور",
    "user_provisioned": "إضافة مستخدم من النظام الأساسي",
    "user_updated": "تحديث مستخدم من النظام الأساسي",
    "user_moved_out": "نقل مستخدم إلى مؤسسة أخرى",
    "login_link_created": "إنشاء رابط دخول لمرة واحدة",
    "retention_purged": "حذف السجلات القديمة (مدة الاحتفاظ)",
    "session_refused": "رفض جلسة منتهية",
    "user_activated": "تفعيل مستخدم",
}

QUEUE_TITLE = "الطابور"
QUEUE_EMPTY = "لا توجد إشعارات."
COL_SCHEDULED = "موعد الإرسال"
COL_ATTEMPTS = "المحاولات"
COL_ERROR = "الخطأ"
COL_ACTIONS = "إجراءات"
QUEUE_CANCELLED = "أُلغي الإشعار."
QUEUE_RETRIED = "أعيد الإشعار إلى الطابور."

ADMIN_TITLE = "نظرة عامة على المؤسسات"
COL_ORG = "المؤسسة"
COL_SESSION = "حالة الجلسة"
COL_TODAY = "اليوم"
COL_WEEK = "آخر 7 أيام"
COL_FAILURE_RATE = "نسبة الفشل"
COL_QUEUE_DEPTH = "في الطابور"
COL_LAST_ERROR = "آخر خطأ"
OPEN_ORG = "فتح"
CHART_TITLE = "الرسائل يومياً (آخر 14 يوماً)"
CHART_MESSAGES = "رسائل"
CHART_FAILED = "فاشلة"
ADMIN_EMPTY = "لا توجد مؤسسات."
ADMIN_PICK_ORG = "اختر مؤسسة من النظرة العامة لعرض صفحاتها."
ADMIN_SEARCH = "بحث باسم المؤسسة أو معرّفها"
ADMIN_NO_MATCH = "لا توجد مؤسسة تطابق البحث."
ADMIN_SORT = "ترتيب حسب"
ADMIN_SORTS = {"name": COL_ORG, "status": COL_SESSION, "sent_today": COL_TODAY, "sent_week": COL_WEEK,
               "failure_rate": COL_FAILURE_RATE, "queue_depth": COL_QUEUE_DEPTH}
SORT_ASC = "تصاعدي"
SORT_DESC = "تنازلي"
ADMIN_SUMMARY = "{total} مؤسسة · الصفحة {page} من {pages}"

# Believable values for the common variables, so a preview reads like a real message.
TEMPLATE_SAMPLES = {"customer_name": "أحمد علي", "company_name": "لوحة الأسطول", "plan_name": "الباقة الذهبية",
                    "expiry_date": "2026-12-31", "days_left": "5", "amount": "250 جنيه", "due_date": "2026-12-15",
                    "order_no": "1042"}

# The demo organisation `fleet-dashboard run` seeds on a fresh database.
DEMO_ORG_NAME = "أسطول تجريبي"
DEMO_OWNER_NAME = "مالك تجريبي"
DEMO_ADMIN_NAME = "مدير النظام"
LIST_SEPARATOR = "، "

SETTINGS_TITLE = "الربط البرمجي"
CREATED_AT = "أُنشئ"
WEBHOOKS_TITLE = "إشعارات Webhook"
WEBHOOKS_HELP = ("نرسل إلى هذا الرابط طلب JSON موقّعاً (X-Fleet-Signature) عند تغيّر حالة رسالة أو الجلسة"
                 " أو عند وصول رسالة.")
WEBHOOKS_EMPTY = "لا توجد روابط إشعارات."
WEBHOOK_URL = "الرابط"
WEBHOOK_SECRET = "السر (اختياري)"
WEBHOOK_SECRET_HINT = "اتركه فارغاً لننشئ سراً ونعرضه مرة واحدة. 16 حرفاً على الأقل."
WEBHOOK_EVENTS = "الأحداث"
WEBHOOK_EVENT_NAMES = {"message.status": "حالة الرسائل", "session.status": "حالة الجلسة",
                       "message.inbound": "الرسائل الواردة"}
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
SESSION_ERROR_GENERIC = "تعذّر الاتصال بواتساب. اضغط «إعادة المحاولة»."

# ---- Accounts: invitations, sign-in links (issue 12) ----
INVITE_EMAIL_SUBJECT = "دعوة للانضمام إلى {org} في لوحة الأسطول"
INVITE_EMAIL_BODY = (
    "مرحباً،\n\n"
    "دُعيت للانضمام إلى مؤسسة «{org}» في لوحة الأسطول بدور: {role}.\n"
    "افتح الرابط التالي لتختار اسمك وكلمة المرور:\n\n{url}\n\n"
    "يعمل الرابط مرة واحدة فقط، وتنتهي صلاحيته خلال {hours} ساعة.\n"
)
LINK_LOGIN_TITLE = "الدخول برابط لمرة واحدة"
LINK_LOGIN_WAIT = "جارٍ تسجيل دخولك…"
LINK_LOGIN_TO_FORM = "الدخول بكلمة المرور"

# Linking by phone number (Connect page), and engine health.
PAIR_BY_PHONE = "الربط برقم الهاتف"
PAIR_BY_PHONE_HINT = "إن كنت تفتح هذه اللوحة من هاتفك نفسه فلا يمكنك مسح الرمز: اربط برقم الهاتف بدلاً من ذلك."
PAIR_PHONE_LABEL = "رقم واتساب الذي تريد ربطه"
PAIR_PHONE_PLACEHOLDER = "‎+201001234567"
PAIR_GET_CODE = "احصل على رمز الربط"
PAIR_WAITING = "نطلب رمز الربط من واتساب…"
PAIR_CODE_TITLE = "رمز الربط"
PAIR_CODE_FOR = "للرقم"
PAIR_STEPS = (
    "افتح واتساب على الهاتف صاحب هذا الرقم.",
    "اذهب إلى الإعدادات ← الأجهزة المرتبطة ← ربط جهاز.",
    "اضغط «الربط برقم الهاتف بدلاً من ذلك».",
    "أدخل الرمز المكوّن من 8 خانات كما يظهر هنا.",
)
PAIR_CODE_EXPIRES_IN = "ينتهي الرمز خلال"
PAIR_CODE_EXPIRED = "انتهت صلاحية الرمز. اطلب رمزاً جديداً."
PAIR_USE_QR = "استخدم رمز QR بدلاً من ذلك"
NEXT_RETRY = "المحاولة التالية"
ENGINES_TITLE = "خدمات واتساب"
ENGINES_NONE = "لا تعمل أي خدمة واتساب الآن؛ الجلسات متوقفة حتى تعود."
ENGINE_SESSIONS = "جلسات"
ENGINE_CONNECTED = "متصلة"
