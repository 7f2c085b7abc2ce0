"""Every piece of user-facing Arabic text, one module per area, read through this one import.

A second language is a second package of the same shape."""

from fleet_dashboard.strings.accounts import *  # noqa: F403
from fleet_dashboard.strings.admin import *  # noqa: F403
from fleet_dashboard.strings.audit import *  # noqa: F403
from fleet_dashboard.strings.common import *  # noqa: F403
from fleet_dashboard.strings.connect import *  # noqa: F403
from fleet_dashboard.strings.deliverability import *  # noqa: F403
from fleet_dashboard.strings.errors import *  # noqa: F403
from fleet_dashboard.strings.history import *  # noqa: F403
from fleet_dashboard.strings.home import *  # noqa: F403
from fleet_dashboard.strings.sending import *  # noqa: F403
from fleet_dashboard.strings.settings import *  # noqa: F403
from fleet_dashboard.strings.vocabulary import *  # noqa: F403
