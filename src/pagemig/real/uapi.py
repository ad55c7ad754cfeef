"""Constants of include/uapi/linux/mempolicy.h, as the live kernel takes them.

The model defines its own in ``pagemig.mm.mempolicy``; the numbers are the
same ABI. Modes after 2.6.35 (MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE)
are listed so that a modern kernel's answers can be named.
"""

from __future__ import annotations

# Policy modes (set_mempolicy, mbind, get_mempolicy).
MPOL_DEFAULT = 0
MPOL_PREFERRED = 1
MPOL_BIND = 2
MPOL_INTERLEAVE = 3
MPOL_LOCAL = 4
MPOL_PREFERRED_MANY = 5  # Linux 5.15
MPOL_WEIGHTED_INTERLEAVE = 6  # Linux 6.9

# Mode flags, OR-ed into the mode argument (Linux 2.6.26).
MPOL_F_STATIC_NODES = 1 << 15
MPOL_F_RELATIVE_NODES = 1 << 14
MPOL_F_NUMA_BALANCING = 1 << 13  # Linux 5.12, with MPOL_BIND only

# get_mempolicy flags.
MPOL_F_NODE = 1 << 0
MPOL_F_ADDR = 1 << 1
MPOL_F_MEMS_ALLOWED = 1 << 2

# mbind and move_pages flags.
MPOL_MF_STRICT = 1 << 0
MPOL_MF_MOVE = 1 << 1
MPOL_MF_MOVE_ALL = 1 << 2

# Names mpol_to_str() prints in /proc/PID/numa_maps, by mode.
MPOL_NAMES: dict[int, str] = {
    MPOL_DEFAULT: "default",
    MPOL_PREFERRED: "prefer",
    MPOL_BIND: "bind",
    MPOL_INTERLEAVE: "interleave",
    MPOL_LOCAL: "local",
    MPOL_PREFERRED_MANY: "prefer (many)",
    MPOL_WEIGHTED_INTERLEAVE: "weighted interleave",
}
