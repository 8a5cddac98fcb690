"""Identification of stored devices: from their observations' evidence to identity rows.

The store keeps raw observation data and writes the rows computed here; the verdicts come from
the pure core (core.identify). A register's million rows name a few thousand makes and models, so
each distinct verdict (an IdentityTemplate) is serialised once and shared by every device it fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from clearsite.core.identify import (
    IdentityTemplate,
    identify_template,
    links_from_chain,
    register_row_evidence,
)
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal
from clearsite.services.parallel import can_fork, fork_safe, forked, worker_count
from clearsite.store import audit
from clearsite.store.bulk import bulk_work, constant, dumps
from clearsite.store.devices import NewObservation, StoreResult, now, observation_data_by_device
from clearsite.store.findings import device_id_range, refresh_statistics
from clearsite.store.identities import (
    add_identities,
    any_identity_of_another_version,
    observation_data_between,
    remove_identities_between,
    replace_identities,
)
from clearsite.store.transactions import write_transaction

__all__ = ["device_evidence", "evidence_links", "evidence_of", "identify_batch", "identities_current",
           "identity_values", "link_evidence", "observation_evidence", "refresh_estate", "refresh_identities"]

CHUNK = 5000
# id(template) -> (the template, kept alive so its id stays unique; its identity row columns)
_Chains = dict[int, tuple[IdentityTemplate, tuple[Any, ...]]]


def evidence_of(data: dict[str, Any]) -> list[Evidence]:
    """The evidence a stored observation gives (a register row's follows from its fields)."""
    if "evidence" in data:
        return [Evidence(Signal(signal), value, source) for signal, value, source in data["evidence"]]
    return register_row_evidence(data.get("source", ""), data.get("fields", {}))


def observation_evidence(obs: NewObservation) -> list[Evidence]:
    """The evidence an observation about to be stored gives."""
    if obs.data is None:
        return list(obs.evidence)
    return evidence_of(orjson.loads(obs.data))


def identity_values(template: IdentityTemplate, chains: _Chains) -> tuple[Any, ...]:
    """An identity row's columns from label_brand to alternatives, JSON serialised once per template."""
    cached = chains.get(id(template))
    if cached is None:
        identity = template.base
        cached = chains[id(template)] = (template, (
            identity.label_brand, identity.producer_id, identity.model, identity.device_class, identity.confidence,
            dumps(template.chain), dumps(list(identity.contradictions)) if identity.contradictions else "[]",
            dumps([list(a) for a in identity.alternatives]) if identity.alternatives else "[]"))
    return cached[1]


def _row(device_id: int, values: tuple[Any, ...], version: str, stamp: datetime | str) -> tuple[Any, ...]:
    return (device_id, *values, version, stamp)


def identify_batch(conn: Connection, knowledge: Knowledge, result: StoreResult) -> int:
    """Identify what a batch touched: new devices from the batch's own evidence, earlier ones from all theirs."""
    stamp = constant(conn, now())
    chains: _Chains = {}
    rows = [_row(device_id, values, knowledge.version, stamp) for device_id, values in result.fresh_identity.items()]
    for device_id, group in result.fresh_observations.items():
        evidence = [e for obs in group for e in observation_evidence(obs)]
        template = identify_template(evidence, knowledge, result.fresh_install.get(device_id))
        rows.append(_row(device_id, identity_values(template, chains), knowledge.version, stamp))
    add_identities(conn, rows)
    return len(rows) + refresh_identities(conn, result.earlier_devices, knowledge)


def refresh_identities(conn: Connection, device_ids: Iterable[int], knowledge: Knowledge) -> int:
    """Recompute the identity of each device from all its stored observations."""
    ids = sorted(set(device_ids))
    stamp = constant(conn, now())
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        chains: _Chains = {}
        rows = []
        for device_id, stored in observation_data_by_device(conn, part).items():
            rows.append(_row(device_id, _identity_of(stored, knowledge, chains), knowledge.version, stamp))
        replace_identities(conn, rows)
    return len(ids)


def _identity_of(stored: list[dict[str, Any]], knowledge: Knowledge, chains: _Chains) -> tuple[Any, ...]:
    """A device's identity row columns from all its stored observation data (dated by its earliest install)."""
    evidence = [e for data in stored for e in evidence_of(data)]
    installs = [date.fromisoformat(d["install_date"]) for d in stored if d.get("install_date")]
    return identity_values(identify_template(evidence, knowledge, min(installs) if installs else None), chains)


PAGE = 20_000  # device ids per unit of refresh work
PARALLEL_FROM_DEVICES = 20_000  # fewer are refreshed in this process: starting workers costs more


@dataclass(frozen=True)
class _RefreshJob:
    """What re-identifying pages of devices needs; forked workers inherit it (nothing is pickled)."""

    knowledge: Knowledge
    pages: list[range]


# One page re-identified: its id range, and (device id, identity row columns) for each device in it.
_RefreshedPage = tuple[int, int, list[tuple[Any, ...]]]


def _refreshed_pages(job: _RefreshJob, conn: Connection, part: int, parts: int) -> Iterator[_RefreshedPage]:
    chains: _Chains = {}  # identity row columns once per template: pickled once per page, shared after
    for page in job.pages[part::parts]:
        stored = observation_data_between(conn, page.start, page.stop)
        yield page.start, page.stop, [(device_id, *_identity_of(data, job.knowledge, chains))
                                      for device_id, data in stored.items()]


def _refreshed_in_worker(engine: Engine, job: _RefreshJob, part: int, parts: int) -> Iterator[_RefreshedPage]:
    engine.dispose(close=False)  # the parent's pooled connections are not this process's to use
    with engine.connect() as conn:
        yield from _refreshed_pages(job, conn, part, parts)


def refresh_estate(engine: Engine, knowledge: Knowledge, actor: str = "cli", *,
                   parallel_from: int = PARALLEL_FROM_DEVICES, workers: int | None = None) -> int:
    """Re-identify every stored device from all its observations (what a new knowledge version calls for);
    the number of devices. The same identities as refresh_identities gives each device, made set-based:
    pages of ids read by range, identified by forked workers (`workers`, default one per CPU) on estates
    of `parallel_from` ids or more, and written by this process page by page in one transaction.
    """
    with engine.connect() as conn:
        low, high = device_id_range(conn)
    if low is None or high is None:
        return 0
    job = _RefreshJob(knowledge, [range(start, min(start + PAGE, high + 1)) for start in range(low, high + 1, PAGE)])
    count = workers or worker_count()
    refreshed = 0
    with ExitStack() as workers_running:
        pages: Iterator[_RefreshedPage] | None = None
        if count > 1 and can_fork() and high - low + 1 >= parallel_from and fork_safe(engine):
            engine.dispose()  # closes the idle pooled connections (parallel.fork_safe says why)
            pages = workers_running.enter_context(forked(partial(_refreshed_in_worker, engine, job), count,
                                                         lambda exc: RuntimeError(f"identification: {exc}")))
        with write_transaction(engine) as conn, bulk_work(conn):
            if pages is None:
                pages = _refreshed_pages(job, conn, 0, 1)
            stamp = constant(conn, now())
            for start, stop, rows in pages:
                remove_identities_between(conn, start, stop)
                add_identities(conn, [(*row, knowledge.version, stamp) for row in rows])
                refreshed += len(rows)
            audit.record(conn, actor, "identities.refresh", "devices", None,
                         {"knowledge_version": knowledge.version, "devices": refreshed})
            refresh_statistics(conn, ["identities"])
    return refreshed


def identities_current(engine: Engine, knowledge: Knowledge, actor: str = "cli") -> int:
    """Re-identify the estate if any device was identified under other knowledge (a bundle installed, a new
    release): a relabel the new knowledge names must not stay `unknown` until the device is seen again. The
    number of devices re-identified (0 when every identity is current)."""
    with engine.connect() as conn:
        stale = any_identity_of_another_version(conn, knowledge.version)
    return refresh_estate(engine, knowledge, actor) if stale else 0


def device_evidence(conn: Connection, device_ids: Sequence[int]) -> dict[int, list[Evidence]]:
    """Each device's evidence list in observation order: what its stored evidence chain points into."""
    return {device_id: [e for data in stored for e in evidence_of(data)]
            for device_id, stored in observation_data_by_device(conn, device_ids).items()}


def evidence_links(chain: list[Any], evidence: Sequence[Evidence]) -> list[dict[str, Any]]:
    """A stored evidence chain as the `devices` contract shows it."""
    return [link.as_dict() for link in links_from_chain(chain, evidence)]


def link_evidence(chain: list[Any], stored: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stored evidence chain, with the device's stored observation data, as the `devices` contract shows it."""
    return evidence_links(chain, [e for data in stored for e in evidence_of(data)])
