"""Every piece of user-facing Arabic text. A second language is a second module of the same shape."""

from __future__ import annotations

APP_NAME = "لوحة الأسطول"
APP_TAGLINE = "مركز إشعارات واتساب"

# Error codes (services.errors.DomainError.code) to the Arabic a person reads.
ERRORS: dict[str, str] = {
    "invalid": "الطلب غير صالح.",
    "validation": "البيانات المدخلة غير صحيحة.",
    "not_found": "العنصر غير موجود.",
    "conflict": "تعارض مع بيانات موجودة.",
    "forbidden": "ليست لديك صلاحية لهذا الإجراء.",
    "invalid_phone": "رقم الهاتف غير صحيح. اكتبه بالصيغة الدولية مثل ‎+201001234567.",
    "missing_variables": "متغيرات ناقصة: {missing}",
    "not_connected": "الواتساب غير متصل. اربط الرقم أولاً.",
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
    "invalid_priority": "الأولوية رقم من 1 إلى 10.",
    "invalid_max_attempts": "عدد المحاولات من 1 إلى 20.",
}


def error_text(code: str, **params: object) -> str:
    """The Arabic text for an error code, with its parameters filled in."""
    text = ERRORS.get(code) or ERRORS["invalid"]
    flat = {k: ("، ".join(map(str, v)) if isinstance(v, list | tuple) else v) for k, v in params.items()}
    try:
        return text.format(**flat)
    except (KeyError, IndexError):
        return text


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
