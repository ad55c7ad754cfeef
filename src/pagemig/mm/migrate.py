"""Model of mm/migrate.c (Linux 2.6.35).

Every function of the file, under its kernel name, doing the kernel's steps
in the kernel's order and returning 0 or a negative errno where it does.
Comments keep the intent of the kernel's own. Line numbers (Lnnn) refer to
the 2.6.35 file. ``unmap_and_move`` is split where later kernels split it:
``_unmap_and_move`` holds the part between taking and releasing the page
lock (labels rcu_unlock, uncharge, unlock), ``unmap_and_move`` the allocation
and the move_newpage tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from .buffer import (
    bh_offset,
    buffers_of,
    get_bh,
    lock_buffer,
    page_buffers,
    page_has_buffers,
    put_bh,
    set_bh_page,
    try_to_free_buffers,
    unlock_buffer,
)
from .bug import BUG_ON, VM_BUG_ON, KernelBug
from .cpuset import cpuset_mems_allowed
from .cred import CAP_SYS_NICE, capable, may_move_memory_of
from .errno_base import (
    EACCES,
    EAGAIN,
    EBUSY,
    EFAULT,
    EINVAL,
    EIO,
    ENODEV,
    ENOENT,
    ENOMEM,
    EPERM,
    ESRCH,
)
from .filemap import AOP_WRITEPAGE_ACTIVATE, AddressSpace, page_mapping
from .gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_THISNODE
from .highmem import copy_highpage
from .ksm import ksm_migrate_page
from .list import ListHead, list_add_tail, list_del, list_empty, list_for_each_entry_safe
from .list import lru_to_page as tail
from .memcontrol import MemCgroup, mem_cgroup_end_migration, mem_cgroup_prepare_migration
from .memory import FOLL_GET, FollowPageError, follow_page, mk_pte, pte_read, set_pte_at
from .mempolicy import alloc_pages_current, vma_migratable
from .mlock import mlock_migrate_page
from .mm_inline import page_is_file_cache
from .mmap import MmStruct, VmAreaStruct, find_vma, mmput
from .mmzone import MAX_NUMNODES, NodeState, ZoneStatItem
from .page import (
    PAGE_SIZE,
    ClearPagePrivate,
    ClearPageSwapCache,
    Page,
    PageAnon,
    PageChecked,
    PageDirty,
    PageError,
    PageKsm,
    PageMappedToDisk,
    PageReferenced,
    PageReserved,
    PageSwapBacked,
    PageSwapCache,
    PageUnevictable,
    PageUptodate,
    PageWriteback,
    SetPageActive,
    SetPageChecked,
    SetPageError,
    SetPageMappedToDisk,
    SetPagePrivate,
    SetPageReferenced,
    SetPageSwapBacked,
    SetPageSwapCache,
    SetPageUnevictable,
    SetPageUptodate,
    TestClearPageActive,
    TestClearPageUnevictable,
    get_page,
    get_page_unless_zero,
    page_count,
    page_freeze_refs,
    page_has_private,
    page_index,
    page_mapcount,
    page_mapped,
    page_private,
    page_to_nid,
    page_unfreeze_refs,
    set_page_private,
)
from .page_alloc import alloc_pages_exact_node
from .page_writeback import (
    _set_page_dirty_nobuffers,
    clear_page_dirty_for_io,
    end_page_writeback,
    wait_on_page_writeback,
)
from .pagemap import lock_page, trylock_page, unlock_page, wait_on_page_locked
from .pgtable import is_swap_pte, pte_mkold, pte_mkwrite, pte_to_swp_entry
from .rmap import (
    SWAP_AGAIN,
    TTU_IGNORE_ACCESS,
    TTU_IGNORE_MLOCK,
    TTU_MIGRATION,
    anon_vma_free,
    page_add_anon_rmap,
    page_add_file_rmap,
    page_anon_vma,
    pgd_pud_pmd_present,
    rmap_walk,
    try_to_unmap,
)
from .rwsem import down_read, up_read
from .sched import PF_SWAPWRITE, cond_resched, get_task_mm
from .security import security_task_movememory
from .spinlock import spin_lock, spin_lock_irq, spin_unlock, spin_unlock_irq
from .swap import lru_add_drain, lru_add_drain_all, put_page
from .swapops import is_migration_entry, is_write_migration_entry, migration_entry_to_pfn
from .vmscan import isolate_lru_page, putback_lru_page, try_to_release_page
from .vmstat import PGMIGRATE_FAIL, PGMIGRATE_SUCCESS

# UserMoveArrays: the user memory behind move_pages(2)'s pointer arguments
# (64-bit or compat pointers); a class, so compiled calls to it are native.
if TYPE_CHECKING:
    from ..machine import Machine
    from .rmap import AnonVma
    from .sched import TaskStruct
    from .syscalls import UserMoveArrays

NR_ISOLATED_ANON: Final = int(ZoneStatItem.NR_ISOLATED_ANON)
NR_FILE_PAGES: Final = int(ZoneStatItem.NR_FILE_PAGES)
NR_SHMEM: Final = int(ZoneStatItem.NR_SHMEM)
MPOL_MF_MOVE: Final = 1 << 1
MPOL_MF_MOVE_ALL: Final = 1 << 2


class StatusSlot(Protocol):
    """What ``*result`` points at: an int the migration outcome is written to."""

    status: int


# new_page_t: (page, private, result) -> new page or None; may set result[0].
NewPage = Callable[[Page, object, list["StatusSlot | None"]], "Page | None"]


def lru_to_page(head: ListHead) -> Page:
    """L39: the page at the tail of a list (defined, unused in this file)."""

    return tail(head)


def _trace(machine: Machine, name: str, **fields: object) -> None:
    if machine.trace.enabled:
        machine.trace.emit(name, **fields)


def _account(machine: Machine, page: Page, why: str) -> None:
    """Note why the current unmap_and_move attempt ends as it does."""
    machine.account.note(page.pfn, why)


# --- L42-L82 --------------------------------------------------------------------------------


def migrate_prep(machine: Machine) -> int:
    """Clear the LRU pagevecs so pages can be isolated. Pages may leave the
    LRU after the drain; those fail to migrate like other busy pages. L46."""
    lru_add_drain_all(machine)
    return 0


def migrate_prep_local(machine: Machine) -> int:
    """migrate_prep for this CPU only. L60."""
    lru_add_drain(machine)
    return 0


def putback_lru_pages(l: ListHead) -> None:  # noqa: E741 (the kernel's name)
    """Put every isolated page of the list back on its LRU list. L71."""
    for page in list_for_each_entry_safe(l):
        list_del(page)
        page.zone.vm_stat[NR_ISOLATED_ANON + page_is_file_cache(page)] -= 1
        putback_lru_page(page)


# --- migration ptes, L85-L199 -------------------------------------------------------------


def remove_migration_pte(new: Page, vma: VmAreaStruct, addr: int, old: object) -> int:
    """Restore a migration pte for ``old`` at addr as a working pte to ``new``. L87."""
    mm = vma.vm_mm
    if not pgd_pud_pmd_present(mm, addr):
        return SWAP_AGAIN
    if not is_swap_pte(pte_read(mm, addr)):
        return SWAP_AGAIN
    spin_lock(mm.page_table_lock)
    try:
        pte = pte_read(mm, addr)
        if not is_swap_pte(pte):
            return SWAP_AGAIN
        entry = pte_to_swp_entry(pte)
        assert isinstance(old, Page)  # rmap_walk's arg: the page being migrated
        if not is_migration_entry(entry) or migration_entry_to_pfn(entry) != old.pfn:
            return SWAP_AGAIN
        get_page(new)
        mm.migration_rss.pop(addr >> 12, None)
        pte = pte_mkold(mk_pte(new, vma.vm_page_prot))
        if is_write_migration_entry(entry):
            pte = pte_mkwrite(pte)
        set_pte_at(mm, addr, pte)
        if PageAnon(new):
            page_add_anon_rmap(new, vma, addr)
        else:
            page_add_file_rmap(new)
        # No need to invalidate - it was non-present before.
        if mm.machine.trace.enabled:
            _trace(mm.machine, "remove_migration_pte", addr=addr, pte=pte)
    finally:
        spin_unlock(mm.page_table_lock)
    return SWAP_AGAIN


def remove_migration_ptes(old: Page, new: Page) -> None:
    """Replace every migration entry for ``old`` by a pte to ``new``. L153."""
    rmap_walk(new, remove_migration_pte, old)


def migration_entry_wait(mm: MmStruct, address: int) -> None:
    """A fault hit a migration entry: wait for the migration to finish; the
    fault is then retried. Called from do_swap_page. L165."""
    spin_lock(mm.page_table_lock)
    pte = pte_read(mm, address)
    if not is_swap_pte(pte):
        spin_unlock(mm.page_table_lock)
        return
    entry = pte_to_swp_entry(pte)
    if not is_migration_entry(entry):
        spin_unlock(mm.page_table_lock)
        return
    page = mm.machine.pfn_to_page(migration_entry_to_pfn(entry))
    # Once the radix-tree replacement started, the count is frozen at zero;
    # we must not wait on a page we hold no reference to. The fault recurs.
    if not get_page_unless_zero(page):  # pragma: no cover
        # Frozen between page_freeze_refs and page_unfreeze_refs: a window
        # with no schedule point in the model (another CPU in the kernel).
        spin_unlock(mm.page_table_lock)
        return
    spin_unlock(mm.page_table_lock)
    wait_on_page_locked(page)
    put_page(page)


# --- the mapping, L202-L327 -----------------------------------------------------------------


def migrate_page_move_mapping(mapping: AddressSpace | None, newpage: Page, page: Page) -> int:
    """Replace the page in the mapping. Remaining references must be: 1 for
    anonymous pages without a mapping, 2 with a mapping, 3 with a mapping and
    PagePrivate/PagePrivate2. L209."""
    if mapping is None:
        # Anonymous page without mapping
        if page_count(page) != 1:
            return -EAGAIN
        return 0
    spin_lock_irq(mapping.tree_lock)
    pslot = mapping.radix_tree_lookup_slot(page_index(page))
    expected_count = 2 + page_has_private(page)
    if page_count(page) != expected_count or pslot is None or \
            mapping.radix_tree_deref_slot(pslot) is not page:
        spin_unlock_irq(mapping.tree_lock)
        return -EAGAIN
    if not page_freeze_refs(page, expected_count):  # pragma: no cover
        # Only a speculative reference taken by another CPU between the count
        # check and the freeze (page_cache_get_speculative, without the tree
        # lock) fails this; the model has no schedule point in that window.
        spin_unlock_irq(mapping.tree_lock)
        return -EAGAIN
    # Now we know that no one else is looking at the page.
    get_page(newpage)  # add cache reference
    if PageSwapCache(page):
        SetPageSwapCache(newpage)
        set_page_private(newpage, page_private(page))
    mapping.radix_tree_replace_slot(pslot, newpage)
    page_unfreeze_refs(page, expected_count)
    # Drop cache reference from old page. We know this isn't the last reference.
    page._count -= 1  # __put_page
    # If moved to a different zone then also account the page for that zone.
    # Anonymous swap-cache pages count in NR_FILE_PAGES, and (being
    # PageSwapBacked) have NR_SHMEM moved too although it never counted them.
    page.zone.vm_stat[NR_FILE_PAGES] -= 1
    newpage.zone.vm_stat[NR_FILE_PAGES] += 1
    if PageSwapBacked(page):
        page.zone.vm_stat[NR_SHMEM] -= 1
        newpage.zone.vm_stat[NR_SHMEM] += 1
    spin_unlock_irq(mapping.tree_lock)
    return 0


def migrate_page_copy(newpage: Page, page: Page) -> None:
    """Copy the page to its new location: bytes, flags, dirty state. L281."""
    copy_highpage(newpage, page)
    if PageError(page):
        SetPageError(newpage)
    if PageReferenced(page):
        SetPageReferenced(newpage)
    if PageUptodate(page):
        SetPageUptodate(newpage)
    if TestClearPageActive(page):
        VM_BUG_ON(PageUnevictable(page), page, "active and unevictable")
        SetPageActive(newpage)
    elif TestClearPageUnevictable(page):
        SetPageUnevictable(newpage)
    if PageChecked(page):
        SetPageChecked(newpage)
    if PageMappedToDisk(page):
        SetPageMappedToDisk(newpage)
    if PageDirty(page):
        clear_page_dirty_for_io(page)
        # Mark the page and the tree dirty and redo the accounting that
        # clear_page_dirty_for_io undid, without set_page_dirty, which would
        # say the whole page became dirty when only part of it may be.
        _set_page_dirty_nobuffers(newpage)
    mlock_migrate_page(newpage, page)
    ksm_migrate_page(newpage, page)
    ClearPageSwapCache(page)
    ClearPagePrivate(page)
    set_page_private(page, 0)
    page.mapping = None
    # If any waiters have accumulated on the new page then wake them up.
    if PageWriteback(newpage):  # pragma: no cover
        # A page fresh from the allocator is never under writeback.
        end_page_writeback(newpage)


# --- migration functions, L329-L484 --------------------------------------------------------


def fail_migrate_page(mapping: AddressSpace | None, newpage: Page, page: Page) -> int:
    """Always fail migration. Used for mappings that are not movable. L334."""
    return -EIO


def migrate_page(mapping: AddressSpace | None, newpage: Page, page: Page) -> int:
    """Migrate a page that has no PagePrivate/PagePrivate2. Pages are locked
    upon entry and exit. L347."""
    BUG_ON(PageWriteback(page), "migrate_page of a page under writeback")  # Writeback must be complete
    rc = migrate_page_move_mapping(mapping, newpage, page)
    if rc:
        return rc
    migrate_page_copy(newpage, page)
    return 0


def buffer_migrate_page(mapping: AddressSpace | None, newpage: Page, page: Page) -> int:
    """Migrate a page with buffers; the filesystem guarantees no other
    references to them. L370."""
    if not page_has_buffers(page):
        return migrate_page(mapping, newpage, page)
    head = page_buffers(page)
    rc = migrate_page_move_mapping(mapping, newpage, page)
    if rc:
        return rc
    ring = buffers_of(page)
    for bh in ring:
        get_bh(bh)
        lock_buffer(bh)
    ClearPagePrivate(page)
    set_page_private(newpage, page_private(page))
    set_page_private(page, 0)
    put_page(page)
    get_page(newpage)
    for bh in ring:
        set_bh_page(bh, newpage, bh_offset(bh))
    SetPagePrivate(newpage)
    migrate_page_copy(newpage, page)
    for bh in ring:
        unlock_buffer(bh)
        put_bh(bh)
    VM_BUG_ON(page_buffers(newpage) is not head, newpage, "buffer ring lost")
    return 0


@dataclass
class WritebackControl:
    """struct writeback_control as writeout() fills it."""

    sync_mode: str = "WB_SYNC_NONE"
    nr_to_write: int = 1
    range_start: int = 0
    range_end: int = (1 << 63) - 1
    nonblocking: int = 1
    for_reclaim: int = 1


def writeout(mapping: AddressSpace, page: Page) -> int:
    """Write back a page to clean the dirty state; the migration attempt
    cannot succeed this time. L427."""
    wbc = WritebackControl()
    if mapping.a_ops.writepage is None:
        # No write method for the address space
        return -EINVAL
    if not clear_page_dirty_for_io(page):  # pragma: no cover
        # Someone else already triggered a write. (Needs a filesystem that
        # cleans pages without the page lock; the model has none.)
        return -EAGAIN
    # A dirty page may imply that the filesystem has it on some queue, so it
    # must be clean for migration. Writeout may lose the lock and the page
    # state is no longer what we checked: put the old ptes back first.
    remove_migration_ptes(page, page)
    rc = mapping.a_ops.writepage(page, wbc)
    # No model filesystem without a migratepage method returns
    # AOP_WRITEPAGE_ACTIVATE from writepage (shmem does, but migrates directly).
    if rc != AOP_WRITEPAGE_ACTIVATE:  # pragma: no branch
        # unlocked. Relock
        lock_page(page)
    return -EIO if rc < 0 else -EAGAIN


def fallback_migrate_page(mapping: AddressSpace, newpage: Page, page: Page) -> int:
    """Default handling if a filesystem does not provide a migration function. L469."""

    if PageDirty(page):
        return writeout(mapping, page)
    # Buffers may be managed in a filesystem specific way: drop them or fail.
    if page_has_private(page) and not try_to_release_page(page, GFP_KERNEL):
        return -EAGAIN
    return migrate_page(mapping, newpage, page)


def move_to_new_page(newpage: Page, page: Page, remap_swapcache: int) -> int:
    """Move a locked, fully unmapped page to ``newpage``. On success the new
    page has replaced the old one in every mapping. L497."""
    # Block others from accessing the new page when we get around to
    # establishing additional references; only we hold a reference to it.
    if not trylock_page(newpage):  # pragma: no cover
        BUG_ON(True, "move_to_new_page: new page already locked")
    # Prepare mapping for the new page.
    newpage.index = page.index
    newpage.mapping = page.mapping
    if PageSwapBacked(page):
        SetPageSwapBacked(newpage)
    mapping: AddressSpace | None = page_mapping(page)
    if mapping is None:
        rc = migrate_page(mapping, newpage, page)
    elif mapping.a_ops.migratepage is not None:
        # Most pages have a mapping and most filesystems provide a migration
        # function; anonymous swap-cache pages use swapper_space's.
        rc = mapping.a_ops.migratepage(mapping, newpage, page)
    else:
        rc = fallback_migrate_page(mapping, newpage, page)
    if rc:
        newpage.mapping = None
    elif remap_swapcache:
        remove_migration_ptes(page, newpage)
    unlock_page(newpage)
    return rc


# --- unmap_and_move, L546-L728 -------------------------------------------------------------


def _unmap_and_move(page: Page, newpage: Page, force: int, offlining: int) -> int:
    """Lock the page, unmap it and move it (L570-L698: up to label unlock).

    Return: 0, -EAGAIN (retry), -ENOMEM (abort all) or a permanent error.
    """
    machine = page.zone.machine
    remap_swapcache = 1
    rcu_locked = 0
    mem: list[MemCgroup | None] = [None]
    anon_vma: AnonVma | None = None
    rc = -EAGAIN
    if not trylock_page(page):
        if not force:
            _account(machine, page, "EAGAIN: page locked by someone else (trylock failed)")
            return rc
        lock_page(page)
    # Only memory hotplug's offline_pages() has locked out KSM and may migrate
    # a KSM page; now that we hold the page lock it cannot become KSM under us.
    # (Since 3.9 KSM pages migrate like others: profile switch.)
    if PageKsm(page) and not offlining and not machine.kernel.ksm_pages_migrate:
        rc = -EBUSY
        _account(machine, page, "EBUSY: KSM page (only memory offlining may move it)")
        return _unlock(page, rc)
    # charge against new page
    charge = mem_cgroup_prepare_migration(page, newpage, mem)
    if charge == -ENOMEM:
        rc = -ENOMEM
        _account(machine, page, "ENOMEM: memory cgroup over its limit")
        return _unlock(page, rc)
    BUG_ON(charge, "mem_cgroup_prepare_migration returned an unexpected value")
    if PageWriteback(page):
        if not force:
            _account(machine, page, "EAGAIN: page under writeback")
            return _uncharge(page, newpage, charge, mem[0], rc)
        wait_on_page_writeback(page)
    # try_to_unmap can drop the mapcount to 0 while we migrate an anon page,
    # and then nothing keeps its anon_vma alive: hold it (RCU and a reference).
    if PageAnon(page):
        rcu_locked = 1
        # Determine how to safely use anon_vma
        if not page_mapped(page):
            if not PageSwapCache(page):
                _account(machine, page, "EAGAIN: anonymous page neither mapped nor in swap cache")
                return _rcu_unlock(page, newpage, charge, mem[0], rc, anon_vma, rcu_locked)
            # An unmapped swap-cache page's anon_vma may already be freed:
            # migrate it but never walk its rmap, so do not remap.
            remap_swapcache = 0
        else:
            # Hold the anon_vma so it exists when the page is remapped.
            anon_vma = page_anon_vma(page)
            if anon_vma is not None:
                anon_vma.external_refcount += 1
            elif not machine.kernel.ksm_pages_migrate:
                # A mapped KSM page (only offlining gets here): page_anon_vma()
                # is NULL for it and 2.6.35 increments through it anyway (L641-L642),
                # a real oops of 2.6.35 (docs/kernel-bugs.md).
                raise KernelBug("NULL pointer dereference in unmap_and_move "
                                f"(page_anon_vma of mapped KSM page pfn {page.pfn:#x})",
                                kernel="2.6.35")
            # (3.9+: a KSM page's rmap is its stable node, nothing to hold.)
    # Corner cases: a new swap-cache page without rmap yet; an orphaned page
    # (truncated) that may still have fs-private data: free it if we can.
    if page.mapping is None:
        if not PageAnon(page) and page_has_private(page):
            # try_to_free_buffers directly: we may be under RCU and cannot
            # use GFP_KERNEL as try_to_release_page would.
            try_to_free_buffers(page)
            _account(machine, page, "EAGAIN: orphaned page, buffers freed")
            return _rcu_unlock(page, newpage, charge, mem[0], rc, anon_vma, rcu_locked)
    else:
        # Establish migration ptes or remove ptes
        try_to_unmap(page, TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS)
    # skip_unmap:
    if not page_mapped(page):
        rc = move_to_new_page(newpage, page, remap_swapcache)
    else:
        _account(machine, page, f"EAGAIN: still mapped by {page_mapcount(page)} pte(s) after unmap")
    if rc and remap_swapcache:
        remove_migration_ptes(page, page)
    return _rcu_unlock(page, newpage, charge, mem[0], rc, anon_vma, rcu_locked)


def _rcu_unlock(page: Page, newpage: Page, charge: int, mem: MemCgroup | None, rc: int,
                anon_vma: AnonVma | None, rcu_locked: int) -> int:
    """Label rcu_unlock: drop the anon_vma reference if we took one. L682."""
    if anon_vma is not None:
        anon_vma.external_refcount -= 1
        if anon_vma.external_refcount == 0:
            spin_lock(anon_vma.lock)
            empty = not anon_vma.head
            spin_unlock(anon_vma.lock)
            if empty:
                anon_vma_free(anon_vma)
    # rcu_read_unlock() if rcu_locked: RCU delays nothing in the model.
    return _uncharge(page, newpage, charge, mem, rc)


def _uncharge(page: Page, newpage: Page, charge: int, mem: MemCgroup | None, rc: int) -> int:
    """Label uncharge. L694."""
    if not charge:  # pragma: no branch (a non-zero charge was a BUG above)
        mem_cgroup_end_migration(mem, page, newpage)
    return _unlock(page, rc)


def _unlock(page: Page, rc: int) -> int:
    """Label unlock: a migrated page loses its references and will be freed;
    a page not migrated keeps them and returns to the LRU. L697."""
    unlock_page(page)
    if rc != -EAGAIN:
        list_del(page)
        page.zone.vm_stat[NR_ISOLATED_ANON + page_is_file_cache(page)] -= 1
        putback_lru_page(page)
    return rc


def unmap_and_move(get_new_page: NewPage, private: object, page: Page, force: int,
                   offlining: int) -> int:
    """Obtain the lock on page, remove all ptes and migrate the page to a
    newly allocated page. L549."""
    machine = page.zone.machine
    result: list[StatusSlot | None] = [None]
    newpage = get_new_page(page, private, result)
    if newpage is None:
        _account(machine, page, "ENOMEM: no page could be allocated on the target node")
        return -ENOMEM
    if page_count(page) == 1:
        # page was freed from under us. So we are done.
        rc = 0
        _account(machine, page, "freed under us (only the isolation reference was left)")
    else:
        rc = _unmap_and_move(page, newpage, force, offlining)
    if machine.account.enabled:
        machine.account.attempt(page.pfn, rc, page_to_nid(newpage), bool(force))
    # move_newpage: move the new page to the LRU; if migration was not
    # successful this frees it.
    putback_lru_page(newpage)
    slot = result[0]
    if slot is not None:
        slot.status = rc if rc else page_to_nid(newpage)
    return rc


def migrate_pages(from_: ListHead, get_new_page: NewPage, private: object, offlining: int) -> int:
    """Migrate the pages on the list, retrying -EAGAIN up to 10 passes (passes
    3-9 block on the page lock and on writeback). All pages are returned to
    the LRU or freed; the list is empty on return.

    Return: the number of pages not migrated, or -ENOMEM. L744.
    """
    machine = _current_machine(from_)
    current = machine.current
    retry = 1
    nr_failed = 0
    nr_succeeded = 0
    swapwrite = current.flags & PF_SWAPWRITE if current is not None else 1
    if not swapwrite and current is not None:
        current.flags |= PF_SWAPWRITE
    rc = 0
    aborted = False
    pass_ = 0
    while pass_ < 10 and retry:
        retry = 0
        for page in list_for_each_entry_safe(from_):
            cond_resched(machine, "migrate_pages")
            rc = unmap_and_move(get_new_page, private, page, int(pass_ > 2), offlining)
            if rc == -ENOMEM:
                aborted = True
                break
            if rc == -EAGAIN:
                retry += 1
            elif rc == 0:
                nr_succeeded += 1
            else:
                # Permanent failure
                nr_failed += 1
        if aborted:
            break
        pass_ += 1
    if not aborted:
        rc = 0
    # out:
    if not swapwrite and current is not None:
        current.flags &= ~PF_SWAPWRITE
    for page in list_for_each_entry_safe(from_):
        machine.account.left_on_list(page.pfn, aborted)
    putback_lru_pages(from_)
    machine.vm_events[PGMIGRATE_SUCCESS] += nr_succeeded
    machine.vm_events[PGMIGRATE_FAIL] += nr_failed + retry
    _trace(machine, "mm_migrate_pages", succeeded=nr_succeeded, failed=nr_failed + retry,
           passes=pass_, rc=rc)
    if rc:
        return rc
    return nr_failed + retry


def _current_machine(head: ListHead) -> Machine:
    owner = head.owner
    if owner is not None and hasattr(owner, "vm_events"):
        return owner  # type: ignore[return-value]
    first = head.lru_next
    assert isinstance(first, Page), "migrate_pages needs a machine: give the list head an owner"
    return first.zone.machine


# --- move_pages(2), L795-L1136 -------------------------------------------------------------


class PageToNode:
    """struct page_to_node: one entry of a move_pages chunk."""

    __slots__ = ("addr", "node", "page", "status")

    def __init__(self) -> None:
        self.addr = 0
        self.page: Page | None = None  # never cleared between chunks (quirk 2)
        self.node = 0
        self.status = 0

    def __repr__(self) -> str:
        return f"<pm addr={self.addr:#x} node={self.node} status={self.status}>"


class PageToNodeArray:
    """The chunk array do_pages_move keeps in one page: ``pm[i]`` is entry i.
    ``first_match`` is new_page_node's scan (L811): the first entry before the
    end marker whose page is p; an index built once per migration call makes
    it O(1) without changing which entry matches."""

    __slots__ = ("_index", "entries")

    def __init__(self, n: int) -> None:
        self.entries = [PageToNode() for _ in range(n)]
        self._index: dict[Page, PageToNode] | None = None  # keyed by identity

    def __getitem__(self, i: int) -> PageToNode:
        return self.entries[i]

    def invalidate(self) -> None:
        self._index = None

    def first_match(self, p: Page) -> PageToNode | None:
        index = self._index
        if index is None:
            index = self._index = {}
            i = 0
            while self[i].node != MAX_NUMNODES:
                pp = self[i]
                if pp.page is not None:
                    index.setdefault(pp.page, pp)
                i += 1
        return index.get(p)


PAGE_TO_NODE_SIZE: Final = 24  # sizeof(struct page_to_node) on 64-bit
CHUNK_NR_PAGES: Final = PAGE_SIZE // PAGE_TO_NODE_SIZE - 1  # 169


def new_page_node(p: Page, private: object, result: list[StatusSlot | None]) -> Page | None:
    """Allocate the target page on the node of the first chunk entry whose
    page is ``p``; point ``result`` at that entry's status. L806."""
    pm: PageToNodeArray = private  # type: ignore[assignment]  # do_move_page_to_node_array's chunk
    pp = pm.first_match(p)
    if pp is None:  # pragma: no cover (every isolated page came from this chunk)
        return None
    result[0] = pp
    return alloc_pages_exact_node(p.zone.machine, pp.node, GFP_HIGHUSER_MOVABLE | GFP_THISNODE, 0)


