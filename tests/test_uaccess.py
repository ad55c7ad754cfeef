"""get_user/put_user against the bytes of user memory (mm/uaccess.py).

The kernel reads the move_pages arrays element by element through them, and
the model keeps a TLB of frames (with typed views of aligned 4- and 8-byte
values) to make that cheap. These tests hold the fast paths to the plain
definition: the little-endian value of the bytes at the address, -EFAULT
(None/False) where the access faults, and no stale frame after the pte
changes (migration, mprotect, fork's copy-on-write, unmap).
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagemig import MPOL_MF_MOVE, PAGE_SIZE, Machine
from pagemig.mm.mmap import PROT_READ, PROT_WRITE
from pagemig.mm.uaccess import get_user, put_user
from pagemig.process import Process

PAGES = 3


def setup() -> tuple[Machine, Process, int]:
    m = Machine(nodes=2, node_memory="16MiB")
    p = m.spawn()
    base = p.mmap(PAGES * PAGE_SIZE)
    p.write(base, bytes(range(256)) * (PAGES * PAGE_SIZE // 256))
    return m, p, base


def load(p: Process, addr: int, size: int, signed: bool) -> int | None:
    with p.running():
        return get_user(p.mm, addr, size, signed)


def store(p: Process, addr: int, size: int, value: int) -> bool:
    with p.running():
        return put_user(p.mm, addr, size, value)


def expected(raw: bytes, size: int, signed: bool) -> int:
    return int.from_bytes(raw, "little", signed=signed and size >= 4)


sizes = st.sampled_from([1, 2, 4, 8])
offsets = st.integers(0, PAGES * PAGE_SIZE - 8)


@st.composite
def values(draw: st.DrawFn, size: int) -> int:
    if size < 4:
        return draw(st.integers(0, (1 << 8 * size) - 1))
    return draw(st.integers(-(1 << (8 * size - 1)), (1 << 8 * size) - 1))


ops = st.one_of(
    st.tuples(st.just("get"), offsets, sizes, st.booleans()),
    st.tuples(st.just("put"), offsets, sizes).flatmap(
        lambda t: values(t[2]).map(lambda v: (*t, v))),
    st.tuples(st.just("move"), st.integers(0, PAGES - 1), st.integers(0, 1)),
    st.tuples(st.just("protect"), st.integers(0, PAGES - 1), st.booleans()),
    st.tuples(st.just("fork"),),
    st.tuples(st.just("touch"), st.integers(0, PAGES - 1)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ops, min_size=1, max_size=40))
def test_get_and_put_user_agree_with_the_bytes_of_user_memory(steps: list[tuple]) -> None:
    m, p, base = setup()
    mirror = bytearray(p.read(base, PAGES * PAGE_SIZE))
    writable = [True] * PAGES
    children: list[Process] = []
    for step in steps:
        kind = step[0]
        if kind == "get":
            _, off, size, signed = step
            value = load(p, base + off, size, signed)
            assert value == expected(bytes(mirror[off:off + size]), size, signed)
        elif kind == "put":
            _, off, size, value = step
            ok = store(p, base + off, size, value)
            pages_hit = {off // PAGE_SIZE, (off + size - 1) // PAGE_SIZE}
            if all(writable[i] for i in pages_hit):
                assert ok
                mirror[off:off + size] = value.to_bytes(size, "little", signed=value < 0)
            else:
                assert not ok  # -EFAULT: a read-only page
                if writable[off // PAGE_SIZE]:  # a copy may stop part-way at the boundary
                    mirror[:] = p.read(base, PAGES * PAGE_SIZE)
        elif kind == "move":
            _, page, node = step
            p.move_pages(0, [base + page * PAGE_SIZE], [node], MPOL_MF_MOVE)
        elif kind == "protect":
            _, page, write = step
            p.mprotect(base + page * PAGE_SIZE, PAGE_SIZE, PROT_READ | (PROT_WRITE if write else 0))
            writable[page] = write
        elif kind == "touch":  # a user access: the pte changes without the kernel's uaccess
            _, page = step
            p.touch(base + page * PAGE_SIZE, write=writable[page])
        else:
            children.append(p.fork())  # every page becomes copy-on-write
        m.check()
    assert p.read(base, PAGES * PAGE_SIZE) == bytes(mirror)
    for child in children:  # the children never saw the parent's later writes
        child.exit()
    m.check()


@pytest.mark.parametrize(("size", "signed", "fmt"), [(4, False, "<I"), (4, True, "<i"),
                                                     (8, False, "<Q"), (8, True, "<q")])
def test_an_aligned_word_reads_as_struct_unpacks_it(size: int, signed: bool, fmt: str) -> None:
    _, p, base = setup()
    raw = bytes([0xFF, 0x80, 0x01, 0x7F, 0xFE, 0x00, 0x10, 0x90])[:size]
    p.write(base + 2 * size, raw)
    assert load(p, base + 2 * size, size, signed) == struct.unpack(fmt, raw)[0]
    assert load(p, base + 2 * size, size, signed) == struct.unpack(fmt, raw)[0]  # TLB hit


def test_put_user_out_of_range_raises_and_writes_nothing() -> None:
    _, p, base = setup()
    before = p.read(base, 16)
    with pytest.raises(OverflowError):
        store(p, base, 4, 1 << 32)
    with pytest.raises(OverflowError):
        store(p, base, 4, -(1 << 31) - 1)
    with pytest.raises(struct.error):
        store(p, base, 2, -1)
    assert p.read(base, 16) == before


def test_a_page_that_is_gone_faults_even_after_a_tlb_hit() -> None:
    _, p, base = setup()
    assert load(p, base + 8, 8, False) is not None  # fills the TLB
    assert store(p, base + 8, 8, 5)
    p.munmap(base, PAGE_SIZE)
    assert load(p, base + 8, 8, False) is None
    assert not store(p, base + 8, 8, 6)


def test_a_write_after_migration_lands_in_the_new_frame() -> None:
    _, p, base = setup()
    assert store(p, base + 16, 8, 1)  # fills the TLB with the frame on node 0
    assert p.move_pages(0, [base], [1], MPOL_MF_MOVE).status == [1]
    p.touch(base)  # a user write: the new pte becomes dirty and writable again
    assert store(p, base + 16, 8, 2)
    assert load(p, base + 16, 8, False) == 2
    assert p.read(base + 16, 8) == (2).to_bytes(8, "little")
