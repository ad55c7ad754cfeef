"""Sweeps: grids of placement simulations run on Dask's distributed scheduler.

``grid`` reads a grid file into cells (each a ``pagemig.sim.run.SimSpec`` and
a trace, with a seed derived from the cell); ``engine`` runs them, on a local
cluster of worker processes, on a user's cluster by address, or in this
process, and writes ``results.parquet`` as they finish; ``results`` holds the
results table's schema; ``report`` turns it into tables, plots and an HTML page.
Needs the ``sweep`` extra (``distributed``) and the ``sim`` extra.
"""
