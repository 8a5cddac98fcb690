"""Contracts: every JSON shape the doors promise, named in one place.

The doors are the CLI's `--format json` answers (and the JSON files `report`, `publish` and
`sim --manifest` write) and the /api/v1 answers. Scripts, site agents and open-data readers depend on
their key names, so each shape is written down here once as a TypedDict: the services that build the
answers are annotated to return these types, and the web API's pydantic response models are held to
the same keys.

tests/golden/ pins each shape's exact key set as the doors give it today (tests/test_contracts_golden.py);
tests/test_contracts_typed.py checks every TypedDict here against those files, required and optional
keys, all the way down. The code, this module and the golden files cannot drift apart without a test
failing.

Where a value is a mapping whose keys are data rather than names (the spend per financial year, the
counts per department, an audit entry's before/after columns) it is typed as a `dict`, not a
TypedDict. Pure: imports nothing but the standard library.
"""

from typing import Any, NotRequired, TypedDict

__all__ = [
    "AgentBatchApplied",
    "AgentHealth",
    "AgentHeartbeat",
    "AgentJob",
    "AgentSite",
    "AgentStatus",
    "Alert",
    "AlertDelivery",
    "AlertDestination",
    "AlreadyKnownDesignation",
    "AssessFinding",
    "AuditEntry",
    "AuditVerification",
    "BudgetYear",
    "Created",
    "Dashboard",
    "DashboardCounts",
    "DashboardSensitivity",
    "DecidedDevice",
    "DecisionRecorded",
    "Designation",
    "DesignationImport",
    "Device",
    "DeviceDetail",
    "ErrorBody",
    "EvidenceLink",
    "EvidencePackAuditHead",
    "EvidencePackEvidence",
    "EvidencePackFile",
    "EvidencePackManifest",
    "EvidencePackRemoval",
    "EvidencePackScope",
    "EvidencePackSigner",
    "EvidencePackVerifiedBy",
    "InternalSiteRow",
    "KnowledgeChange",
    "KnowledgeChangeCounts",
    "KnowledgeDiff",
    "KnowledgeSource",
    "MachineVerdict",
    "Me",
    "Network",
    "Observation",
    "ObservationData",
    "ObservationFields",
    "ObservationsAccepted",
    "Order",
    "OrderDetail",
    "OrderExtension",
    "OrderRemoval",
    "OrdersCreated",
    "Plan",
    "PlanCapacity",
    "PlanComparison",
    "PlanMilestone",
    "PlanScenario",
    "PlanShortfall",
    "PlanSolver",
    "PlanTotals",
    "PlanUnscheduled",
    "PlanVisit",
    "Producer",
    "PublicDepartment",
    "PublicLicence",
    "PublicMilestone",
    "PublicProgress",
    "PublicSeriesPoint",
    "Reconciliation",
    "ReconciliationIds",
    "ReconciliationItem",
    "ReconciliationMatch",
    "RegisterImportSummary",
    "Removal",
    "RemovalEvidence",
    "RemovalFile",
    "RemovalRecorded",
    "Replacement",
    "Report",
    "ReviewDecision",
    "ReviewHistoryEntry",
    "ReviewPending",
    "ScanSummary",
    "ScannerFileImportSummary",
    "ScreenAnswer",
    "ScreenDecision",
    "SessionsEnded",
    "SimDevice",
    "SimManifest",
    "Site",
    "SiteListRow",
    "SpendYear",
    "StatusCounts",
    "StatusReport",
    "StatusReportSite",
    "StoredFinding",
    "Timeline",
    "TimelineMilestone",
    "TokenCreated",
    "TokenListRow",
    "UnmatchedDesignation",
    "UserCreated",
    "UserListRow",
    "ValidationErrorBody",
    "ValidationErrorItem",
    "VerdictChange",
    "VerdictFinding",
    "VerdictSnapshot",
    "VmsImportSummary",
]

# --------------------------------------------------------------------------- devices and identify


class Producer(TypedDict):
    """The company that made a device (or a quoted product): knowledge id, name, where incorporated."""

    id: str
    name: str
    country: str | None


