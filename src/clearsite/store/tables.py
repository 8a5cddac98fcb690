"""The database schema. Observations (raw evidence with provenance) are never edited; devices,
identities and findings are derived from them and can be recomputed when the knowledge improves."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 - read by SQLAlchemy, never changed


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    jurisdiction: Mapped[str] = mapped_column(String(2), default="GB")
    sites: Mapped[list[SiteRow]] = relationship(back_populates="department")


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique within a department only (case and spacing folded), so adding a site cannot reveal that another
    # department has one of that name.
    __table_args__ = (UniqueConstraint("department_id", "name_key", name="uq_sites_department_name"),)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    region: Mapped[str | None] = mapped_column(String(100))
    holds_secret: Mapped[bool] = mapped_column(Boolean, default=False)
    dv_hub: Mapped[bool] = mapped_column(Boolean, default=False)
    ministerial: Mapped[bool] = mapped_column(Boolean, default=False)
    socpa: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    department: Mapped[Department] = relationship(back_populates="sites")
    networks: Mapped[list[NetworkRow]] = relationship(back_populates="site", cascade="all, delete-orphan")


class NetworkRow(Base):
    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("site_id", "cidr"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    cidr: Mapped[str] = mapped_column(String(64))
    core: Mapped[bool] = mapped_column(Boolean, default=False)
    site: Mapped[SiteRow] = relationship(back_populates="networks")


class SourceRow(Base):
    """One batch of observations: an imported file, a scan, an agent push."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # register, scan, nmap, masscan, switch, agent
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DeviceRow(Base):
    """A physical thing, merged from observations by serial, MAC, then site and IP."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("site_id", "natural_key"),)  # serial and MAC are matched in memory
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    natural_key: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str | None] = mapped_column(String(120))
    mac: Mapped[str | None] = mapped_column(String(17))
    ip: Mapped[str | None] = mapped_column(String(45))
    location: Mapped[str | None] = mapped_column(Text)
    install_date: Mapped[date | None] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)


class ObservationRow(Base):
    """A fact as seen: 'row 17 of estates.xlsx says Make=Lorex'. Never edited."""

    __tablename__ = "observations"
    __table_args__ = (UniqueConstraint("fingerprint"), Index("ix_observations_device", "device_id"))
    # No foreign keys: a per-row check each on every import (see migration 0016); only ObservationWriter writes.
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[int | None] = mapped_column(Integer)
    device_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # register_row, probe, nmap_host, …
    locator: Mapped[str] = mapped_column(String(500))  # where in the source: "row 17", "127.42.0.5"
    observed_at: Mapped[datetime] = mapped_column(DateTime)
    fingerprint: Mapped[str] = mapped_column(String(64))  # same content at the same site → same fingerprint
    data: Mapped[dict[str, Any]] = mapped_column()  # raw fields as read, and the evidence they give


class IdentityRow(Base):
    __tablename__ = "identities"
    # No foreign keys here or on findings: a per-row check each (see migration 0014); only services write them.
    device_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    label_brand: Mapped[str | None] = mapped_column(String(120))
    producer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    model: Mapped[str | None] = mapped_column(String(120))
    device_class: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column()
    contradictions: Mapped[list[Any]] = mapped_column(default=list)
    alternatives: Mapped[list[Any]] = mapped_column(default=list)
    knowledge_version: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class OutcomeRow(Base):
    """What one obligation says of devices in one situation, at one assessment: status, due date, reasons.

    A million devices share a few thousand outcomes, so each is stored once and findings point to it.
    """

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_policy", "policy", "obligation", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy: Mapped[str] = mapped_column(String(64))
    obligation: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    due: Mapped[date | None] = mapped_column(Date)
    reasons: Mapped[list[Any]] = mapped_column()
    as_of: Mapped[date] = mapped_column(Date)
    assessed_at: Mapped[datetime] = mapped_column(DateTime)


class FindingRow(Base):
    """One device's finding: the outcome an obligation gives it."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_device", "device_id"),)  # no outcome index: see migration 0005
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column()  # devices.id, outcomes.id: no foreign keys (migration 0014)
    outcome_id: Mapped[int] = mapped_column()


class PlanRow(Base):
    """A stored removal plan: every run is a new version, scenarios side by side."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    as_of: Mapped[date] = mapped_column(Date)
    scenario: Mapped[str] = mapped_column(String(120))  # "baseline" or the scenario's name
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    settings: Mapped[dict[str, Any]] = mapped_column()
    result: Mapped[dict[str, Any]] = mapped_column()  # the `clearsite plan --format json` object
