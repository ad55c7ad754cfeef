"""Bounds on input at the API (issue 21): what cannot exist is refused at
once, with a one-line error that names the argument and the limit, instead
of a MemoryError or minutes of work. The command line's hostile inputs are in
test_cli.py."""

from __future__ import annotations

import errno
import re
import time

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.mempolicy import MPOL_BIND

T = 2**40


@pytest.fixture
def m() -> Machine:
    return Machine(nodes=2, node_memory="4MiB")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": 2, "node_memory": "99999999999999999999GiB"}, r"exceed the 64TiB .*MAX_PHYSMEM_BITS = 46"),
        ({"nodes": 2, "node_memory": "33TiB"}, r"66TiB in all\) exceed the 64TiB"),
        ({"node_memory": "9" * 10_000 + "GiB"}, r"of node 0: '9{20,}\.\.\.' \(10003 characters\)"),
        ({"swap": "1PiB"}, r"swap: 1024TiB is more than the model's limit of 64GiB"),
        ({"cpus": 100_000_000}, r"cpus must be at most 4096 \(NR_CPUS\)"),
        ({"cpus": [0] * 4097}, r"cpus names 4097 CPUs, more than NR_CPUS \(4096\)"),
    ],
)
def test_a_machine_that_cannot_exist_is_refused_at_once(kwargs: dict[str, object], message: str) -> None:
    start = time.process_time()
    with pytest.raises(ValueError, match=message) as exc:
        Machine(**kwargs)  # type: ignore[arg-type]
    assert len(str(exc.value)) < 200 and "\n" not in str(exc.value)
    assert time.process_time() - start < 5, "refused before building anything"


def test_the_largest_machine_boots_lazily() -> None:
    m = Machine(nodes=2, node_memory="32TiB", cpus=4096)
    assert m.max_pfn * PAGE_SIZE == 64 * T and m.nr_cpus == 4096


@pytest.mark.parametrize("call", ["set_mempolicy", "mbind", "migrate_pages"])
@pytest.mark.parametrize(
    ("nodes", "maxnode", "why"),
    [
        ([0], T, r"maxnode=1099511627776: a node mask has at most 32768 bits \(maxnode <= 32769\)"),
        ([100], None, r"node 100 is not below MAX_NUMNODES \(64\)"),
    ],
)
def test_node_masks_the_kernel_refuses_are_einval_naming_the_argument(
        m: Machine, call: str, nodes: list[int], maxnode: int | None, why: str) -> None:
    """get_nodes: more than PAGE_SIZE * 8 bits, or a bit at or above
    MAX_NUMNODES, is -EINVAL (2.6.35 and 6.1); the mask is not built."""
    p = m.spawn(uid=0)
    addr = p.mmap(PAGE_SIZE)
    calls = {
        "set_mempolicy": lambda: p.set_mempolicy(MPOL_BIND, nodes, maxnode),
        "mbind": lambda: p.mbind(addr, PAGE_SIZE, MPOL_BIND, nodes, maxnode=maxnode),
        "migrate_pages": lambda: p.migrate_pages(0, nodes, [1], maxnode),
    }
    with pytest.raises(OSError, match=f"{call}: Invalid argument \\(.*{why}") as exc:
        calls[call]()
    assert exc.value.errno == errno.EINVAL


@pytest.mark.parametrize("call", ["set_mempolicy", "mbind", "migrate_pages"])
def test_a_node_id_no_node_mask_can_hold_is_refused_before_the_call(m: Machine, call: str) -> None:
    """Node ids are bits of a 1024-bit mask on both sides (pagemig.argcheck):
    2**40 is a ValueError naming the argument, and no mask is built."""
    p = m.spawn(uid=0)
    addr = p.mmap(PAGE_SIZE)
    calls = {
        "set_mempolicy": lambda: p.set_mempolicy(MPOL_BIND, [T]),
        "mbind": lambda: p.mbind(addr, PAGE_SIZE, MPOL_BIND, [T]),
        "migrate_pages": lambda: p.migrate_pages(0, [T], [1]),
    }
    name = "old_nodes" if call == "migrate_pages" else "nodes"
    with pytest.raises(ValueError, match=rf"{name}\[0\] must be in \[0, 1023\], got {T}"):
        calls[call]()


def test_a_node_past_max_numnodes_is_no_longer_dropped_silently(m: Machine) -> None:
    """The default maxnode covers every node named: the kernel sees node 100
    (and refuses it) instead of a mask cut at MAX_NUMNODES that drops it."""
    p = m.spawn(uid=0)
    with pytest.raises(OSError) as exc:
        p.migrate_pages(0, [100], [1])
    assert exc.value.errno == errno.EINVAL
    p.migrate_pages(0, [100], [1], maxnode=65)  # an explicit maxnode reads 64 bits only


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, p: p.mbind(0, PAGE_SIZE, MPOL_BIND, [-1]), r"nodes\[0\] must be in \[0, 1023\], got -1"),
        (lambda m, p: p.set_mempolicy(MPOL_BIND, [0], 2**64), r"maxnode must be <= 18446744073709551615"),
        (lambda m, p: p.setuid(2**32), r"uid must be <= 4294967294"),
        (lambda m, p: m.spawn(uid=99999999999999999999), r"uid must be an int within 0\.\.4294967294"),
        (lambda m, p: m.spawn(gid=2**32), r"gid must be an int within 0\.\.4294967294"),
        (lambda m, p: m.complete_writeback(-1), r"nr must be a non-negative int or None, got -1"),
        (lambda m, p: m.create_file("/a", "1TiB"),
         r"size: a file of 1TiB is larger than the machine's memory \(8MiB\)"),
    ],
)
def test_arguments_out_of_range_are_value_errors(m: Machine, call: object, message: str) -> None:
    p = m.spawn(uid=0)
    with pytest.raises(ValueError, match=message):
        call(m, p)  # type: ignore[operator]


def test_error_messages_echo_only_an_excerpt_of_a_huge_value(m: Machine) -> None:
    with pytest.raises(ValueError) as exc:
        m.spawn(uid=10**5000)
    assert len(str(exc.value)) < 120
    assert re.search(r"got an integer of about 5001 digits", str(exc.value))