class EvidenceLink(TypedDict):
    """One piece of evidence and what it did to the identification."""

    signal: str
    value: str
    source: str
    supports: str | None
    weight: float
    note: str


class Device(TypedDict):
    """A device: `clearsite devices`, `clearsite identify` (id, site, ip, location null), /api/v1/devices,
    and each of the report's devices."""

    id: int | None
    site: str | None
    ip: str | None
    mac: str | None
    serial: str | None
    label_brand: str | None
    model: str | None
    device_class: str | None
    producer: Producer | None
    nil_subject: str
    nil_basis: str | None
    nil_reasons: list[str]
    confidence: float
    contradictions: list[str]
    location: str | None
    install_date: str | None
    evidence: list[EvidenceLink]
    removal: "Removal | None"
    decision: "ReviewDecision | None"
    machine_verdict: "MachineVerdict | None"
    review_pending: "ReviewPending | None"


class ReviewDecision(TypedDict):
    """The review decision in force for a device (`clearsite review`, POST /api/v1/devices/{id}/decision):
    nil_subject is what the person decided, which the device's own nil_subject then shows."""

    nil_subject: str | None
    producer: str | None  # a knowledge-base producer id
    device_class: str | None
    model: str | None  # seen on site
    make: str | None  # seen on site
    reason: str
    by: str
    at: str


class MachineVerdict(TypedDict):
    """The machine's own verdict, kept beside a decided one with its evidence."""

    producer: str | None
    nil_subject: str
    nil_basis: str | None
    nil_reasons: list[str]
    device_class: str
    confidence: float


class ReviewPending(TypedDict):
    """Why new evidence sent a device back to a person (the decided value stays recorded)."""

    kind: str  # contradicted_decision, evidence_conflict
    reason: str
    since: str


class ReviewHistoryEntry(TypedDict):
    """One decision in a device's history (`review --history --format json`), newest first."""

    action: str  # settle, withdraw
    nil_subject: str | None
    producer: str | None
    device_class: str | None
    model: str | None
    make: str | None
    reason: str
    by: str
    at: str
    machine_producer: str | None  # the machine's verdict the decision was made against
    machine_nil_subject: str | None


class DecidedDevice(TypedDict):
    """One device a decision was recorded for: its NIL verdict now, and the decision in force (null: withdrawn)."""

    id: int
    nil_subject: str
    decision: ReviewDecision | None


class DecisionRecorded(TypedDict):
    """`clearsite review --format json` and the decision endpoints: what was recorded, device by device."""

    action: str  # settle, withdraw
    decided: int
    devices: list[DecidedDevice]


class ObservationFields(TypedDict):
    """What one observation said of the device's identifying fields."""

    ip: str | None
    mac: str | None
    serial: str | None
    location: str | None
    brand: NotRequired[str | None]
    model: NotRequired[str | None]
    client_id: NotRequired[str | None]
    content_sha256: NotRequired[str | None]
    install_date: NotRequired[str | None]
    observed_at: NotRequired[str | None]


class ObservationData(TypedDict):
    """An observation's stored payload."""

    fields: ObservationFields
    install_date: str | None
    evidence: NotRequired[list[list[Any]]]
    source: NotRequired[str | None]


class Observation(TypedDict):
    """One stored observation of a device (GET /api/v1/devices/{id})."""

    id: int
    kind: str
    actor: str
    source: str
    source_kind: str
    locator: str | None
    observed_at: str | None
    data: ObservationData


# --------------------------------------------------------------------------- findings


class AssessFinding(TypedDict):
    """One finding as `clearsite assess` and the report give it."""

    device_id: int
    site: str
    policy: str
    obligation: str
    status: str
    due: str | None
    reasons: list[str]


class StoredFinding(AssessFinding):
    """A stored finding (/api/v1/findings, a device's findings): the assess row with its ids and date."""

    id: int
    site_id: int
    as_of: str


class DeviceDetail(Device):
    """GET /api/v1/devices/{id}: the device, when it was removed, its observations and findings."""

    removed_on: str | None
    observations: list[Observation]
    findings: list[StoredFinding]


# --------------------------------------------------------------------------- imports and scans


