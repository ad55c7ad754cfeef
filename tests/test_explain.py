"""Machine.explain: why each page of a move_pages call ended where it did."""

from __future__ import annotations

from pagemig import MPOL_MF_MOVE, PAGE_SIZE, Machine
from pagemig.mm import page as pg


def test_explain_gives_each_entry_its_reason() -> None:
    m = Machine(nodes=2)
    p = m.spawn()
    a = p.mmap(4 * PAGE_SIZE)
    p.write(a, b"x")
    p.write(a + PAGE_SIZE, b"y")
    p.write(a + 3 * PAGE_SIZE, b"w")
    p.fork()
    p.write(a, b"z")
    p.write(a + 3 * PAGE_SIZE, b"v")
    pinned = m.pfn_to_page(p.mm.ptes[(a >> 12) + 3] >> 12)
    pg.get_page(pinned)
    m.pin(pinned)
    r = p.move_pages(0, [a, a + PAGE_SIZE, a + 2 * PAGE_SIZE, a + 3 * PAGE_SIZE], [1, 1, 1, 1],
                     MPOL_MF_MOVE)
    assert r.status == [1, -13, -2, -11]
    assert r.reasons[0] == "migrated to node 1"
    assert r.reasons[1].startswith("EACCES: mapped by 2 processes")
    assert r.reasons[2].startswith("ENOENT: nothing present")
    assert r.reasons[3].startswith("EAGAIN after 10 passes")
    text = m.explain(r)
    assert text.splitlines()[0].endswith("migrated to node 1") and text.endswith("ret 0")
    assert r.pages[2] == a + 2 * PAGE_SIZE
