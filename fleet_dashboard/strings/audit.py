"""The audit log page, and every audit event's Arabic name."""

from __future__ import annotations

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
    "opt_out_added": "إضافة رقم إلى قائمة الإيقاف",
    "opt_out_removed": "حذف رقم من قائمة الإيقاف",
    "opt_outs_exported": "تصدير قائمة الإيقاف",
    "webhook_delivery": "إرسال Webhook",
    "webhook_saved": "حفظ Webhook",
    "webhook_deleted": "حذف Webhook",
    "api_key_created": "إنشاء مفتاح واجهة برمجية",
    "api_key_revoked": "إلغاء مفتاح واجهة برمجية",
    # Organisations and people.
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
    "password_change_refused": "محاولة تغيير كلمة المرور بكلمة حالية خاطئة",
    "user_provisioned": "إضافة مستخدم من النظام الأساسي",
    "user_updated": "تحديث مستخدم من النظام الأساسي",
    "user_moved_out": "نقل مستخدم إلى مؤسسة أخرى",
    "login_link_created": "إنشاء رابط دخول لمرة واحدة",
    "break_glass_started": "دخول طارئ من مشرف المنصة باسم أحد المستخدمين",
    "retention_purged": "حذف السجلات القديمة (مدة الاحتفاظ)",
    "session_refused": "رفض جلسة منتهية",
    "user_activated": "تفعيل مستخدم",
    "user_created": "إنشاء مستخدم",
    "signed_out_everywhere": "تسجيل الخروج من كل الأجهزة",
    "device_unlinked": "فك ربط الجهاز",
    # Guards of the sending number.
    "sending_rules_changed": "تغيير قواعد الإرسال",
    "sending_paused": "إيقاف الإرسال لحماية الرقم",
    "sending_resumed": "استئناف الإرسال",
    "pairing_note": "ملاحظة من واتساب أثناء الربط",
}