class RegisterImportSummary(TypedDict):
    """`clearsite import register --format json`."""

    file: str
    rows_read: int
    stored: int
    already_imported: int
    new_devices: int
    identified: int
    skipped: int
    warnings: int


class VmsImportSummary(RegisterImportSummary):
    """`clearsite import vms --format json`: the register summary and the export's format."""

    format: str


class ScannerFileImportSummary(TypedDict):
    """`clearsite import nmap|masscan|switch --format json`."""

    file: str
    hosts: int
    stored: int
    already_imported: int
    new_devices: int
    out_of_scope: int
    problems: int


class ScanSummary(TypedDict):
    """`clearsite scan --format json`."""

    site: str
    targets: int
    responded: int
    stored: int
    new_devices: int
    errors: int
    seconds: float
    interrupted: bool


class ObservationsAccepted(TypedDict):
    """POST /api/v1/sites/{id}/observations."""

    stored: int
    duplicates: int
    new_devices: int
    identified: int
    out_of_scope: list[str]


# --------------------------------------------------------------------------- reconciliation


class ReconciliationItem(TypedDict):
    """One device on one side of a reconciliation."""

    device_id: int | str | None
    serial: str | None
    mac: str | None
    ip: str | None
    label: str | None


class ReconciliationMatch(TypedDict):
    """A registered device and the seen one it matched, on which key, and where they disagree."""

    registered: ReconciliationItem
    seen: ReconciliationItem
    key: str
    disagreements: list[str]


class Reconciliation(TypedDict):
    """`clearsite reconcile --format json`."""

    matched: list[ReconciliationMatch]
    seen_not_registered: list[ReconciliationItem]
    registered_not_seen: list[ReconciliationItem]
    conflicts: list[str]


class ReconciliationIds(TypedDict):
    """GET /api/v1/sites/{id}/reconciliation: the same answer as device ids (null when a side is empty)."""

    matched: list[int]
    seen_not_registered: list[int]
    registered_not_seen: list[int]


# --------------------------------------------------------------------------- sites


class Network(TypedDict):
    """A network declared for a site; core: the site's core network."""

    cidr: str
    core: bool


class SiteListRow(TypedDict):
    """One row of `clearsite site list --format json`."""

    id: int
    name: str
    department: str
    region: str | None
    sensitive: bool
    criteria: list[str]
    networks: list[Network]


class StatusCounts(TypedDict):
    """Findings counted by status."""

    compliant: int
    advisory: int
    review: int
    due: int
    overdue: int
    breach: int


class Site(TypedDict):
    """A site on /api/v1/sites (devices and findings counted in the list; null on one site)."""

    id: int
    name: str
    department: str
    jurisdiction: str
    region: str | None
    sensitive: bool
    criteria: list[str]
    networks: list[Network]
    holds_secret: bool
    dv_hub: bool
    ministerial: bool
    socpa: bool
    devices: int | None
    findings: StatusCounts | None


# --------------------------------------------------------------------------- dashboard


class DashboardCounts(StatusCounts):
    """Findings by status, and the devices and sites they are over."""

    devices: int
    sites: int


class DashboardSensitivity(TypedDict):
    """The dashboard counts split by the sites' sensitivity."""

    sensitive: DashboardCounts
    other: DashboardCounts


class TimelineMilestone(TypedDict):
    """A programme milestone: met or missed when passed (actual), on track or at risk (forecast)."""

    date: str
    target: float
    note: str | None
    passed: bool
    met: bool | None
    basis: str  # actual | forecast
    sites: int  # sites clear by the date (actual), or expected clear (forecast)
    target_sites: int
    status: str  # met | missed | on track | at risk


class Timeline(TypedDict):
    """Progress against the programme's removal timeline (services.timeline), for the caller's sites."""

    policy: str
    obligation: str
    title: str
    deadline: str | None
    affected_sites: int
    clear_sites: int  # every affected device verified removed
    claimed_sites: int  # every affected device claimed removed, some not yet verified
    share_clear: float | None
    milestones_from: str  # plan | policy | none
    milestones: list[TimelineMilestone]


class Dashboard(TypedDict):
    """GET /api/v1/dashboard (by_department: department name -> counts)."""

    as_of: str
    statuses: StatusCounts
    by_department: dict[str, DashboardCounts]
    by_sensitivity: DashboardSensitivity
    timelines: list[Timeline]


