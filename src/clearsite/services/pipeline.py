"""Where the shell's verbs used to live; kept so callers that import them from here keep working.

The verbs now live by subject: importing (services.imports, through services.intake's one
`record_observations`), identification, assessment, and devices. New code imports from those.
"""

from __future__ import annotations

from clearsite.services.assessment import (
    PARALLEL_FROM_DEVICES,
    assess_all,
    iter_findings,
    policies_for,
    stored_findings,
    write_report,
)
from clearsite.services.devices import DeviceView, device_json, iter_devices
from clearsite.services.imports import PARALLEL_FROM_ROWS, ImportRefused, ImportReport, import_register

__all__ = ["PARALLEL_FROM_DEVICES", "PARALLEL_FROM_ROWS", "DeviceView", "ImportRefused", "ImportReport",
           "assess_all", "device_json", "import_register", "iter_devices", "iter_findings", "policies_for",
           "stored_findings", "write_report"]
