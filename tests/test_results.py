"""MovePagesResult, decode_status and move_pages_error: the results both backends return."""

from __future__ import annotations

import errno
import json
import os

import pytest

from pagemig.results import MovePagesResult, decode_status, move_pages_error


@pytest.mark.parametrize(("code", "text"), [
    (-errno.EACCES, "EACCES: page mapped by more than one process (MPOL_MF_MOVE_ALL not given)"),
    (-errno.EFAULT, "EFAULT: address not mapped, or a special mapping (zero page, pfn map, VM_IO)"),
    (-errno.ENOENT, "ENOENT: page not present (never touched, or swapped out)"),
    (-errno.EBUSY, "EBUSY: page busy (not on an LRU list, locked, or under writeback)"),
    (-errno.ENOMEM, "ENOMEM: no free page on the target node"),
    (-errno.EAGAIN, "EAGAIN: still busy after 10 attempts"),
    (-errno.EIO, "EIO: page cannot be migrated by its filesystem (fail_migrate_page)"),
    (-errno.EINVAL, "EINVAL: dirty page of a mapping without writepage"),
    (-errno.ENODEV, "ENODEV: target node does not exist or has no memory"),
    (-errno.EPERM, "EPERM: operation not permitted"),
    (0, "on node 0"),
    (3, "on node 3"),
    (None, "not written by the kernel"),
])
def test_decode_status_names_each_kernel_answer(code: int | None, text: str) -> None:
    assert decode_status(code) == text


def test_decode_status_other_errnos_use_errno_names() -> None:
    assert decode_status(-errno.ESRCH) == "ESRCH: No such process"
    assert decode_status(-99999) == "unknown status -99999"


@pytest.mark.parametrize("bad", [True, 1.0, "0"])
def test_decode_status_rejects_non_ints(bad: object) -> None:
    with pytest.raises(TypeError, match="code"):
        decode_status(bad)  # type: ignore[arg-type]


def test_table_lists_every_page_with_its_meaning() -> None:
    result = MovePagesResult([1, -errno.EACCES, None], 0)
    assert str(result) == "\n".join([
        "#  status  meaning",
        "0       1  on node 1",
        "1     -13  EACCES: page mapped by more than one process (MPOL_MF_MOVE_ALL not given)",
        "2       -  not written by the kernel",
        "ret 0",
    ])
    table = result.format_table([0x7F0000, 0x7F1000, 0x7F2000])
    assert table.splitlines()[0] == "#      page  status  meaning"
    assert table.splitlines()[2] == "1  0x7f1000     -13  EACCES: page mapped by more than one process " \
                                    "(MPOL_MF_MOVE_ALL not given)"


def test_table_needs_one_address_per_page() -> None:
    with pytest.raises(ValueError, match="pages has 1 entries, status has 2"):
        MovePagesResult([0, 0]).format_table([0x1000])


def test_result_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="ret must be >= 0"):
        MovePagesResult([0], -1)
    with pytest.raises(TypeError, match=r"status\[1\]"):
        MovePagesResult([0, 1.5])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ret"):
        MovePagesResult([0], True)


def test_result_round_trips_through_json() -> None:
    result = MovePagesResult([0, -errno.ENOENT, None, 2], 1)
    assert MovePagesResult.from_json(json.loads(json.dumps(result.to_json()))) == result


@pytest.mark.parametrize(("rc", "cls"), [
    (-errno.EPERM, PermissionError),
    (-errno.ESRCH, ProcessLookupError),
    (-errno.EACCES, PermissionError),
    (-errno.ENODEV, OSError),
])
def test_move_pages_error_uses_pep3151_subclasses(rc: int, cls: type[OSError]) -> None:
    err = move_pages_error(rc, None)
    assert type(err) is cls
    assert err.errno == -rc
    assert err.strerror == os.strerror(-rc)
    assert err.result is None  # type: ignore[attr-defined]


def test_move_pages_error_carries_the_partial_result() -> None:
    partial = MovePagesResult([0, None])
    err = move_pages_error(-errno.ENODEV, partial)
    assert err.result is partial  # type: ignore[attr-defined]


@pytest.mark.parametrize("rc", [0, 5])
def test_move_pages_error_needs_a_negative_errno(rc: int) -> None:
    with pytest.raises(ValueError, match="negative errno"):
        move_pages_error(rc, None)
