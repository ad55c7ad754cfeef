"""Placement simulation: memory-access traces replayed on the model.

``pagemig.sim.trace`` holds the canonical trace format (Parquet, read and
written with pyarrow, the ``sim`` extra) and the converters from the formats
people record with. Nothing here is imported by the kernel model.
"""
