"""An emulated fleet of surveillance devices on loopback, for tests, demos and benchmarks.

fleet = Fleet(hosts=64, seed=7)            # 127.42.0.1 … 127.42.0.64
fleet.write_manifest("fleet.json")         # ground truth: ip → persona, producer, model, serial, MAC
async with fleet.running():                # serve in this event loop
    ...
with fleet.background(shards=2):           # or in worker processes, for thousands of hosts
    ...
"""

from clearsite.sim.device import SimDevice
from clearsite.sim.fleet import Fleet, FleetError
from clearsite.sim.personas import BY_KEY, PERSONAS, Persona

__all__ = ["BY_KEY", "PERSONAS", "Fleet", "FleetError", "Persona", "SimDevice"]
