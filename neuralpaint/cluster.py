"""Painting a batch on a Dask cluster: ``paint --img DIR --cluster tcp://scheduler:8786``.

The batch is prepared, skipped, recorded and resumed exactly as a local one (``neuralpaint.batch``);
only the executor differs: each photo left to paint is one ``client.submit`` to a Dask worker
(``distributed.Client``), and the results are taken ``as_completed``.

* By default the client reads each photo and sends its bytes; the worker paints it into a
  temporary folder and sends back every output file's bytes, which the client writes into
  ``--out`` atomically (``atomic_write``) before recording the photo in the manifest. Workers
  need no shared file system.
* ``outputs_on_workers=True`` (``--outputs-on-workers``): workers read the photo at its path and
  write the outputs straight into ``--out`` (atomically, as ``paint`` does), so both must be on a
  file system every worker sees at the same path; the client only records the manifest.

Nothing here schedules, retries or watches workers: a task whose worker dies is given to another
worker by the scheduler (up to ``distributed.scheduler.allowed-failures`` times, then
``KilledWorker``: the photo is ``failed`` and the next run paints it again), and ``retries`` is
Dask's ``submit(retries=)`` for tasks that raise. Output names are fixed by the photo, and a photo's
result is written and recorded once, when its future completes, so a photo painted twice because
of a dead worker still leaves one set of files and one manifest entry.

``distributed`` is imported only here, and only when a cluster is used (``require``: without the
``cluster`` extra, one line saying ``pip install 'neuralpaint[cluster]'``).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .batch import Batch, PhotoResult, _attempt
from .errors import NeuralPaintError
from .extras import require
from .fileutil import atomic_write
from .manifest import one_line

ENVIRONMENT = "DASK_SCHEDULER_ADDRESS"  # read by ``--cluster`` given without an address
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler before giving up
RETRIES = 1  # Dask retries of a photo whose task raised (a dead worker is rescheduled regardless)


def cluster_address(value: str | None) -> str | None:
    """The scheduler address of ``--cluster [ADDRESS]``: ``None`` (no ``--cluster``): paint locally;
    ``""`` (``--cluster`` alone): ``$DASK_SCHEDULER_ADDRESS``, which must be set; else ``value``.
    The variable alone never sends photos anywhere."""
    if value is None:
        return None
    address = value.strip() or os.environ.get(ENVIRONMENT, "").strip()
    if not address:
        raise NeuralPaintError(f"--cluster without an address reads ${ENVIRONMENT}, which is not set: give "
                               "--cluster tcp://HOST:8786 or set the variable")
    return address


def connect(address: str, timeout: float | None = None):
    """A ``distributed.Client`` connected to the scheduler at ``address``; ``NeuralPaintError`` (one
    line) when ``distributed`` is missing or the scheduler cannot be reached in ``timeout`` seconds."""
    distributed = require("distributed", "--cluster (painting on Dask workers)")
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    started = []

    class Client(distributed.Client):
        def __init__(self, *args, **kwargs):
            started.append(self)
            super().__init__(*args, **kwargs)

    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        for client in started:  # closed now, not by its __del__ at exit (which prints a traceback)
            try:
                client.close(timeout=1)
            except Exception:  # noqa: BLE001 -- it never connected: nothing to say
                pass
            client.status = "closed"
        raise NeuralPaintError(f"cannot connect to the Dask scheduler at {address} within {timeout:g} s "
                               f"({one_line(err) if str(err) else type(err).__name__})") from None


# ---- on a worker ---------------------------------------------------------------------------------
def paint_on_worker(path: str, name: str, config, options: dict, photo: bytes | None = None,
                    out: str | None = None) -> tuple[PhotoResult, dict[str, bytes]]:
    """Paint one photo on a Dask worker: ``(result, {file name: bytes})``. With ``out`` (a folder the
    client sees too) the outputs are written there and no bytes come back; otherwise the photo's
    bytes (``photo``) are painted in a temporary folder and every output comes back as bytes."""
    _use_worker_threads()
    if out is not None:
        return _attempt(Path(path), name, Path(out), config, options), {}
    work = Path(tempfile.mkdtemp(prefix="neuralpaint-"))
    try:
        copy = work / ("photo" + Path(path).suffix)
        copy.write_bytes(photo or b"")
        result = _painted_copy(Path(path), copy, name, work / "out", config, options)
        files = {p.name: p.read_bytes() for p in result.files if p.is_file()}
        result.files = [Path(p.name) for p in result.files]
        return result, files
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _use_worker_threads() -> None:
    """Torch and numba use as many threads as the Dask worker has (``--nthreads``), as ``--jobs``
    workers do: two workers on a machine must not each use every core."""
    try:
        from distributed import get_worker

        threads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):  # not inside a worker (a test calling it directly)
        return
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def _painted_copy(path: Path, copy: Path, name: str, out: Path, config, options: dict) -> PhotoResult:
    """``_attempt`` on the photo's bytes at ``copy``, recorded under its own ``path``."""
    from .imagefiles.io import read_image

    try:
        image = read_image(copy)
    except (NeuralPaintError, OSError, ValueError) as err:
        message = one_line(err).replace(str(copy), str(path))
        return PhotoResult(path, name, "failed", error=message if str(path) in message else f"{path}: {message}")
    return _attempt(path, name, out, config, {**options, "image": image})


