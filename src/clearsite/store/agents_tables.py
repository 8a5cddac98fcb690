"""The centre's record of its site agents: when each site last reported, the jobs officers ask of them,
and the push keys already applied (so a batch an agent re-sends after a lost answer is applied once).

Kept apart from `tables.py` like `auth_tables.py`; the tables share one `Base`, so one metadata and
one set of migrations (0009) cover them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.tables import Base


class AgentHeartbeatRow(Base):
    """The latest heartbeat from a site's agent (one row a site: the last one heard wins)."""

    __tablename__ = "agent_heartbeats"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    agent: Mapped[str] = mapped_column(String(100))  # the agent user's name
    host: Mapped[str] = mapped_column(String(200))  # what the agent calls its machine
    version: Mapped[str] = mapped_column(String(40))
    spooled: Mapped[int] = mapped_column(Integer)  # observations waiting in its spool
    last_scan: Mapped[datetime | None] = mapped_column(DateTime)
    last_push: Mapped[datetime | None] = mapped_column(DateTime)
    heard_at: Mapped[datetime] = mapped_column(DateTime)  # by the centre's clock, naive UTC
    silent_alerted_at: Mapped[datetime | None] = mapped_column(DateTime)  # set when "site_silent" was raised


class AgentJobRow(Base):
    """A scan an officer asked a site's agent to run; agents claim them (SKIP LOCKED on PostgreSQL)."""

    __tablename__ = "agent_jobs"
    __table_args__ = (Index("ix_agent_jobs_site_status", "site_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "scan"
    targets: Mapped[list[Any]] = mapped_column()  # CIDRs inside the site's networks; empty: all of them
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[dict[str, Any] | None] = mapped_column()  # what the agent reported


class AgentPushKeyRow(Base):
    """An agent batch's idempotency key, recorded in the transaction that stored the batch."""

    __tablename__ = "agent_push_keys"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    applied_at: Mapped[datetime] = mapped_column(DateTime)
    result: Mapped[dict[str, Any]] = mapped_column()  # the answer first given, given again to a re-send
