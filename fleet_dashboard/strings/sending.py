"""Sending and templates: the Send page, the template editor and its sample values."""

from __future__ import annotations

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
SENDING = "جارٍ الإرسال…"
# Under the number field, once it reads as a number: where the message will really go (+20 100 123 4567).
WILL_SEND_TO = "سيُرسل إلى"
RESULT_TO = "إلى"

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

# Believable values for the common variables, so a preview reads like a real message.
TEMPLATE_SAMPLES = {"customer_name": "أحمد علي", "company_name": "لوحة الأسطول", "plan_name": "الباقة الذهبية",
                    "expiry_date": "2026-12-31", "days_left": "5", "amount": "250 جنيه", "due_date": "2026-12-15",
                    "order_no": "1042"}
TEMPLATE_COPY_OF = "{name} (نسخة)"
TEMPLATE_DISPLAY_NAME = "الاسم الظاهر"
TEMPLATE_DISPLAY_NAME_HINT = "ما يقرؤه فريقك في القوائم والسجل، مثل «تذكير بالدفع»."
TEMPLATE_API_NAME = "الاسم البرمجي"
TEMPLATE_API_NAME_HINT = "حروف إنجليزية صغيرة وأرقام و _، مثل order_ready: يستخدمه النظام الخلفي في template_name."
# The {{variables}} as people read them; a name made of known words is read word by word (customer_name: اسم العميل).
VARIABLE_NAMES = {"customer_name": "اسم العميل", "company_name": "اسم الشركة", "plan_name": "اسم الباقة",
                  "expiry_date": "تاريخ الانتهاء", "days_left": "الأيام المتبقية", "amount": "المبلغ",
                  "due_date": "تاريخ الاستحقاق", "order_no": "رقم الطلب", "otp": "رمز التحقق",
                  "code": "الرمز", "link": "الرابط", "url": "الرابط"}
VARIABLE_WORDS = {"customer": "العميل", "client": "العميل", "company": "الشركة", "plan": "الباقة", "name": "اسم",
                  "date": "تاريخ", "time": "وقت", "amount": "المبلغ", "total": "الإجمالي", "due": "الاستحقاق",
                  "expiry": "الانتهاء", "order": "الطلب", "invoice": "الفاتورة", "no": "رقم", "number": "رقم",
                  "id": "رقم", "phone": "هاتف", "driver": "السائق", "vehicle": "المركبة", "plate": "لوحة",
                  "trip": "الرحلة", "days": "الأيام", "left": "المتبقية", "city": "المدينة", "address": "عنوان",
                  "branch": "الفرع", "price": "السعر", "balance": "الرصيد", "otp": "رمز التحقق", "code": "الرمز",
                  "start": "البداية", "end": "النهاية", "user": "المستخدم", "account": "الحساب",
                  "payment": "الدفع", "status": "حالة", "link": "رابط", "url": "رابط", "model": "الطراز",
                  "service": "الخدمة", "km": "الكيلومترات", "appointment": "الموعد"}


def variable_label(name: str) -> str:
    """A {{variable}} as people read it: its Arabic name, its words read in Arabic order, else the name isolated."""
    if name in VARIABLE_NAMES:
        return VARIABLE_NAMES[name]
    words = [w for w in name.lower().split("_") if w]
    if words and all(w in VARIABLE_WORDS for w in words):
        return " ".join(VARIABLE_WORDS[w] for w in reversed(words))
    return f"\u2068{name}\u2069"