# --------------------------------------------------------------------------- screening


class ScreenDecision(TypedDict):
    """One quote line's decision: `clearsite screen --format json`, and each line of POST /api/v1/screen."""

    line: int
    supplier: str | None
    brand: str | None
    model: str | None
    sku: str | None
    quantity: int | None
    decision: str
    summary: str
    nil_subject: str | None
    producer: Producer | None
    source: str | None
    reasons: list[str]
    errors: list[str]


class ScreenAnswer(TypedDict):
    """POST /api/v1/screen: the strictest line's decision and every line's."""

    decision: str
    lines: list[ScreenDecision]


# --------------------------------------------------------------------------- planning


class PlanCapacity(TypedDict):
    region: str
    week: str
    hours: float
    used: float


class PlanVisit(TypedDict):
    week: str
    site: str
    department: str
    region: str
    crew: str
    devices: list[int | str]
    hours: float
    cost: float


class PlanMilestone(TypedDict):
    date: str
    note: str | None
    target_share: float
    target_sites: int
    forecast_share: float
    forecast_sites: int
    met: bool


class PlanShortfall(TypedDict):
    kind: str
    reason: str
    region: str | None
    fy: str | None
    milestone: str | None
    period_start: str | None
    period_end: str | None
    minimum: float | None
    extra_hours: float | None
    extra_crews: int | None
    extra_budget: float | None
    later_date: str | None
    verified: bool


class PlanUnscheduled(TypedDict):
    device: int | str
    site: str
    reason: str


class BudgetYear(TypedDict):
    fy: str
    budget: float | None
    spend: float


class PlanSolver(TypedDict):
    method: str
    cpsat_status: str | None
    cpsat_variables: int | None
    heuristic_objective: float | None
    lower_bound_method: str | None
    wall_time: float
    sites: int
    devices: int
    visits: int
    weeks: int
    notes: list[str]


class PlanTotals(TypedDict):
    sites: int
    affected_sites: int
    already_cleared_sites: int
    devices: int
    scheduled_devices: int
    unscheduled_devices: int


class Plan(TypedDict):
    """`clearsite plan --format json`."""

    schema: str
    scenario: str | None
    status: str
    start: str
    weeks: int
    objective: float
    lower_bound: float
    gap: float
    exposure: float
    penalty: float
    milestone_penalty: float
    totals: PlanTotals
    capacity: list[PlanCapacity]
    visits: list[PlanVisit]
    milestones: list[PlanMilestone]
    shortfalls: list[PlanShortfall]
    unscheduled: list[PlanUnscheduled]
    budget: list[BudgetYear]
    solver: PlanSolver


class PlanScenario(TypedDict):
    """One scenario's line in `clearsite plan --compare --format json` (spend: financial year -> spend)."""

    scenario: str
    status: str
    crews: int
    objective: float
    gap: float
    last_visit_week: str | None
    milestones: int
    milestones_met: int
    forecast_shares: list[float]
    unscheduled_devices: int
    spend: dict[str, float]


class PlanComparison(TypedDict):
    """`clearsite plan --compare --format json`."""

    scenarios: list[PlanScenario]


# --------------------------------------------------------------------------- audit and accounts


class AuditEntry(TypedDict):
    """One audit log entry (GET /api/v1/audit); before and after: the columns the action changed."""

    seq: int
    at: str
    actor: str
    action: str
    target: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class AuditVerification(TypedDict):
    """`clearsite audit verify --format json` and GET /api/v1/audit/verify."""

    ok: bool
    kind: str | None
    entries: int
    head_seq: int | None
    head_hash: str | None
    bad_seq: int | None
    problem: str | None


class Me(TypedDict):
    """GET /api/v1/me."""

    username: str
    role: str
    department_id: int | None
    scopes: list[str]
    via: str


class SessionsEnded(TypedDict):
    """POST /api/v1/me/sign-out-everywhere."""

    sessions_ended: int


class Created(TypedDict):
    """The id of what was created (POST /api/v1/attestations)."""

    id: int


class UserCreated(TypedDict):
    """POST /api/v1/users."""

    id: int
    username: str
    role: str


