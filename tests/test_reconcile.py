"""Reconciling the register with what was seen: serial, then MAC, then site + IP, one-to-one."""

from __future__ import annotations

import time

from clearsite.core.models import Evidence, ScannedHost, Signal
from clearsite.core.reconcile import (
    Conflict,
    JoinKey,
    RegisteredItem,
    SeenItem,
    reconcile,
)


def reg(device_id: str, **fields: str | None) -> RegisteredItem:
    return RegisteredItem(device_id, **fields)


def seen(device_id: str, **fields: str | None) -> SeenItem:
    return SeenItem(device_id, **fields)


def pairs(result: object) -> list[tuple[object, object, str]]:
    return [(m.registered.device_id, m.seen.device_id, m.key.value) for m in result.matched]  # type: ignore[attr-defined]


def test_serial_joins_ignoring_case_and_spaces() -> None:
    result = reconcile([reg("r1", serial="DS-2CD2143 G0I 2019")], [seen("s1", serial=" ds-2cd2143g0i2019 ")])
    assert pairs(result) == [("r1", "s1", "serial")]
    assert result.seen_not_registered == () and result.registered_not_seen == ()


def test_mac_joins_across_spellings() -> None:
    result = reconcile([reg("r1", mac="4419.b60a.1122")], [seen("s1", mac="44-19-B6-0A-11-22")])
    assert pairs(result) == [("r1", "s1", "mac")]


def test_site_and_ip_join_when_nothing_stronger_is_known() -> None:
    result = reconcile(
        [reg("r1", site="Leeds Hub", ip="10.2.3.4")], [seen("s1", site="leeds  hub", ip="10.2.3.4")]
    )
    assert pairs(result) == [("r1", "s1", "ip")]


def test_the_same_ip_at_another_site_is_another_device() -> None:
    result = reconcile([reg("r1", site="Leeds", ip="10.2.3.4")], [seen("s1", site="York", ip="10.2.3.4")])
    assert result.matched == ()
    assert [r.device_id for r in result.registered_not_seen] == ["r1"]
    assert [s.device_id for s in result.seen_not_registered] == ["s1"]


def test_a_missing_site_joins_only_another_missing_site() -> None:
    result = reconcile(
        [reg("r1", ip="10.0.0.1"), reg("r2", site="York", ip="10.0.0.2")],
        [seen("s1", ip="10.0.0.1"), seen("s2", ip="10.0.0.2")],
    )
    assert pairs(result) == [("r1", "s1", "ip")]


def test_stronger_key_wins_and_each_item_pairs_once() -> None:
    registered = [reg("r1", serial="SN1", mac="44:19:B6:00:00:01", site="A", ip="10.0.0.1")]
    found = [
        seen("by-mac", mac="44:19:B6:00:00:01", site="A", ip="10.0.0.9"),
        seen("by-serial", serial="sn1", site="A", ip="10.0.0.1"),
    ]
    result = reconcile(registered, found)
    assert pairs(result) == [("r1", "by-serial", "serial")]
    assert [s.device_id for s in result.seen_not_registered] == ["by-mac"]


def test_a_different_known_mac_blocks_an_ip_join_because_the_device_was_swapped() -> None:
    registered = [reg("r1", mac="44:19:B6:00:00:01", site="A", ip="10.0.0.1")]
    found = [seen("s1", mac="3C:EF:8C:00:00:02", site="A", ip="10.0.0.1")]
    result = reconcile(registered, found)
    assert result.matched == ()
    assert len(result.registered_not_seen) == 1 and len(result.seen_not_registered) == 1


def test_a_different_known_serial_blocks_an_ip_join() -> None:
    result = reconcile(
        [reg("r1", serial="AAA", site="A", ip="10.0.0.1")],
        [seen("s1", serial="BBB", site="A", ip="10.0.0.1")],
    )
    assert result.matched == ()


def test_a_mac_match_with_a_different_serial_pairs_and_says_so() -> None:
    result = reconcile(
        [reg("r1", serial="DS123", mac="44:19:B6:00:00:01", site="A", ip="10.0.0.1")],
        [seen("s1", serial="DS124", mac="44:19:b6:00:00:01", site="A", ip="10.0.0.7")],
    )
    assert pairs(result) == [("r1", "s1", "mac")]
    assert result.matched[0].disagreements == ("serial", "ip")


def test_duplicate_register_serials_are_a_conflict_and_fall_through_to_mac() -> None:
    registered = [
        reg("r1", serial="SN-DUP", mac="44:19:B6:00:00:01"),
        reg("r2", serial=" sn-d up", mac="44:19:B6:00:00:02"),
    ]
    found = [seen("s1", serial="SN-DUP", mac="44:19:B6:00:00:02")]
    result = reconcile(registered, found)
    assert result.conflicts[0] == Conflict(JoinKey.SERIAL, "SN-DUP", tuple(registered), tuple(found))
    assert str(result.conflicts[0]) == "serial 'SN-DUP' is held by 2 register row(s) and 1 seen item(s)"
    assert pairs(result) == [("r2", "s1", "mac")]
    assert [r.device_id for r in result.registered_not_seen] == ["r1"]


