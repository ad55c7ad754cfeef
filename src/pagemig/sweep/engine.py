"""Running a grid's cells: on Dask's distributed scheduler, or in this process.

Without a scheduler address the sweep starts a ``LocalCluster`` of worker
processes on this machine (one thread each: a replay holds the GIL); with
one, it connects to the user's cluster. ``workers=1`` without an address runs
the cells here, one after the other, through the same ``run_cell``.

Each cell is one task, ``run_cell(spec, path, sha256, data)``, that builds
the ``Simulation`` from the cell's options and returns its summary, or the
error that stopped it (as one line): a failing cell is a row with
``status = failed`` and the sweep goes on. Traces go to the workers by path
(the local cluster, and traces larger than ``upload_max`` on a user's
cluster: storage every worker sees) or as bytes scattered once to the
cluster, which a worker writes to its temporary directory under the trace's
content hash. A trace missing on a worker, a dependency a worker lacks, or a
worker that died are errors of that cell, not a hang.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sim.run import SimSpec
from .grid import Cell, Grid, parameter_columns
from .results import ResultsStore, flatten_summary

UPLOAD_MAX = 64 << 20  # traces up to this size are uploaded to a user's cluster
CONNECT_TIMEOUT_S = 30.0


class SweepError(RuntimeError):
    """The sweep cannot start (no engine, no scheduler, no worker)."""


@dataclass
class SweepOutcome:
    """What a sweep did: cells in the grid, skipped (already done), run, failed."""

    total: int
    skipped: int
    ran: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    results: Path | None = None
    engine: str = ""

    @property
    def succeeded(self) -> int:
        return self.ran - self.failed


def run_cell(spec: SimSpec, path: str, sha256: str, data: bytes | None = None) -> dict[str, Any]:
    """One cell, where it runs: ``{"status", "summary" | "error", "worker", "seconds"}``."""
    t0 = time.perf_counter()
    worker = _worker_name()
    try:
        trace = _local_trace(path, sha256, data, worker)
        result = spec.simulation(trace).run()
    except ImportError as err:
        return _failed(f"worker {worker} lacks a dependency: {err} "
                       "(install pagemig[sim] on every worker)", worker, t0)
    except Exception as err:  # the cell failed; the sweep goes on
        return _failed(f"{type(err).__name__}: {err}", worker, t0)
    return {"status": "ok", "summary": result.summary, "worker": worker,
            "seconds": time.perf_counter() - t0}


def _failed(message: str, worker: str, t0: float) -> dict[str, Any]:
    return {"status": "failed", "error": " ".join(message.split()), "worker": worker,
            "seconds": time.perf_counter() - t0}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _local_trace(path: str, sha256: str, data: bytes | None, worker: str) -> Path:
    """The trace's path on this worker: the uploaded bytes, written once per
    content hash to the temporary directory, or the shared path."""
    if data is not None:
        cache = Path(tempfile.gettempdir()) / "pagemig-sweep-traces"
        local = cache / f"{sha256}.parquet"
        if not local.exists():
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cache / f".{sha256}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
            tmp.write_bytes(data)
            os.replace(tmp, local)
        return local
    local = Path(path)
    if not local.is_file():
        raise FileNotFoundError(f"trace {path} is not on worker {worker} (host {socket.gethostname()}): "
                                "a trace that is not uploaded must be on storage every worker sees")
    return local


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_sweep(grid: Grid, out_dir: Path, workers: int | None = None, scheduler: str | None = None,
              upload_max: int = UPLOAD_MAX, on_start: Callable[[SweepOutcome], None] | None = None,
              on_cell: Callable[[dict[str, Any], SweepOutcome], None] | None = None,
              connect_timeout_s: float = CONNECT_TIMEOUT_S) -> SweepOutcome:
    """Run the cells of ``grid`` not yet done in ``out_dir/results.parquet``.

    ``on_start(outcome)`` is called once the engine is up, ``on_cell(row,
    outcome)`` as each cell finishes (its results row, counts so far).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "grid.toml").write_text(grid.text)
    store = ResultsStore(out_dir, parameter_columns(grid.cells), [c.key for c in grid.cells])
    done = store.done()
    pending = [cell for cell in grid.cells if cell.key not in done]
    outcome = SweepOutcome(total=len(grid.cells), skipped=len(grid.cells) - len(pending),
                           results=store.path)

    def finish(cell: Cell, answer: dict[str, Any]) -> None:
        row = cell_row(cell, answer)
        store.add(row)
        outcome.ran += 1
        if row["status"] != "ok":
            outcome.failed += 1
            outcome.failures.append((cell.key, row["error"]))
        if on_cell is not None:
            on_cell(row, outcome)

    try:
        if scheduler is None and (workers or default_workers()) == 1:
            outcome.engine = "this process"
            if on_start is not None:
                on_start(outcome)
            for cell in pending:
                finish(cell, run_cell(cell.spec, cell.trace.path, cell.trace.sha256))
        else:
            _run_on_dask(grid, pending, workers or default_workers(), scheduler, upload_max, outcome,
                         on_start, finish, connect_timeout_s)
    finally:
        store.flush()
    return outcome


