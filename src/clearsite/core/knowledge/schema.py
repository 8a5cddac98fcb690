"""The shape of the knowledge files, validated at load with errors that name file, entry and field.

Every fact carries a source and the date it was last checked (`as_of`); facts that change
over time (ownership, relabel windows, designations, obligations) carry `valid_from`/`valid_to`.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from clearsite.core.models import DEVICE_CLASSES, Signal

Confidence = Annotated[float, Field(ge=0.0, le=1.0)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")]


def _known_device_class(value: str) -> str:
    if value not in DEVICE_CLASSES:
        raise ValueError(f"unknown device class {value!r}; known: {', '.join(sorted(DEVICE_CLASSES))}")
    return value


DeviceClassName = Annotated[str, AfterValidator(_known_device_class)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(Strict):
    """A fact with where it came from and when it was last checked."""

    source: Annotated[list[str], Field(min_length=1)]
    as_of: date

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Dated(Strict):
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Dated:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def valid_at(self, when: date | None) -> bool:
        """True when the fact holds at `when`; an unknown date matches any window."""
        if when is None:
            return True
        if self.valid_from and when < self.valid_from:
            return False
        return not (self.valid_to and when >= self.valid_to)


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from exc
    return value


Regex = Annotated[str, Field(min_length=1), AfterValidator(_check_regex)]


# --------------------------------------------------------------------------- companies


class StateOwnership(StrEnum):
    NONE = "none"
    MINORITY = "minority"
    CONTROLLED = "controlled"
    UNKNOWN = "unknown"


class NilBasis(StrEnum):
    """Why a producer is (or is not) subject to the PRC National Intelligence Law."""

    PRC_INCORPORATED = "PRC_INCORPORATED"
    PRC_HQ_OFFSHORE_HOLDCO = "PRC_HQ_OFFSHORE_HOLDCO"
    PRC_CONTROLLED_FOREIGN_SUB = "PRC_CONTROLLED_FOREIGN_SUB"
    HK_OR_MACAU = "HK_OR_MACAU"
    FORMER_PRC_CONTROL = "FORMER_PRC_CONTROL"
    CLAIMED_SEPARATION = "CLAIMED_SEPARATION"
    PRC_COMPONENT_ONLY = "PRC_COMPONENT_ONLY"
    NON_PRC = "NON_PRC"


class Ownership(Dated, Sourced):
    owner: Slug
    share_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    controlling: bool
    confidence: Confidence = 0.8
    note: str = ""


class NilFlag(Dated, Sourced):
    """A determination the ownership graph cannot make: a contested split, or PRC components only."""

    basis: Literal[NilBasis.CLAIMED_SEPARATION, NilBasis.PRC_COMPONENT_ONLY]
    note: str


class Lineage(Sourced):
    """Where a company came from: a spin-off, rename or acquisition of another company's business.

    Evidence for either company is evidence for the same product line, so identification does not
    count the pair as a contradiction. A lineage never crosses into or out of the PRC: that is a
    change of control, recorded as dated ownership, because it changes the NIL determination.
    """

    kind: Literal["spin_off", "rename", "acquisition"]
    of: Slug  # the company whose business this one continues
    since: date  # the day the business passed to this company
    note: str = ""


class Company(Sourced):
    id: Slug
    name: str
    native_name: str | None = None
    aliases: list[str] = []
    incorporated_in: CountryCode
    hq_in: CountryCode
    state_ownership: StateOwnership = StateOwnership.UNKNOWN
    state_ownership_note: str = ""
    owners: list[Ownership] = []
    nil_flags: list[NilFlag] = []
    lineage: list[Lineage] = []
    categories: list[str] = []
    confidence: Confidence = 0.8
    note: str = ""


# --------------------------------------------------------------------------- brands


class BrandProducer(Dated):
    """Who makes products sold under a brand, optionally only for some models or dates."""

    producer: Slug
    confidence: Confidence
    models: list[Regex] = []  # regexes on the normalised model; empty means any model
    note: str = ""


class BrandExample(Strict):
    text: str  # brand text as found in the wild
    model: str | None = None
    installed: date | None = None
    producer: Slug | None  # expected producer; None when the evidence must stay undecided


class Brand(Sourced):
    name: str  # canonical display name, e.g. "HiLook"
    aliases: list[str] = []
    owner: Slug  # the company that owns the brand
    producers: Annotated[list[BrandProducer], Field(min_length=1)]
    note: str = ""
    # The maker behind this badge is disputed: what a person should check. A device wearing it is sent
    # to review rather than left unknown when the evidence cannot settle the maker.
    contested: str = ""
    # The name is also an ordinary word ("Ring"): a Make column or a device's own vendor field names the
    # brand, but the lone word in free text (a description, a banner) does not.
    common_word: bool = False
    examples: Annotated[list[BrandExample], Field(min_length=1)]


# --------------------------------------------------------------------------- patterns and fingerprints


class PatternExamples(Strict):
    match: Annotated[list[str], Field(min_length=1)]
    no_match: list[str] = []
    # What a match example must capture, by named group: {"DS-2CD2385G1-I20200414AAWRE33842150": {"model": "DS-2CD2385G1-I"}}
    captures: dict[str, dict[str, str]] = {}

    @model_validator(mode="after")
    def _captures_name_match_examples(self) -> PatternExamples:
        for example in self.captures:
            if example not in self.match:
                raise ValueError(f"captures names {example!r}, which is not one of the match examples")
        return self


class ModelPattern(Sourced):
    """A model, serial or firmware pattern pointing at a producer (and often a device class)."""

    id: Slug
    field: Literal["model", "serial", "firmware"]
    pattern: Regex
    producer: Slug
    device_class: DeviceClassName | None = None
    brands: list[str] = []  # only counts with one of these label brands; empty = brand-independent
    weight: Confidence
    label_brand: str | None = None  # a brand the pattern reveals (e.g. Lorex firmware OEM code LR)
    note: str = ""
    examples: PatternExamples


class Fingerprint(Sourced):
    """A banner, realm, title, certificate or discovery-reply rule."""

    id: Slug
    signals: Annotated[list[Signal], Field(min_length=1)]  # the vocabulary: a misspelt signal fails at load
    pattern: Regex
    producer: Slug | None = None  # None: the rule only reveals a brand or a class
    label_brand: str | None = None
    device_class: DeviceClassName | None = None
    weight: Confidence
    note: str = ""
    examples: PatternExamples


class DeviceClassHint(Sourced):
    """Words in a description that reveal the device class."""

    device_class: DeviceClassName
    pattern: Regex
    examples: PatternExamples


class OuiRegistrant(Sourced):
    """An IEEE registrant name pattern that belongs to a company."""

    pattern: Regex
    company: Slug
    examples: PatternExamples


class OuiBlock(Sourced):
    """A MA-M/MA-S block (longer than 24 bits) that the MA-L table cannot tell apart."""

    prefix: Annotated[str, Field(pattern=r"^[0-9A-F]{7,9}$")]
    registrant: str


class OuiKnowledge(Strict):
    registrants: list[OuiRegistrant]
    blocks: list[OuiBlock] = []


# --------------------------------------------------------------------------- designations


class Program(Sourced):
    id: str
    name: str
    jurisdiction: CountryCode
    kind: str
    inherits_to: Literal["subsidiaries_and_affiliates", "controlled_entities", "named_only"]
    purposes: list[str] = []
    note: str = ""


class Designation(Dated, Sourced):
    entity: Slug
    program: str
    purposes: list[str] = []  # empty: any purpose
    equipment: list[str] = []  # empty: any equipment
    confidence: Confidence = 0.9
    note: str = ""


class DesignationKnowledge(Strict):
    programs: list[Program]
    designations: list[Designation]


# --------------------------------------------------------------------------- policies


class RuleKind(StrEnum):
    NO_NEW_DEPLOYMENT = "no_new_deployment"
    NO_CORE_CONNECTION = "no_core_connection"
    REMOVE_BY = "remove_by"
    CONSIDER_REMOVAL = "consider_removal"


class SiteScope(StrEnum):
    ANY = "any"
    SENSITIVE = "sensitive"
    NOT_SENSITIVE = "not_sensitive"


class Milestone(Strict):
    date: date
    target_share: Annotated[float, Field(gt=0, le=1)]
    note: str = ""


class Obligation(Dated, Sourced):
    id: str
    title: str
    rule: RuleKind
    sites: SiteScope
    deadline: date | None = None
    milestones: list[Milestone] = []
    action: str  # what a user must do, in words


class SubjectTest(Strict):
    """How a policy decides a device is in scope."""

    kind: Literal["nil", "designation", "entities"]
    programs: list[str] = []  # designation: producers designated under any of these
    entities: list[Slug] = []  # entities: these companies and their controlled subsidiaries
    hong_kong_macau: Literal["yes", "no", "review"] = "review"


class Policy(Sourced):
    id: str
    title: str
    jurisdiction: CountryCode
    issuer: str
    instruments: list[str] = []
    subject_test: SubjectTest
    obligations: Annotated[list[Obligation], Field(min_length=1)]
    note: str = ""
