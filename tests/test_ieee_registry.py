"""The IEEE registry is read once, on first use, even when several threads ask at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A fresh interpreter: the table is process-wide, and in this test process some other test may
# already have loaded it.
_MANY_FIRST_LOOKUPS = textwrap.dedent(
    """
    import threading
    import aiooui
    from clearsite.formats import ieee

    assert not aiooui.is_loaded()
    starts = []
    real_load = aiooui.async_load

    async def counted_load():
        starts.append(1)
        await real_load()

    aiooui.async_load = counted_load
    barrier = threading.Barrier(12)
    answers = []

    def first_lookup():
        barrier.wait()
        answers.append(ieee.ieee_registrant("00408C000000"))

    threads = [threading.Thread(target=first_lookup) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(len(starts), sorted(set(answers)), len(answers))
    """
)


def test_concurrent_first_lookups_load_the_table_once_and_all_see_it() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _MANY_FIRST_LOOKUPS], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[0] == "1 ['Axis Communications AB'] 12"


def test_a_failed_load_is_raised_to_the_caller_and_tried_again_next_time() -> None:
    script = textwrap.dedent(
        """
        import aiooui
        from clearsite.formats import ieee

        real_load = aiooui.async_load

        async def broken_load():
            raise OSError("oui.data unreadable")

        aiooui.async_load = broken_load
        try:
            ieee.ieee_registrant("00408C000000")
        except OSError as error:
            print("raised:", error)
        aiooui.async_load = real_load
        print(ieee.ieee_registrant("00408C000000"))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["raised: oui.data unreadable", "Axis Communications AB"]
