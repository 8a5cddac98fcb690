"""API bodies and answers. Untrusted input: every string is bounded, every list capped, extra keys refused."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, with_config
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from clearsite.core.models import Signal

Text200 = Annotated[str, Field(min_length=1, max_length=200)]


def _iso_text(value: Any) -> Any:
    # Lax pydantic reads 0 as 1970-01-01; a date sent as a number is a mistake, not an epoch.
    if not isinstance(value, (str, date)):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
ShortText = Annotated[str, Field(max_length=500)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkIn(_In):
    cidr: Annotated[str, Field(max_length=64)]
    core: StrictBool = False


class SiteIn(_In):
    name: Text200
    department: Text200 | None = None  # officers: their own, whatever is sent
    region: Annotated[str, Field(max_length=100)] | None = None
    holds_secret: StrictBool = False
    dv_hub: StrictBool = False
    ministerial: StrictBool = False
    socpa: StrictBool = False
    networks: Annotated[list[NetworkIn], Field(max_length=200)] = []


class SitePatch(_In):
    region: Annotated[str, Field(max_length=100)] | None = None
    holds_secret: StrictBool | None = None
    dv_hub: StrictBool | None = None
    ministerial: StrictBool | None = None
    socpa: StrictBool | None = None

    def changes(self) -> dict[str, Any]:
        """The columns to change: a flag sent as null means "leave it"; a null region clears it."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None or k == "region"}


class Network(BaseModel):
    cidr: str
    core: bool


class SiteOut(BaseModel):
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
    devices: int | None = None
    findings: dict[str, int] | None = None


class RemovalIn(_In):
    removed_on: IsoDate


# An agent's observations arrive a thousand to a batch, fifty agents at once: validated into plain dicts
# (TypedDicts), not model instances, which took half again as much of a push's CPU. Same fields, bounds and
# refusals (extra keys forbidden); a key left out reads as None (evidence: none; source: "").
@with_config(ConfigDict(extra="forbid"))
class EvidenceIn(TypedDict):
    signal: Signal
    value: Annotated[str, Field(max_length=2000)]
    source: NotRequired[ShortText]


@with_config(ConfigDict(extra="forbid"))
class ObservationIn(TypedDict):
    id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]  # the agent's own id
    ip: NotRequired[Annotated[str, Field(max_length=45)] | None]
    mac: NotRequired[Annotated[str, Field(max_length=17)] | None]
    serial: NotRequired[Annotated[str, Field(max_length=120)] | None]
    location: NotRequired[ShortText | None]
    observed_at: NotRequired[Annotated[str, Field(max_length=40)] | None]
    evidence: NotRequired[Annotated[list[EvidenceIn], Field(max_length=64)]]


class PushIn(_In):
    observations: Annotated[list[ObservationIn], Field(min_length=1, max_length=2000)]


class PushOut(BaseModel):
    stored: int
    duplicates: int
    new_devices: int
    identified: int
    out_of_scope: list[str] = []  # ids whose address is in none of the site's declared networks: not stored


class QuoteLineIn(_In):
    supplier: ShortText | None = None
    brand: ShortText | None = None
    model: ShortText | None = None
    sku: ShortText | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    quantity: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    connects_to_core: StrictBool | None = None


class ScreenIn(_In):
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=5000)]
    # Screen for this site (its sensitivity counts); None: as for a sensitive site.
    site_id: Annotated[StrictInt, Field(ge=0, le=2**62)] | None = None
    on: IsoDate | None = None


class ScreenOut(BaseModel):
    decision: str  # the strictest line's
    lines: list[dict[str, Any]]


class AttestationIn(_In):
    supplier: Text200
    statement: Text200
    signed: IsoDate
    expires: IsoDate
    source: Text200


class UserIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=12, max_length=200)]
    role: str
    department: Text200 | None = None
    site: Text200 | None = None


class TokenIn(_In):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    name: Text200
    scopes: Annotated[list[str], Field(max_length=10)] | None = None
    days: Annotated[float, Field(gt=0, le=366)] = 90


class TokenOut(BaseModel):
    id: int
    token: str
    scopes: list[str]
    expires_at: str


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]
