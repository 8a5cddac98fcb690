"""A small, fixed world for the web tests, the browser tests and the bench: two departments, their
sites, users of every role with tokens, devices (one with a hostile banner) and findings.

Not a stub: it drives the real shell (`add_site`, `import_register`, agent pushes, `assess_all`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Network, Signal, Site
from clearsite.services.assessment import assess_all
from clearsite.services.devices import iter_devices
from clearsite.services.imports import import_register
from clearsite.store.sites import add_site
from clearsite.store.transactions import write_transaction
from clearsite.store.users import ROLE_SCOPES, Role, User, add_user, create_token, find_user
from clearsite.web.access import Principal
from clearsite.web.changes import push_observations
from clearsite.web.schemas import ObservationIn

AS_OF = date(2024, 9, 1)
PASSWORD = "correct horse battery staple"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
DEPT_A = "Department of Alpha"
DEPT_B = "Ministry of Bravo"
REGISTER = """Make,Model,Serial,MAC,IP,Location,Install date
Hikvision,DS-2CD2143G2-I,DS-2CD2143G2-I20210315AAWRJ22681782,4C:BD:8F:00:3D:44,10.1.0.11,Reception,2021-03-15
Dahua,IPC-HDW2431T-AS-S2,6G0A1B2PAZ11111,,10.1.0.12,Car park,2023-02-01
Axis,P3245-V,ACCC8E123456,AC:CC:8E:12:34:56,10.1.0.13,Loading bay,2020-06-01
"""


@dataclass
class World:
    sites: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # username -> bearer token
    hostile_device: int = 0


def build_world(engine: Engine, knowledge: Knowledge, tmp: Path, as_of: date = AS_OF) -> World:
    world = World()
    with write_transaction(engine) as conn:
        for site in (
            Site("Alpha HQ", DEPT_A, "London", holds_secret=True, networks=(Network("10.1.0.0/16", core=True),)),
            Site("Alpha Depot", DEPT_A, "North", networks=(Network("10.2.0.0/16"),)),
            Site("Bravo House", DEPT_B, "Wales", ministerial=True, networks=(Network("10.9.0.0/16"),)),
        ):
            world.sites[site.name] = add_site(conn, site)
        for name, role, dept, site_name in (
            ("admin", Role.ADMIN, None, None), ("alice", Role.OFFICER, DEPT_A, None),
            ("bob", Role.OFFICER, DEPT_B, None), ("audrey", Role.AUDITOR, None, None),
            ("agent-alpha", Role.AGENT, None, "Alpha HQ"),
        ):
            user = add_user(conn, name, PASSWORD, role, department=dept, site=site_name, actor="test-setup")
            world.tokens[name] = create_token(conn, user, f"{name}-token", actor="test-setup").token
    register = tmp / "alpha-register.csv"
    register.write_text(REGISTER)
    import_register(engine, register, knowledge, site="Alpha HQ", today=as_of)
    with engine.connect() as conn:
        agent = find_user(conn, "agent-alpha")
    principal = Principal(agent, ROLE_SCOPES[Role.AGENT], "token", None)
    push_observations(engine, knowledge, principal, world.sites["Alpha HQ"], [
        ObservationIn(id="probe-1", ip="10.1.0.11", mac="4C:BD:8F:00:3D:44",
                      evidence=[{"signal": Signal.HTTP_SERVER, "value": "App-webs/", "source": "http://10.1.0.11/"}]),
        ObservationIn(id="probe-2", ip="10.1.0.99", mac="E0:50:8B:11:22:33", location=HOSTILE,
                      evidence=[{"signal": Signal.HTTP_SERVER, "value": "DahuaHttp " + HOSTILE, "source": "http://10.1.0.99/"},
                                {"signal": Signal.BANNER, "value": HOSTILE, "source": "rtsp://10.1.0.99/"}]),
    ])
    admin = Principal(find_user_engine(engine, "admin"), ROLE_SCOPES[Role.ADMIN], "token", None)
    bravo = world.sites["Bravo House"]
    push_observations(engine, knowledge, admin, bravo, [
        ObservationIn(id="bravo-1", ip="10.9.0.5", mac="BC:32:5F:00:00:01", serial="BRAVO-SECRET-SERIAL",
                      evidence=[{"signal": Signal.BRAND, "value": "Dahua", "source": "survey"},
                                {"signal": Signal.MODEL, "value": "IPC-HFW1230S", "source": "survey"}]),
    ])
    assess_all(engine, knowledge, as_of)
    world.hostile_device = next(view.id for view, _ in iter_devices(engine, "Alpha HQ", with_evidence=False)
                                if view.ip == "10.1.0.99")
    return world


def find_user_engine(engine: Engine, username: str) -> User:
    with engine.connect() as conn:
        return find_user(conn, username)
