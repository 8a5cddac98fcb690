"""Where scanner imports and reconciliation used to live; kept so callers that import them from here keep working.

Scanner files, scans and agents' pushes are recorded by services.imports (through
services.intake's one `record_observations`); reconciliation is services.reconciliation.
"""

from __future__ import annotations

from clearsite.formats.scans import ScanParseError
from clearsite.services.imports import HostsReport, host_observation, import_scan_file, in_scope, record_hosts
from clearsite.services.reconciliation import reconcile_site, reconciliation_json

SCAN_KINDS = ("nmap", "masscan", "switch", "scan", "agent")

__all__ = ["SCAN_KINDS", "HostsReport", "ScanParseError", "host_observation", "import_scan_file", "in_scope",
           "reconcile_site", "reconciliation_json", "record_hosts"]
