"""Seed the four system templates from the guide.

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEMPLATES = [
    {
        "name": "trial_welcome",
        "description": "ترحيب بالعميل عند بدء الفترة التجريبية",
        "category": "onboarding",
        "message_template": (
            "مرحباً {{customer_name}} 👋\n"
            "أهلاً بك في {{company_name}}! بدأت فترتك التجريبية المجانية لباقة {{plan_name}} "
            "وتنتهي في {{expiry_date}}.\n"
            "نحن هنا لمساعدتك في أي وقت."
        ),
        "variables": ["customer_name", "company_name", "plan_name", "expiry_date"],
    },
    {
        "name": "subscription_expiring",
        "description": "تنبيه بقرب انتهاء الاشتراك",
        "category": "billing",
        "message_template": (
            "عزيزي {{customer_name}}،\n"
            "نود تذكيرك بأن اشتراكك في باقة {{plan_name}} سينتهي بتاريخ {{expiry_date}} "
            "(بعد {{days_left}} أيام).\n"
            "جدّد الآن لتستمر خدماتك دون انقطاع."
        ),
        "variables": ["customer_name", "plan_name", "expiry_date", "days_left"],
    },
    {
        "name": "subscription_activated",
        "description": "تأكيد تفعيل الاشتراك",
        "category": "billing",
        "message_template": (
            "تم تفعيل اشتراكك بنجاح ✅\n"
            "عزيزي {{customer_name}}، باقتك {{plan_name}} فعّالة الآن حتى {{expiry_date}}.\n"
            "شكراً لثقتك بنا."
        ),
        "variables": ["customer_name", "plan_name", "expiry_date"],
    },
    {
        "name": "payment_reminder",
        "description": "تذكير بموعد سداد فاتورة",
        "category": "billing",
        "message_template": (
            "تذكير بالدفع 💳\n"
            "عزيزي {{customer_name}}، لديك فاتورة بمبلغ {{amount}} مستحقة بتاريخ {{due_date}}.\n"
            "يرجى السداد في الموعد لتجنب إيقاف الخدمة."
        ),
        "variables": ["customer_name", "amount", "due_date"],
    },
]

_templates = sa.table(
    "whatsapp_templates",
    sa.column("id", sa.Uuid),
    sa.column("org_id", sa.Uuid),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("category", sa.String),
    sa.column("language", sa.String),
    sa.column("message_template", sa.String),
    sa.column("variables", JSONB),
    sa.column("is_active", sa.Boolean),
    sa.column("is_system", sa.Boolean),
    sa.column("usage_count", sa.Integer),
)


def upgrade() -> None:
    import uuid

    op.bulk_insert(
        _templates,
        [
            {**t, "id": uuid.uuid4(), "org_id": None, "language": "ar", "is_active": True,
             "is_system": True, "usage_count": 0}
            for t in TEMPLATES
        ],
    )


def downgrade() -> None:
    op.execute(
        _templates.delete().where(
            _templates.c.is_system.is_(True), _templates.c.name.in_([t["name"] for t in TEMPLATES])
        )
    )
