"""Queue fixtures: an organisation with a one-variable template, and helpers to read rows back."""

from __future__ import annotations

import pytest

from fleet_dashboard.services import templates


@pytest.fixture
def org_tpl(db, make_org):
    """An organisation and its template 'greet' ("Hi {{name}}")."""
    org = make_org()
    tpl = templates.create(session=db, org_id=org.id, name="greet", message_template="Hi {{name}}")
    db.commit()
    return org, tpl