def do_move_page_to_node_array(mm: MmStruct, pm: PageToNodeArray, migrate_all: int) -> int:
    """Isolate the pages of one chunk and migrate them to their nodes. L829."""
    machine = mm.machine
    pagelist = ListHead(machine)
    down_read(mm.mmap_sem)
    try:
        # Build a list of pages to migrate
        i = 0
        while pm[i].node != MAX_NUMNODES:
            pp = pm[i]
            pp.status = _isolate_one(machine, mm, pp, migrate_all, pagelist)
            i += 1
        err = 0
        if not list_empty(pagelist):
            err = migrate_pages(pagelist, new_page_node, pm, 0)
    finally:
        up_read(mm.mmap_sem)
    return err


def _isolate_one(machine: Machine, mm: MmStruct, pp: PageToNode, migrate_all: int,
                 pagelist: ListHead) -> int:
    """The loop body of do_move_page_to_node_array (L843-L893): the status of
    one entry, isolating its page onto the list when it must move."""
    err = -EFAULT
    vma = find_vma(mm, pp.addr)
    if vma is None or not vma_migratable(vma):
        machine.account.entry(pp.addr, "EFAULT: no VMA at or above this address, or "
                                                "a VMA that cannot migrate (VM_IO/PFNMAP/...)")
        return err
    page = follow_page(vma, pp.addr, FOLL_GET)
    if isinstance(page, FollowPageError):
        machine.account.entry(pp.addr, "EFAULT: a pte without struct page")
        return page.errno
    err = -ENOENT
    if page is None:
        machine.account.entry(pp.addr, "ENOENT: nothing present (never touched, "
                                                "swapped out, or in a hole below the VMA)")
        return err
    # Use PageReserved to check for zero page
    if PageReserved(page) or PageKsm(page):
        why = "the shared zero page" if PageReserved(page) else "a KSM page"
        machine.account.entry(pp.addr, f"ENOENT: {why}")
        put_page(page)
        return err
    pp.page = page
    err = page_to_nid(page)
    if err == pp.node:
        # Node already in the right place
        machine.account.entry(pp.addr, f"already on node {err}")
        put_page(page)
        return err
    err = -EACCES
    if page_mapcount(page) > 1 and not migrate_all:
        machine.account.entry(pp.addr, f"EACCES: mapped by {page_mapcount(page)} "
                                                "processes, MPOL_MF_MOVE_ALL not given")
        put_page(page)
        return err
    err = isolate_lru_page(page)
    if not err:
        list_add_tail(page, pagelist)
        page.zone.vm_stat[NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
    else:
        machine.account.entry(pp.addr, "EBUSY: not on an LRU list (in a pagevec, "
                                                "isolated elsewhere, or being freed)")
    # Either remove the duplicate refcount from isolate_lru_page() or drop
    # the page ref if it was not isolated.
    put_page(page)
    return err


def do_pages_move(mm: MmStruct, task: TaskStruct, nr_pages: int, user: UserMoveArrays,
                  flags: int) -> int:
    """Migrate an array of page addresses onto an array of nodes and fill the
    array of status, chunk by chunk. L909."""

    machine = mm.machine
    task_nodes = cpuset_mems_allowed(task)
    err = -ENOMEM
    array_page = alloc_pages_current(machine, GFP_KERNEL)
    if array_page is None:
        return err
    # The entries past the first chunk's end marker are never read: a call
    # with fewer pages than a chunk needs no more entries than it has pages.
    pm = PageToNodeArray(min(CHUNK_NR_PAGES, nr_pages) + 1)
    try:
        migrate_prep(machine)
        # Store a chunk of page_to_node array in a page, but keep the last
        # one as a marker.
        chunk_nr_pages = CHUNK_NR_PAGES
        chunk_start = 0
        while chunk_start < nr_pages:
            if chunk_start + chunk_nr_pages > nr_pages:
                chunk_nr_pages = nr_pages - chunk_start
            # fill the chunk pm with addrs and nodes from user-space
            for j in range(chunk_nr_pages):
                err = -EFAULT
                p = user.get_page_ptr(j + chunk_start)
                if p is None:
                    return err
                pm[j].addr = p
                node = user.get_node(j + chunk_start)
                if node is None:
                    return err
                err = -ENODEV
                if node < 0 or node >= MAX_NUMNODES:
                    return err
                if not machine.node_state(node, NodeState.N_HIGH_MEMORY):
                    return err
                err = -EACCES
                if node not in task_nodes:
                    return err
                pm[j].node = node
            # End marker for this chunk
            pm[chunk_nr_pages].node = MAX_NUMNODES
            pm.invalidate()
            # Migrate this chunk
            err = do_move_page_to_node_array(mm, pm, flags & MPOL_MF_MOVE_ALL)
            if err < 0:
                return err
            # Return status information
            for j in range(chunk_nr_pages):
                if not user.put_status(j + chunk_start, pm[j].status):
                    return -EFAULT
            chunk_start += chunk_nr_pages
        return 0
    finally:
        put_page(array_page)  # free_page


def do_pages_stat_array(mm: MmStruct, pages: list[int]) -> list[int]:
    """The node of each page (or -EFAULT/-ENOENT). L998."""
    status = []
    down_read(mm.mmap_sem)
    try:
        for addr in pages:
            err = -EFAULT
            vma = find_vma(mm, addr)
            if vma is not None:
                page = follow_page(vma, addr, 0)
                if isinstance(page, FollowPageError):
                    err = page.errno
                else:
                    err = -ENOENT
                    # Use PageReserved to check for zero page
                    if page is not None and not PageReserved(page) and not PageKsm(page):
                        err = page_to_nid(page)
            status.append(err)
    finally:
        up_read(mm.mmap_sem)
    return status


DO_PAGES_STAT_CHUNK_NR: Final = 16


def do_pages_stat(mm: MmStruct, nr_pages: int, user: UserMoveArrays) -> int:
    """do_pages_stat_array over the user arrays, 16 entries at a time. L1041."""
    start = 0
    while nr_pages:
        chunk_nr = min(nr_pages, DO_PAGES_STAT_CHUNK_NR)
        chunk_pages = user.copy_page_ptrs(start, chunk_nr)
        if chunk_pages is None:
            break
        chunk_status = do_pages_stat_array(mm, chunk_pages)
        if not user.copy_statuses(start, chunk_status):
            break
        start += chunk_nr
        nr_pages -= chunk_nr
    return -EFAULT if nr_pages else 0


def sys_move_pages(current: TaskStruct, pid: int, nr_pages: int, user: UserMoveArrays,
                   nodes_given: bool, flags: int) -> int:
    """move_pages(2): move (or, without nodes, locate) pages of a process. L1075."""

    machine = current.cpuset.machine
    # Check flags
    if flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        return -EINVAL
    if flags & MPOL_MF_MOVE_ALL and not capable(current, CAP_SYS_NICE):
        return -EPERM
    # Find the mm_struct
    task = machine.pid_table.find_task_by_vpid(pid) if pid else current
    if task is None:
        return -ESRCH
    mm = get_task_mm(task)
    if mm is None:
        return -EINVAL
    try:
        # The right exists with administrative capabilities, superuser
        # privileges or the same userid as the target process.
        if not may_move_memory_of(current, task):
            return -EPERM
        err = security_task_movememory(machine, task)
        if err:
            return err
        if nodes_given:
            return do_pages_move(mm, task, nr_pages, user, flags)
        return do_pages_stat(mm, nr_pages, user)
    finally:
        mmput(mm)


def migrate_vmas(mm: MmStruct, to: frozenset[int], from_: frozenset[int], flags: int) -> int:
    """Call the vm_ops->migrate methods that may prepare or perform migration
    of memory without struct page. L1143."""
    err = 0
    for vma in list(mm.mmap):  # while !err: each error breaks out below
        if vma.vm_ops is not None and vma.vm_ops.migrate is not None:
            err = vma.vm_ops.migrate(vma, to, from_, flags)
            if err:
                break
    return err
