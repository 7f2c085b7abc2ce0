"""`python -m fleet_dashboard.cli`: the same command as `fleet-dashboard`."""

import sys

from fleet_dashboard.cli import main

sys.exit(main())
