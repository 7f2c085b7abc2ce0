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
