"""Arabic names of the vocabularies: session, message and queue statuses, and roles."""

from __future__ import annotations

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
    "cancelled": "أُلغيت",
    "unknown": "غير مؤكدة",
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