def cell_row(cell: Cell, answer: dict[str, Any]) -> dict[str, Any]:
    """The results row of a cell from what ``run_cell`` (or Dask) answered."""
    row = cell.columns() | {"status": answer["status"], "error": answer.get("error")}
    if answer["status"] == "ok":
        row |= flatten_summary(answer["summary"])
    return row | {"worker": answer.get("worker"), "cell_seconds": answer.get("seconds")}


def _run_on_dask(grid: Grid, pending: list[Cell], workers: int, scheduler: str | None, upload_max: int,
                 outcome: SweepOutcome, on_start: Callable[[SweepOutcome], None] | None,
                 finish: Callable[[Cell, dict[str, Any]], None], connect_timeout_s: float) -> None:
    try:
        import distributed
    except ImportError:
        raise SweepError("sweeps run on Dask's distributed: pip install 'pagemig[sweep]'") from None
    dask: Any = distributed  # untyped
    Client, LocalCluster, as_completed = dask.Client, dask.LocalCluster, dask.as_completed
    cluster: Any = None
    client: Any = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
            client = Client(cluster)
            outcome.engine = f"a local cluster of {workers} worker processes"
        else:
            client = _connect(Client, scheduler, connect_timeout_s)
            outcome.engine = f"the Dask scheduler at {scheduler}"
        if on_start is not None:
            on_start(outcome)
        uploads = {}
        if scheduler is not None:
            for trace in {c.trace for c in pending}:
                if trace.size <= upload_max:
                    uploads[trace.sha256] = client.scatter(Path(trace.path).read_bytes(), hash=False)
        run_id = uuid.uuid4().hex[:8]
        futures = {}
        for cell in pending:
            future = client.submit(run_cell, cell.spec, cell.trace.path, cell.trace.sha256,
                                   uploads.get(cell.trace.sha256), key=f"pagemig-cell-{cell.key}-{run_id}",
                                   retries=0)
            futures[future.key] = (future, cell)
        for future in as_completed([f for f, _ in futures.values()]):
            cell = futures[future.key][1]
            if future.status == "finished":
                answer = future.result()
            else:
                err = future.exception()
                answer = {"status": "failed", "worker": None, "error": " ".join(
                    f"the worker could not run the cell: {type(err).__name__}: {err}".split())}
            finish(cell, answer)
            future.release()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _connect(client_cls: Any, scheduler: str, timeout_s: float) -> Any:
    try:
        client = client_cls(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError:
        client.close()
        raise SweepError(f"no Dask worker joined the scheduler at {scheduler} "
                         f"within {timeout_s:g} s") from None
    return client
