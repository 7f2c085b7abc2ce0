"""The Connect page: linking by QR or by phone number, the session status, and engine health."""

from __future__ import annotations

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
ENGINE_OWNED = "الجلسات:"
ENGINE_CONNECTED = "المتصلة منها:"
# Simulator mode (development and tests): the phone is simulated, so the page offers its steps as buttons.
SIMULATOR_NOTE = "وضع المحاكاة: لا يُربط هاتف حقيقي. اضغط الزر ليمسح «هاتف المحاكاة» الرمز."
SIMULATE_SCAN = "محاكاة مسح الرمز"
SIMULATE_CODE = "محاكاة إدخال الرمز"
SIMULATED_PHONE_NAME = "هاتف المحاكاة"
SIMULATE_DONE = "أرسلنا الأمر إلى هاتف المحاكاة."
