"""Memory compaction: a migrate_pages caller with migrate_prep_local."""

from __future__ import annotations

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.vmstat import VM_EVENT_NAMES


def test_compaction_moves_low_pages_up_and_keeps_data() -> None:
    m = Machine(nodes=1, node_memory="8MiB")
    p = m.spawn()
    a = p.mmap(16 * PAGE_SIZE)
    for i in range(16):
        p.write(a + i * PAGE_SIZE, f"page {i}".encode())
    before = [p.mm.ptes[(a >> 12) + i] >> 12 for i in range(16)]
    moved, failed = m.compact(0)
    after = [p.mm.ptes[(a >> 12) + i] >> 12 for i in range(16)]
    assert moved >= 16 and failed == 0
    assert min(after) > max(before), "pages went to free frames at the top of the zone"
    for i in range(16):
        assert p.read(a + i * PAGE_SIZE, 6) == f"page {i}".encode()[:6]
    assert m.vm_events[VM_EVENT_NAMES.index("compact_pages_moved")] == moved
    assert m.vm_events[VM_EVENT_NAMES.index("pgmigrate_success")] >= 16
    m.check()