class TokenCreated(TypedDict):
    """POST /api/v1/tokens: the token itself, shown this once."""

    id: int
    token: str
    scopes: list[str]
    expires_at: str


class ErrorBody(TypedDict):
    """An /api/v1 error answer."""

    detail: str


class ValidationErrorItem(TypedDict):
    """One problem in a 422 answer about a request body."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(TypedDict):
    """A 422 answer about a request body: each problem with where it is."""

    detail: list[ValidationErrorItem]


# --------------------------------------------------------------------------- knowledge


class KnowledgeSource(TypedDict):
    source: str
    version: str | None


class KnowledgeChange(TypedDict):
    kind: str
    key: str
    change: str
    fields: list[str]


class KnowledgeChangeCounts(TypedDict):
    added: int
    removed: int
    changed: int


class VerdictFinding(TypedDict):
    policy: str
    obligation: str
    status: str


class VerdictSnapshot(TypedDict):
    producer: str | None
    nil_subject: str
    nil_reasons: list[str]
    findings: list[VerdictFinding]


class VerdictChange(TypedDict):
    device_id: int
    site: str
    ip: str | None
    label_brand: str | None
    model: str | None
    old: VerdictSnapshot
    new: VerdictSnapshot


class KnowledgeDiff(TypedDict):
    """`clearsite knowledge diff --format json`."""

    old: KnowledgeSource
    new: KnowledgeSource
    as_of: str
    counts: KnowledgeChangeCounts
    changes: list[KnowledgeChange]
    devices_checked: int
    verdict_changes: list[VerdictChange]


class Designation(TypedDict):
    entity: str
    program: str
    valid_from: str | None
    as_of: str
    confidence: str
    note: str
    source: list[str]


class AlreadyKnownDesignation(TypedDict):
    row: int
    entity: str
    program: str


class UnmatchedDesignation(TypedDict):
    row: int
    list: str
    name: str
    reason: str


class DesignationImport(TypedDict):
    """`clearsite knowledge import-designations --format json`."""

    file: str
    format: str
    entries: int
    designations: list[Designation]
    already_known: list[AlreadyKnownDesignation]
    unmatched: list[UnmatchedDesignation]
    written_to: str | None


# --------------------------------------------------------------------------- files the CLI writes


class Report(TypedDict):
    """`clearsite report`: report.json."""

    generated: str
    as_of: str
    devices: list[Device]
    findings: list[AssessFinding]


class PublicDepartment(TypedDict):
    department: str
    affected_sites: int
    cleared_sites: int
    cleared_share: float | None


class PublicMilestone(TypedDict):
    date: str
    target_share: float
    target_sites: int
    sites: int  # sites clear by the date (actual), or expected clear (forecast)
    share: float | None
    met: bool | None
    basis: str
    status: str  # met | missed | on track | at risk


class PublicSeriesPoint(TypedDict):
    month_end: str
    cleared_sites: int
    share: float | None
    basis: str


class PublicLicence(TypedDict):
    name: str
    url: str


class PublicProgress(TypedDict):
    """`clearsite publish --public`: progress.json, the open-data statement."""

    schema: str
    title: str
    programme: str
    publisher: str
    published: str
    next_update: str | None
    contact: str
    licence: PublicLicence
    as_of: str
    affected_sites: int
    cleared_sites: int
    cleared_share: float | None
    forecast_complete: str | None
    departments: list[PublicDepartment]
    milestones: list[PublicMilestone]
    series: list[PublicSeriesPoint]
    notes: list[str]


class InternalSiteRow(TypedDict):
    """`clearsite publish --internal`: one row of sites.json (extra: further columns by name)."""

    site: str
    department: str
    region: str | None
    devices: int
    cleared_on: str | None
    claimed_on: str | None  # every affected device claimed removed, some not yet verified
    forecast_on: str | None
    extra: dict[str, Any]


class SimDevice(TypedDict):
    persona: str
    ip: str
    mac: str
    serial: str
    label_brand: str | None
    model: str | None
    producer: str | None
    device_class: str
    firmware: str | None
    hostile: bool
    tcp_ports: list[int]
    udp_ports: list[int]


class SimManifest(TypedDict):
    """`clearsite sim --manifest`: the emulated fleet's devices, for checking a scan against."""

    seed: int
    base: str
    hosts: int
    devices: list[SimDevice]