# ---- on the client -------------------------------------------------------------------------------
def cluster_runner(address: str, *, outputs_on_workers: bool = False, retries: int = RETRIES,
                   timeout: float | None = None):
    """A ``runner`` for ``neuralpaint.batch.run_batch`` that paints on the Dask cluster at ``address``
    (connected at once, so that an unreachable scheduler stops the batch before it starts)."""
    client = connect(address, timeout)

    def runner(batch: Batch, todo: list[str], jobs: int) -> Iterator[PhotoResult]:
        return _on_cluster(client, batch, todo, outputs_on_workers, retries)

    runner.client = client
    return runner


def _submit(client, batch: Batch, name: str, outputs_on_workers: bool, retries: int):
    path = batch._path(name)
    token = f"{os.getpid()}-{time.time_ns()}"
    if outputs_on_workers:
        return client.submit(paint_on_worker, str(path.resolve()), name, batch.config, batch.options,
                             out=str(batch.out.resolve()), key=f"paint-{name}-{token}", retries=retries, pure=False)
    try:
        photo = path.read_bytes()
    except OSError as err:
        return PhotoResult(path, name, "failed", error=f"{path}: cannot be read ({one_line(err)})")
    return client.submit(paint_on_worker, str(path), name, batch.config, batch.options, photo,
                         key=f"paint-{name}-{token}", retries=retries, pure=False)


def _receive(batch: Batch, name: str, future) -> PhotoResult:
    """The photo's result, its files written into ``--out`` (when they came back as bytes)."""
    path = batch._path(name)
    try:
        result, files = future.result()
    except Exception as err:  # KilledWorker (its workers kept dying), a bug on the worker, a lost task
        return PhotoResult(path, name, "failed", error=f"{path}: painting it on the cluster failed "
                           f"({type(err).__name__}: {one_line(err)}); the next run tries it again")
    try:
        if files:
            batch.out.mkdir(parents=True, exist_ok=True)
        for file_name, data in files.items():
            with atomic_write(batch.out / file_name) as handle:
                handle.write(data)
    except OSError as err:
        return PhotoResult(path, name, "failed", error=f"{path}: cannot write its outputs into {batch.out} "
                           f"({one_line(err)})")
    result.files = [batch.out / Path(p).name for p in result.files]  # as the client sees --out
    result.path = path
    return result


def _on_cluster(client, batch: Batch, todo: list[str], outputs_on_workers: bool,
                retries: int) -> Iterator[PhotoResult]:
    from distributed import as_completed

    pending, failed = {}, []
    for name in todo:
        future = _submit(client, batch, name, outputs_on_workers, retries)
        if isinstance(future, PhotoResult):
            failed.append(future)
        else:
            pending[future] = name
    try:
        for result in failed:
            batch.record(result)
            yield result
        for future in as_completed(list(pending), loop=client.loop):
            name = pending.pop(future)
            result = _receive(batch, name, future)
            batch.record(result)
            yield result
    finally:  # Ctrl-C, the iteration stopped early, or the end: unfinished photos stay pending
        if pending:
            client.cancel(list(pending))
        client.close()


# ---- neuralpaint cluster-local -------------------------------------------------------------------
def local_cluster(workers: int, threads_per_worker: int, port: int, dashboard_port: int | None = 8787):
    """A ``distributed.LocalCluster`` of ``workers`` processes with ``threads_per_worker`` threads,
    its scheduler on ``port`` (0: any free port) and its dashboard on ``dashboard_port`` (None: none)."""
    distributed = require("distributed", "cluster-local")
    dashboard = None if dashboard_port is None else f":{dashboard_port}"
    try:
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=True,
                                        scheduler_port=port, dashboard_address=dashboard, silence_logs=40)
    except (OSError, RuntimeError, ValueError) as err:
        raise NeuralPaintError(f"cannot start a local Dask cluster on port {port} ({one_line(err)})") from None
