"""The frame every page shares: the app name, sign-in, navigation, common buttons and refusals."""

from __future__ import annotations

APP_NAME = "لوحة الأسطول"
APP_TAGLINE = "مركز إشعارات واتساب"

LOGIN_TITLE = "تسجيل الدخول"
LOGIN_EMAIL = "البريد الإلكتروني"
LOGIN_PASSWORD = "كلمة المرور"
LOGIN_SUBMIT = "دخول"
LOGOUT = "تسجيل الخروج"

# ---- Dashboard (pages, state, components) ----
LOGIN_OIDC = "الدخول عبر مزوّد الهوية"
# Why a tab that was signed in lands on the login page (the session's verdict, users.SigninVerdict).
SIGNIN_ENDED = {
    "ended": "انتهت جلستك على هذا الجهاز: سُجّل الخروج من كل الأجهزة، أو تغيّرت كلمة المرور أو صلاحياتك من جهاز آخر. "
             "سجّل الدخول من جديد.",
    "deactivated": "أُوقف حسابك، فانتهت جلستك. تواصل مع مالك المؤسسة إن كان ذلك خطأً.",
    "unknown_user": "لم يعد حسابك موجوداً، فانتهت جلستك.",
}
SIGNIN_ENDED_OTHER = "انتهت جلستك. سجّل الدخول من جديد."
LOGIN_OIDC_FAILED = "تعذّر الدخول عبر مزوّد الهوية. حاول مرة أخرى."
LOGIN_WAIT = "جارٍ التحقق…"
LOGIN_HINT = "ادخل بحساب مؤسستك لإدارة إشعارات واتساب."

NAV_CONNECT = "ربط الواتساب"
NAV_SEND = "إرسال رسالة"
NAV_TEMPLATES = "القوالب"
NAV_HISTORY = "سجل الرسائل"
NAV_QUEUE = "الطابور"
NAV_AUDIT = "سجل التدقيق"
NAV_OPT_OUTS = "قائمة الإيقاف"
NAV_SETTINGS = "الإعدادات"
NAV_ADMIN = "نظرة عامة"
NAV_MENU = "القائمة"
NAV_LABEL = "التنقل الرئيسي"
SKIP_TO_CONTENT = "تخطَّ إلى المحتوى"
NAV_ORGANIZATIONS = "المؤسسات"
NAV_PEOPLE = "الفريق"
NAV_ACCOUNT = "حسابي"
READ_ONLY_BANNER = "عرض للقراءة فقط:"
BACK_TO_OVERVIEW = "العودة إلى النظرة العامة"
LOADING = "جارٍ التحميل…"
NONE = "—"
CANCEL = "إلغاء"
# On a phone the filters fold into a sheet opened by this button.
FILTERS = "التصفية"
FILTERS_DONE = "تم"
# The dialog's way out when its action is itself a cancelling (cancel a message: «تراجع» keeps it).
KEEP = "تراجع"
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

FORBIDDEN_BODY = "ليست لديك صلاحية لعرض هذه الصفحة."
QR_MANAGERS_ONLY = "رمز الربط يظهر للمالك والمدير فقط: مسحه يربط هاتفاً بواتساب المؤسسة."
PAGE_NOT_ALLOWED = "ليست لديك صلاحية لعرض هذه الصفحة."
NOT_MANAGER = "دورك يتيح العرض فقط: لا يمكنك ربط الواتساب أو قطعه أو تعديل القوالب."

LIST_SEPARATOR = "، "

COPY = "نسخ"
COPIED = "نُسخ الرابط."
