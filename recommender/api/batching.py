"""Micro-batching: photos that arrive within a few milliseconds share one forward pass.

A request awaits :meth:`MicroBatcher.embed`; a free worker takes it with
every photo queued behind it (at most ``max_batch``) and embeds them together
in a worker thread, as Ray Serve's ``@serve.batch`` and Triton's dynamic
batcher do.  While another batch is running it also waits up to ``max_wait``
for more; a lone request is never delayed.  Throughput then rises with
concurrency instead of each request waiting for the others' passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

DEFAULT_MAX_BATCH = 16
DEFAULT_MAX_WAIT = 0.005  # seconds after the first photo of a batch


class MicroBatcher:
    """Gathers photos into batches for ``embed_many`` (photos -> one result each, in order).

    Parameters
    ----------
    embed_many : callable
        Runs in a worker thread; receives a list of decoded photos.
    max_batch : int, default 16
    max_wait : float, default 0.005
        Seconds to wait for more photos after the first one of a batch; 0 embeds each photo alone.
    concurrency : int, default 1
        Batches embedded at once (each in its own worker thread): where the network runs on one core per
        call, one batch per core keeps every core busy.
    """

    def __init__(self, embed_many: Callable[[Sequence[Image.Image]], Sequence[Any]], *,
                 max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = DEFAULT_MAX_WAIT,
                 concurrency: int = 1) -> None:
        if max_batch < 1 or max_wait < 0 or concurrency < 1:
            raise ValueError(f"Expected max_batch >= 1, max_wait >= 0 and concurrency >= 1, got {max_batch}, "
                             f"{max_wait} and {concurrency}")
        self.embed_many = embed_many
        self.max_batch = max_batch if max_wait > 0 else 1
        self.max_wait = max_wait
        self.concurrency = concurrency
        self.batches: list[int] = []  # the size of every batch run, for the load benchmark
        self._queue: asyncio.Queue | None = None
        self._workers: list[asyncio.Task] = []
        self._busy = 0  # batches being embedded now

    async def embed(self, image: Image.Image) -> Any:
        """The result of embedding ``image`` (in a batch with whatever arrives meanwhile)."""
        if not self._workers or all(worker.done() for worker in self._workers):
            self._queue = asyncio.Queue()
            self._workers = [asyncio.get_running_loop().create_task(self._run()) for _ in range(self.concurrency)]
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((image, done))
        return await done

    async def close(self) -> None:
        """Stop the workers."""
        for worker in self._workers:
            worker.cancel()
        self._workers = []

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            # What queued while the other batches ran joins at once; more is waited for (up to max_wait) only
            # while another batch is running, so a lone request is never delayed.
            deadline = time.monotonic() + (self.max_wait if self._busy else 0.0)
            while len(batch) < self.max_batch:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            self.batches.append(len(batch))
            self._busy += 1
            try:
                results = await loop.run_in_executor(None, self.embed_many, [image for image, _ in batch])
            except Exception as error:  # each waiting request gets the error, not a hang
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            finally:
                self._busy -= 1
            for (_, done), result in zip(batch, results):
                if not done.done():
                    done.set_result(result)

