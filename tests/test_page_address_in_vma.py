"""page_address_in_vma as each kernel has it: 2.6.35 asks nothing of an
anonymous page's anon_vma; 6.1 (like 2.6.36 on) requires the same anon_vma root."""

from __future__ import annotations

import errno

import pytest

from pagemig import PAGE_SIZE, Machine, Process
from pagemig.mm import linux61, mempolicy
from pagemig.mm.mmap import find_vma

from .conftest import page_at

PROFILE_FUNCTIONS = {"2.6.35": mempolicy.page_address_in_vma, "6.1": linux61.page_address_in_vma}



def vma_at(p: Process, addr: int):  # type: ignore[no-untyped-def]
    vma = find_vma(p.mm, addr)
    assert vma is not None and vma.vm_start <= addr
    return vma


@pytest.mark.parametrize("profile", sorted(PROFILE_FUNCTIONS))
def test_own_page_and_a_forked_childs_vma_give_the_address(profile: str) -> None:
    page_address_in_vma = PROFILE_FUNCTIONS[profile]
    m = Machine(nodes=2, profile=profile)
    p = m.spawn(uid=0)
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a + PAGE_SIZE, b"x")
    child = p.fork()
    page = page_at(p, a + PAGE_SIZE)
    assert page_address_in_vma(page, vma_at(p, a)) == a + PAGE_SIZE
    # The child's VMA has its own anon_vma, whose root is the parent's.
    assert page_address_in_vma(page, vma_at(child, a)) == a + PAGE_SIZE
    m.check()


@pytest.mark.parametrize("q_touches", [True, False], ids=["own-anon_vma", "no-anon_vma"])
@pytest.mark.parametrize(("profile", "expected"), [("2.6.35", "address"), ("6.1", -errno.EFAULT)])
def test_an_unrelated_processs_vma_at_the_same_index(profile: str, expected: object,
                                                      q_touches: bool) -> None:
    """q's VMA covers the page's index but is no relative of p's: with an
    anon_vma of another family, or none at all (never touched)."""
    page_address_in_vma = PROFILE_FUNCTIONS[profile]
    m = Machine(nodes=2, profile=profile)
    p, q = m.spawn(uid=0), m.spawn(uid=0)
    a = p.mmap(PAGE_SIZE)
    assert q.mmap(PAGE_SIZE, addr=a, fixed=True) == a
    p.write(a, b"p")
    if q_touches:
        q.write(a, b"q")
    got = page_address_in_vma(page_at(p, a), vma_at(q, a))
    assert got == (a if expected == "address" else expected)
    m.check()


@pytest.mark.parametrize("profile", sorted(PROFILE_FUNCTIONS))
def test_file_page_needs_the_vmas_file(profile: str) -> None:
    page_address_in_vma = PROFILE_FUNCTIONS[profile]
    m = Machine(nodes=2, profile=profile)
    p = m.spawn(uid=0)
    inode = m.create_file("/f", size=PAGE_SIZE)
    f = p.mmap(PAGE_SIZE, file=inode)
    p.read(f, 1)
    anon = p.mmap(PAGE_SIZE)
    page = page_at(p, f)
    assert page_address_in_vma(page, vma_at(p, f)) == f
    assert page_address_in_vma(page, vma_at(p, anon)) == -errno.EFAULT
