"""Memory-access traces: one canonical Parquet form and its readers and writers.

The schema is documented in docs/simulation.md; every reader yields
``AccessBatch`` columns as numpy arrays, so a replay never makes one Python
object per access.
"""

from .format import (
    OP_FETCH,
    OP_MODIFY,
    OP_NAMES,
    OP_READ,
    OP_WRITE,
    AccessBatch,
    TraceError,
    TraceMeta,
    TraceReader,
    TraceWriter,
    open_trace,
)

__all__ = [
    "OP_READ", "OP_WRITE", "OP_MODIFY", "OP_FETCH", "OP_NAMES",
    "AccessBatch", "TraceError", "TraceMeta", "TraceReader", "TraceWriter", "open_trace",
]