def test_duplicate_register_serials_are_a_conflict_even_when_never_seen() -> None:
    result = reconcile([reg("r1", serial="X1"), reg("r2", serial="x1")], [])
    assert [(c.key, c.value, len(c.registered), len(c.seen)) for c in result.conflicts] == [
        (JoinKey.SERIAL, "X1", 2, 0)
    ]
    assert len(result.registered_not_seen) == 2


def test_two_seen_hosts_with_one_mac_are_a_conflict_not_a_guess() -> None:
    result = reconcile(
        [reg("r1", mac="44:19:B6:00:00:01")],
        [
            seen("s1", mac="44:19:B6:00:00:01", ip="10.0.0.1"),
            seen("s2", mac="44-19-b6-00-00-01", ip="10.0.0.2"),
        ],
    )
    assert result.matched == ()
    assert [(c.key, c.value, len(c.registered), len(c.seen)) for c in result.conflicts] == [
        (JoinKey.MAC, "44:19:B6:00:00:01", 1, 2)
    ]


def test_placeholder_serials_and_macs_join_nothing() -> None:
    registered = [reg("r1", serial="N/A", mac="00:00:00:00:00:00"), reg("r2", serial="unknown")]
    found = [seen("s1", serial="n/a", mac="00-00-00-00-00-00"), seen("s2", serial="Unknown")]
    result = reconcile(registered, found)
    assert result.matched == () and result.conflicts == ()


def test_nothing_matched() -> None:
    registered = [reg("r1", serial="A"), reg("r2", mac="44:19:B6:00:00:01")]
    found = [seen("s1", serial="B"), seen("s2", site="X", ip="10.0.0.1")]
    result = reconcile(registered, found)
    assert result.matched == ()
    assert result.registered_not_seen == tuple(registered)
    assert result.seen_not_registered == tuple(found)


def test_empty_inputs() -> None:
    result = reconcile([], [])
    assert (result.matched, result.seen_not_registered, result.registered_not_seen, result.conflicts) == (
        (),
        (),
        (),
        (),
    )


def test_unparseable_keys_are_ignored_rather_than_fatal() -> None:
    result = reconcile([reg("r1", mac="not a mac", ip="10.0.0.300")], [seen("s1", mac="zz", ip="nope")])
    assert result.matched == ()


def test_results_keep_input_order() -> None:
    registered = [reg(f"r{i}", serial=f"S{i}") for i in range(5)]
    found = [seen(f"s{i}", serial=f"S{i}") for i in reversed(range(5))]
    result = reconcile(registered, found)
    assert [m.registered.device_id for m in result.matched] == ["r0", "r1", "r2", "r3", "r4"]


def test_seen_item_from_a_scanned_host_takes_a_probed_serial() -> None:
    host = ScannedHost(
        "10.0.0.5",
        "44:19:B6:00:00:05",
        "cam-5",
        [80],
        [Evidence(Signal.SERIAL, "DS-2CD2143G0-I20190101AAWRC12345678", "sadp reply")],
    )
    item = SeenItem.from_scanned_host(host, device_id=7, site="Leeds")
    assert item == SeenItem(
        7, "Leeds", "DS-2CD2143G0-I20190101AAWRC12345678", "44:19:B6:00:00:05", "10.0.0.5", "cam-5"
    )


def test_a_hundred_thousand_each_side_reconcile_quickly() -> None:
    n = 100_000

    def mac(i: int) -> str:
        return f"44:19:B6:{(i >> 16) & 255:02X}:{(i >> 8) & 255:02X}:{i & 255:02X}"

    def ip(i: int) -> str:
        return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"

    registered = [
        RegisteredItem(
            i, f"site{i % 500}", f"SN{i:08d}" if i % 3 == 0 else None, mac(i) if i % 3 == 1 else None, ip(i)
        )
        for i in range(n)
    ]
    found = [
        SeenItem(
            -i,
            f"Site{i % 500}",
            f"sn {i:08d}" if i % 3 == 0 else None,
            mac(i).lower().replace(":", "-"),
            ip(i),
        )
        for i in reversed(range(n))
    ]
    started = time.process_time()  # CPU time: other jobs on a shared CI machine do not count
    result = reconcile(registered, found)
    elapsed = time.process_time() - started
    assert len(result.matched) == n
    assert {m.key for m in result.matched} == {JoinKey.SERIAL, JoinKey.MAC, JoinKey.IP}
    # About 1 s of CPU on the small shared VM this was written on; the bound catches a lost dict join.
    assert elapsed < 3.0, f"{elapsed:.2f}s"
