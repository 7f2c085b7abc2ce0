"""Error and reason codes (core.errors.DomainError.code, WhatsApp session reasons) to the Arabic a person reads."""

from __future__ import annotations

import re

# Error codes (core.errors.DomainError.code) to the Arabic a person reads.
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
    # The example sits in a left-to-right isolate (LRI…PDI), or its plus reads at the wrong end in Arabic.
    "invalid_phone": "رقم الهاتف غير صحيح. اكتبه بالصيغة الدولية مثل \u2066+201001234567\u2069.",
    "missing_variables": "متغيرات ناقصة: {missing}",
    "not_connected": "الواتساب غير متصل. اربط الرقم أولاً.",
    "send_failed": "رفض واتساب الإرسال أو تعذّر الوصول إليه.",
    "send_refused": "رفض واتساب هذه الرسالة بعد أن استلمها؛ لن نعيد إرسالها تلقائياً لأن الجواب سيتكرر.",
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
    "client_outdated": ("رفض واتساب الاتصال لأن إصدار مكتبة واتساب في الخدمة (neonize) قديم (الرمز 405)."
                        " لا تحلّه إعادة الربط ولا مسح رمز جديد: يلزم تثبيت إصدار أحدث من neonize ثم إعادة"
                        " تشغيل الخدمة؛ أبلغ مشغّل الخدمة."),
    "engine_crash_loop": ("أوقفنا تشغيل اتصال واتساب لهذه المنظمة لأن بدءه أسقط خدمة واتساب مرتين متتاليتين؛"
                          " بقيت المنظمات الأخرى متصلة. اضغط «ربط الواتساب» لتجربته من جديد، وإن تكرر فأبلغ"
                          " مشغّل الخدمة."),
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
    "opt_out_exists": "هذا الرقم في قائمة إيقاف الرسائل بالفعل.",
    "opt_out_unknown": "هذا الرقم ليس في قائمة إيقاف الرسائل.",
    "opt_out_reason_long": "السبب أطول من {limit} حرف.",
    "invalid_direction": "الاتجاه إما outbound (المرسلة) أو inbound (ردود العملاء).",
    "org_name": "اسم المؤسسة مطلوب (حتى 200 حرف، في سطر واحد).",
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
    "platform_credential_required": "روابط الدخول لبيانات اعتماد المنصة فقط؛ مشرف المنصة يستخدم الدخول الطارئ.",
    "super_admin_only": "الدخول الطارئ خطوة يقوم بها مشرف المنصة بنفسه.",
    "break_glass_reason": "اذكر سبب الدخول الطارئ (من 10 إلى 500 حرف).",
    "break_glass_account": "لا تُغيَّر كلمة المرور خلال جلسة دخول طارئ.",
    "break_glass_minutes": "مدة الدخول الطارئ من دقيقة إلى {limit} دقيقة.",
    "login_locked": "محاولات دخول كثيرة. حاول مرة أخرى بعد {seconds} ثانية.",
    "password_locked": "محاولات كثيرة لكلمة المرور الحالية. حاول مرة أخرى بعد {seconds} ثانية.",
    "bad_credentials": "البريد الإلكتروني أو كلمة المرور غير صحيحة.",
    "internal": "حدث خطأ غير متوقع. حاول مرة أخرى.",
    # The database or Redis is away for a moment (web/access.backend_exception_toast); the page resumes by itself.
    "temporarily_unavailable": "الخادم غير متاح مؤقتاً. ستعمل الصفحة من جديد تلقائياً فور عودته.",
    # API keys and webhooks (integrations/api_keys.py, integrations/webhooks.py)
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
    # Accounts, organisations and links.
    "organization_suspended": "هذه المؤسسة موقوفة مؤقتاً: لا يمكن الإرسال أو التعديل حتى يُعاد تفعيلها.",
    "invalid_timezone": "المنطقة الزمنية غير معروفة. اختر اسماً مثل Asia/Riyadh.",
    "invalid_datetime": "التاريخ والوقت غير صحيحين.",
    "simulator_off": "هذا الزر لوضع المحاكاة فقط.",
    "simulator_failed": "لم ينفّذ هاتف المحاكاة الأمر: {detail}",
    "schedule_in_past": "هذا الموعد مضى. اختر وقتاً قادماً، أو امسح الموعد واضغط «إرسال الآن».",
    "schedule_with_send_now": "اخترت موعداً للإرسال. اضغط «جدولة في الطابور» ليُرسل في موعده، أو امسح الموعد "
                              "لإرساله الآن.",
    "last_owner": "يجب أن يبقى للمؤسسة مالك نشط واحد على الأقل.",
    "first_owner_only": "مشرف المنصة يدعو المالك الأول فقط لمؤسسة ليس لها مالك نشط؛ للعمل داخل مؤسسة لها مالك "
                        "استخدم الدخول الطارئ.",
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
    # Documents and images.
    "media_too_large": "الملف أكبر من الحد المسموح ({limit_text}).",
    "media_empty": "الملف فارغ.",
    "media_not_image": "الصورة يجب أن تكون JPEG أو PNG أو WebP؛ أرسل غيرها كمستند.",
    "media_content_mismatch": "محتوى الملف لا يطابق نوعه ({mime_type}).",
    "media_invalid_type": "نوع الملف غير صحيح.",
    "media_invalid_kind": "نوع الرسالة لا يحمل ملفاً.",
    "media_invalid_base64": "محتوى الملف (base64) غير صالح.",
    "media_invalid_url": "رابط الملف غير صالح: يجب أن يكون عنوان http:// أو https:// صحيحًا.",
    "media_url_refused": "لا يُسمح بجلب ملف من عنوان داخلي أو خاص.",
    "media_fetch_failed": "تعذّر جلب الملف من رابطه.",
    "media_source": "حدّد الملف برابط أو بمحتوى base64، وليس بالاثنين.",
    "media_required": "هذا النوع من الرسائل يحتاج إلى ملف.",
    "media_needs_type": "حدّد نوع الرسالة: مستند أو صورة.",
    "media_missing": "الملف لم يعد موجوداً (حُذف وفق سياسة الاحتفاظ).",
    "body_too_large": "حجم الطلب أكبر من المسموح.",
    # Guards of the sending number (deliverability/): why a message waits, why a number is at risk or paused.
    "not_on_whatsapp": "هذا الرقم ليس على واتساب: لم يُرسل شيء ولن نعيد المحاولة.",
    "quiet_hours": "ساعات الهدوء: تنتظر الرسالة وتُرسل {until}.",
    "daily_cap": "بلغ الرقم حدّه اليومي من الرسائل: تنتظر الرسالة وتُرسل {until}.",
    "paused": "الإرسال متوقف لحماية الرقم: تنتظر الرسالة ولا تفشل، وتُرسل {until}.",
    "lookup_failed": ("تعذّر سؤال واتساب إن كان الرقم مسجلاً لديه (وهذا ليس جواباً بالنفي):"
                      " تنتظر الرسالة ونعيد السؤال {until}."),
    "restricted": ("قيّد واتساب هذا الرقم ورفض رسائله. أوقفنا الإرسال لحمايته، والرسائل تنتظر ولا تفشل. خفّف"
                   " الرسائل لمن لم يراسلك من قبل، ثم استأنف الإرسال من صفحة «الإرسال»."),
    "restricted_rate": ("يقول واتساب إن هذا الرقم يرسل كثيراً وبسرعة. أوقفنا الإرسال لحمايته، والرسائل تنتظر ولا"
                        " تفشل. خفّض الحد اليومي ثم استأنف الإرسال من صفحة «الإرسال»."),
    "not_paused": "الإرسال غير متوقف.",
    "invalid_quiet_hours": "ساعات الهدوء: اكتب البداية والنهاية بصيغة HH:MM (مثل 22:00 و 08:00)، وأن تختلفا.",
    "invalid_day_off": "أيام العطلة: اختر من أيام الأسبوع، ويبقى يوم واحد على الأقل للإرسال.",
    "invalid_daily_cap": "الحد اليومي رقم صحيح من 1 إلى {limit}.",
    "pairing_completing": "قبِل الهاتف الربط، ونُكمل تسجيل الجهاز لدى واتساب الآن؛ لا تغلق واتساب على الهاتف.",
    "passkey_requested": ("طلب واتساب من الهاتف تأكيد الربط بمفتاح المرور (Passkey): افتح واتساب على الهاتف"
                          " وأكمل التأكيد الآن. إن تعذّر فستظهر هنا خطوات بديلة."),
    "pairing_incomplete": ("قبِل الهاتف الربط لكنه لم يكتمل: قد يطلب واتساب من بعض الحسابات تأكيد الربط بمفتاح"
                           " المرور (Passkey) أو بصمة الهاتف. افتح واتساب على الهاتف وأكمل أي تأكيد يظهر في"
                           " «الأجهزة المرتبطة»، ثم اضغط «ربط الواتساب» من جديد. إن لم يظهر شيء فحدّث واتساب"
                           " على الهاتف أو جرّب الربط برقم الهاتف بدل رمز QR."),
    "risk_red": "مؤشرات الرقم في الخطر (أحمر): خفّضنا سرعة الإرسال إلى النصف.",
    "failure_rate": "نسبة الرسائل الفاشلة {value} (الحد {threshold}).",
    "not_on_whatsapp_rate": "نسبة الأرقام غير المسجلة في واتساب {value} (الحد {threshold}): نظّف قائمة الأرقام.",
    "opt_out_rate": "نسبة من طلبوا إيقاف الرسائل {value} (الحد {threshold}).",
    "never_replied_share": ("{value} من المستلمين لم يردّوا قط (الحد {threshold}): يحدّ واتساب الرسائل لمن لا"
                            " يرد."),
    "first_contact_share": "{value} من الرسائل لأرقام تُراسل أول مرة (الحد {threshold}).",
    "recent_temporary_ban": "حُظر الرقم مؤقتاً خلال الأيام السبعة الأخيرة.",
    "recent_restricted": "قيّد واتساب الرقم خلال الأيام السبعة الأخيرة.",
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
