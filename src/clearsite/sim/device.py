"""One emulated device: its persona and the identity facts drawn for it from the fleet seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clearsite.sim.personas import Persona


@dataclass(frozen=True, slots=True)
class SimDevice:
    ip: str
    persona: Persona
    model: str
    serial: str
    mac: str | None  # AA:BB:CC:DD:EE:FF, or None when the device never reveals one
    firmware: str
    index: int

    @property
    def mac_lower(self) -> str:
        return (self.mac or "").lower()

    @property
    def mac_dashes(self) -> str:
        return self.mac_lower.replace(":", "-")

    @property
    def mac_plain(self) -> str:
        return (self.mac or "").replace(":", "")

    def manifest_entry(self) -> dict[str, Any]:
        p = self.persona
        return {
            "ip": self.ip,
            "persona": p.key,
            "producer": p.producer,
            "label_brand": p.label_brand,
            "device_class": p.device_class,
            "model": self.model,
            "serial": self.serial,
            "mac": self.mac,
            "firmware": self.firmware,
            "tcp_ports": sorted(p.tcp),
            "udp_ports": sorted(p.udp_ports),
            "hostile": p.hostile,
        }