# --------------------------------------------------------------------------- proof of removal


class RemovalFile(TypedDict):
    name: str
    sha256: str
    size: int


class RemovalEvidence(TypedDict):
    disposal_ref: str | None
    cost: float | None
    files: list[RemovalFile]


class Replacement(TypedDict):
    """What replaced a removed device, identified and assessed when it was recorded."""

    brand: str | None
    model: str | None
    serial: str | None
    mac: str | None
    producer: str | None
    nil_subject: str
    cleared: bool
    device_id: int | None  # the device a later observation found it to be


class Removal(TypedDict):
    """A device's removal claim and what later observations made of it (`devices` gains it)."""

    status: str  # claimed | verified | contradicted | reappeared
    claimed_on: str
    verified_on: str | None
    by: str | None
    order: int | None
    replacement: Replacement | None
    evidence: RemovalEvidence


class RemovalRecorded(TypedDict):
    """`clearsite removal record --format json` and POST /api/v1/devices/{id}/removals."""

    device_id: int
    removal: Removal
    alerts: list[int]


class Order(TypedDict):
    """`clearsite orders list --format json`, /api/v1/orders."""

    id: int
    site: str
    week: str
    crew: str
    status: str
    devices: list[int]
    due: str


class OrderExtension(TypedDict):
    id: int
    order: int
    requested_at: str
    requested_by: str
    reason: str
    previous_due: str
    new_due: str
    status: str
    decided_by: str | None
    decided_at: str | None


class OrderRemoval(TypedDict):
    device_id: int
    status: str


class OrderDetail(Order):
    """`clearsite orders show ID --format json`, /api/v1/orders/{id}."""

    est_hours: float
    est_cost: float
    note: str | None
    removals: list["OrderRemoval"]  # the order's devices with a removal claim
    extensions: list[OrderExtension]


class OrdersCreated(TypedDict):
    """`clearsite orders create --format json`: what the current plan did to the orders."""

    plan_id: int
    created: int
    updated: int
    cancelled: int
    unchanged: int
    orders: list[Order]


class Alert(TypedDict):
    """`clearsite alerts --format json`, /api/v1/alerts."""

    id: int
    kind: str
    site: str | None
    device_id: int | None
    at: str
    detail: str


class StatusReportSite(TypedDict):
    site: str
    department: str
    state: str  # not_started | in_progress | claimed | verified
    affected: int
    claimed: int
    verified: int
    contradicted: int
    share_removed: float


class StatusReport(TypedDict):
    """`clearsite status-report --format json`: the periodic statement for the programme office."""

    as_of: str
    sites: list[StatusReportSite]
    totals: dict[str, int]
    share_removed: float
    share_sites_verified: float
    spend: list["SpendYear"]
    extensions: dict[str, int]  # requested, approved, refused, waiting


class SpendYear(TypedDict):
    """A UK financial year's money: the plan's budget and planned spend, work orders' estimates, actual costs."""

    fy: str
    budget: float | None
    planned: float
    ordered: float
    actual: float


# --------------------------------------------------------------------------- alert delivery, evidence packs


class AlertDestination(TypedDict):
    """`clearsite alerts destination list --format json` items and /api/v1/alert-destinations (no secret, ever)."""

    id: int
    department: str
    kind: str  # webhook | syslog
    target: str  # https://… | udp://host:port | tcp://host:port
    facility: int | None  # syslog only
    app_name: str | None  # syslog only
    active: bool
    created_at: str
    created_by: str


class AlertDelivery(TypedDict):
    """One (alert, destination) in the delivery outbox: `clearsite alerts dead-letters --format json` items."""

    id: int
    alert_id: int
    destination_id: int
    department: str
    kind: str
    target: str
    status: str  # pending | delivered | dead | cancelled
    attempts: int
    last_error: str | None
    created_at: str
    next_attempt_at: str


