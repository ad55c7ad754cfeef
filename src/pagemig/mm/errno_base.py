"""The error numbers the hot paths return (include/uapi/asm-generic/errno-base.h).

The values are the host's (Python's ``errno`` module), as everywhere else in
the model; only the spelling differs: ``-EFAULT`` as in the kernel, a
``Final`` name here. Compiled by mypyc, a ``Final`` name is a C static, where
``errno.EFAULT`` is a module attribute lookup (a dict lookup) at every use.
"""

from __future__ import annotations

import errno
from typing import Final

EPERM: Final = errno.EPERM
ENOENT: Final = errno.ENOENT
ESRCH: Final = errno.ESRCH
EIO: Final = errno.EIO
EAGAIN: Final = errno.EAGAIN
ENOMEM: Final = errno.ENOMEM
EACCES: Final = errno.EACCES
EFAULT: Final = errno.EFAULT
EBUSY: Final = errno.EBUSY
ENODEV: Final = errno.ENODEV
EINVAL: Final = errno.EINVAL
