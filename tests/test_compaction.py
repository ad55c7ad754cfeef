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


def test_device_mapping_has_no_struct_page() -> None:
    m = Machine(nodes=2)
    p = m.spawn()
    d = p.mmap_device(2 * PAGE_SIZE)
    assert p.move_pages(0, [d], [1], 2).status == [-14], "vma_migratable says no"
    assert p.move_pages(0, [d], None).status == [-14], "follow_page: ERR_PTR(-EFAULT)"
    child = p.fork()
    assert child.move_pages(0, [d + PAGE_SIZE], None).status == [-14]
    m.check()


def test_cpusets_limit_the_target_nodes() -> None:
    import errno

    import pytest

    m = Machine(nodes=2)
    p = m.spawn()
    m.create_cpuset("/only0", [0])
    m.attach_cpuset(p.pid, "/only0")
    assert p.task.mems_allowed == frozenset({0})
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    with pytest.raises(OSError) as info:
        p.move_pages(0, [a], [1], 2)
    assert info.value.errno == errno.EACCES
    with pytest.raises(ValueError, match="not within"):
        m.create_cpuset("/bad", [0, 1], parent="/only0")