class AgentStatus(TypedDict):
    """`clearsite agent status --format json` (and `agent run --format json`): what the agent's spool holds."""

    site: str | None
    spooled: int  # observations not yet accepted by the centre (refused batches included: kept)
    last_scan: str | None
    last_push: str | None
    server: str | None
    coverage_waiting: int  # finished scans whose coverage (what they probed) the centre has not yet accepted


class AgentHealth(TypedDict):
    """`clearsite agent health --format json` items and GET /api/v1/agents: each site's agent."""

    site_id: int
    site: str
    department: str
    agent: str | None
    host: str | None
    version: str | None
    spooled: int | None
    state: str  # reporting | silent | no agent
    last_scan: str | None
    last_push: str | None
    heard_at: str | None


class AgentSite(TypedDict):
    """GET /api/v1/agent/site: the agent's site and its networks as the centre declares them."""

    site_id: int
    site: str
    department: str
    networks: list[str]


class AgentBatchApplied(TypedDict):
    """POST /api/v1/agent/batches: what a batch stored; `replayed` when it was applied before under its key."""

    key: str
    stored: int
    duplicates: int
    new_devices: int
    identified: int
    replayed: bool


class AgentHeartbeat(TypedDict):
    """POST /api/v1/agent/heartbeat."""

    site_id: int
    heard_at: str
    jobs_waiting: int


class AgentJob(TypedDict):
    """A scan asked of a site's agent: POST /api/v1/agents/jobs, POST /api/v1/agent/jobs/claim items."""

    id: int
    site_id: int
    site: str
    kind: str
    targets: list[str]
    status: str  # queued | running | done | failed
    requested_by: str
    requested_at: str
    claimed_by: str | None
    claimed_at: str | None
    finished_at: str | None
    outcome: dict[str, Any] | None


class UserListRow(TypedDict):
    """`clearsite user list --format json` items (never a password or its hash)."""

    id: int
    username: str
    role: str
    department: str | None
    site: str | None
    active: bool
    must_change_password: bool
    created: str
    live_tokens: int


class TokenListRow(TypedDict):
    """`clearsite token list --format json` items (never the token, never its hash)."""

    id: int
    user: str
    name: str
    scopes: list[str]
    expires: str
    revoked: str | None


class EvidencePackScope(TypedDict):
    department: str
    site: str | None  # None: a department's pack


class EvidencePackAuditHead(TypedDict):
    seq: int
    hash: str
    entries: int


class EvidencePackSigner(TypedDict):
    department: str
    fingerprint: str  # SHA-256 of the public key
    key_id: str


class EvidencePackEvidence(TypedDict):
    """One evidence file of a removal, as the pack holds it (`path` inside the pack)."""

    name: str
    sha256: str
    size: int
    path: str
    added_at: str
    added_by: str


class EvidencePackVerifiedBy(TypedDict):
    """The observation that moved a claim: its source row and, for a coverage, what it covered."""

    event: str | None
    at: str | None
    source: dict[str, Any] | None
    coverage: dict[str, Any] | None


class EvidencePackRemoval(TypedDict):
    device_id: int
    site: str
    status: str  # claimed, verified, contradicted, reappeared
    removed_on: str
    claimed_at: str
    claimed_by: str
    removed_by: str | None
    order_id: int | None
    disposal_ref: str | None
    cost: float | None
    last_ip: str | None
    last_mac: str | None
    last_serial: str | None
    identity: dict[str, Any] | None
    replacement: dict[str, Any] | None
    status_at: str | None
    verified_at: str | None
    proof: dict[str, Any] | None
    verified_by: EvidencePackVerifiedBy | None
    evidence: list[EvidencePackEvidence]


class EvidencePackFile(TypedDict):
    path: str
    sha256: str
    size: int


class EvidencePackManifest(TypedDict):
    """`manifest.json` of a signed evidence pack (`clearsite evidence-pack`, and inside the zip of
    GET /api/v1/evidence-packs); `manifest.sig` signs its canonical bytes."""

    format: str
    created: str
    created_by: str
    scope: EvidencePackScope
    audit_head: EvidencePackAuditHead
    signer: EvidencePackSigner
    counts: dict[str, int]  # removals, and one count per status present
    removals: list[EvidencePackRemoval]
    files: list[EvidencePackFile]