# Each audit row as a sentence. {placeholders} are filled from the row's details by web/audit_text.py: the
# first one that names something with a page ({template}, {message}, {person}, {phone}, ...) becomes its link.
AUDIT_SENTENCES = {
    "login": "دخول إلى اللوحة.",
    "login_failed": "محاولة دخول فاشلة بالبريد {email}.",
    "oidc_linked": "رُبط الحساب بمزوّد الهوية.",
    "logout": "خروج من اللوحة.",
    "connect_requested": "طُلب {connect}.",
    "retry_requested": "طُلبت إعادة محاولة الاتصال بواتساب.",
    "logout_requested": "طُلب قطع اتصال الواتساب.",
    "stop_requested": "طُلب إيقاف جلسة الواتساب.",
    "message_sent": "أُرسلت {message} إلى {recipient}.",
    "message_scheduled": "جُدول {notifications} في الطابور.",
    "template_created": "أُنشئ القالب {template}.",
    "template_updated": "عُدّل القالب {template}.",
    "template_deleted": "حُذف القالب {template_name}.",
    "template_duplicated": "نُسخ قالب إلى قوالب المؤسسة باسم {template}.",
    "queue_cancelled": "أُلغي {notification} إلى {recipient}.",
    "queue_retried": "أُعيد {notification} إلى {recipient} إلى الطابور.",
    "access_denied": "رُفضت محاولة لا يسمح بها دور {role}{page}.",
    "messages_exported": "صُدّرت الرسائل إلى ملف CSV.",
    "qr_generated": "ظهر رمز QR جديد لربط الواتساب.",
    "session_connected": "اتصل الواتساب بالرقم {phone}.",
    "session_disconnected": "انقطع اتصال الواتساب.{because}",
    "session_error": "خطأ في جلسة الواتساب.{because}",
    "logged_out": "خرج الجهاز المرتبط من الواتساب.{because}",
    "temporary_ban": "حظر واتساب الرقم مؤقتاً.",
    "opted_out": "طلب الرقم {phone} إيقاف الرسائل بكلمة {keyword}.",
    "opted_in": "طلب الرقم {phone} عودة الرسائل بكلمة {keyword}.",
    "opt_out_added": "أضيف الرقم {phone} إلى قائمة الإيقاف.{because}",
    "opt_out_removed": "حُذف الرقم {phone} من قائمة الإيقاف.",
    "opt_outs_exported": "صُدّرت قائمة الإيقاف ({rows} رقم).",
    "webhook_delivery": "أُرسل حدث إلى رابط الإشعارات {url}: {outcome}.",
    "webhook_saved": "حُفظ رابط الإشعارات {url} للأحداث: {events}.",
    "webhook_deleted": "حُذف رابط الإشعارات {url}.",
    "api_key_created": "أُنشئ مفتاح الواجهة البرمجية {key} بصلاحيات: {scopes}.",
    "api_key_revoked": "أُلغي مفتاح الواجهة البرمجية {key}.",
    "org_created": "أُنشئت المؤسسة {org_name}.",
    "org_renamed": "تغيّر اسم المؤسسة إلى {org_name}.",
    "org_timezone_changed": "تغيّرت المنطقة الزمنية للمؤسسة إلى {timezone}.",
    "org_suspended": "أُوقفت المؤسسة.{because}",
    "org_resumed": "أُعيد تفعيل المؤسسة.",
    "member_invited": "دُعي {email} للانضمام بدور {role}.",
    "invitation_revoked": "أُلغيت دعوة {email}.",
    "invitation_accepted": "قُبلت دعوة {person} بدور {role}.",
    "role_changed": "تغيّر دور {person} من {before_role} إلى {role}.",
    "user_deactivated": "أُوقف حساب {person}.",
    "user_reactivated": "أُعيد تفعيل حساب {person}.",
    "user_activated": "فُعّل حساب {person}.",
    "user_created": "أُنشئ حساب {person} بدور {role}.",
    "password_changed": "تغيّرت كلمة مرور {person}.",
    "password_change_refused": "رُفض تغيير كلمة مرور {person}: كلمة المرور الحالية غير صحيحة.",
    "user_provisioned": "أضاف النظام الأساسي {person} بدور {role}.",
    "user_updated": "حدّث النظام الأساسي بيانات {person}.",
    "user_moved_out": "نُقل {person} إلى مؤسسة أخرى.",
    "login_link_created": "أُنشئ رابط دخول لمرة واحدة لحساب {person}.",
    "break_glass_started": "فُتحت جلسة دخول طارئ باسم {person}.{because}",
    "retention_purged": "حُذفت السجلات الأقدم من مدة الاحتفاظ.",
    "session_refused": "رُفضت جلسة منتهية.",
    "signed_out_everywhere": "سُجّل خروج {person} من كل الأجهزة.",
    "device_unlinked": "فُكّ ربط الجهاز من الواتساب.",
    "sending_rules_changed": "تغيّرت {rules}.",
    "sending_paused": "توقف الإرسال لحماية الرقم.{because}",
    "sending_resumed": "استؤنف الإرسال.",
    "pairing_note": "ملاحظة من واتساب أثناء الربط.",
}
# The words the placeholders above put in a sentence.
AUDIT_A_MESSAGE = "رسالة"
AUDIT_NOTIFICATION = "إشعار"
AUDIT_NOTIFICATIONS = "{count} إشعار"
AUDIT_CONNECT = "ربط الواتساب"
AUDIT_RULES = "قواعد الإرسال"
AUDIT_BECAUSE = " السبب: {reason}"
AUDIT_ON_PAGE = " في صفحة {page}"
AUDIT_UNKNOWN_EVENT = "حدث في المؤسسة."
AUDIT_DELIVERY = {"delivered": "وصل", "failed": "فشل نهائياً", "retrying": "فشل وسنعيد المحاولة"}
# Who did it, when it was not a person of the organisation.
AUDIT_ACTOR_API_KEY = "مفتاح الواجهة البرمجية {name}"
AUDIT_ACTOR_PLATFORM = "النظام الأساسي"
AUDIT_ACTOR_OPERATOR = "مشغّل الخادم"
AUDIT_ACTOR_BREAK_GLASS = "{name} (دخول طارئ)"
