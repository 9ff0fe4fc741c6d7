"""Micro-batching: photos that arrive within a few milliseconds share one forward pass.

A request awaits :meth:`MicroBatcher.embed`; the batcher waits up to
``max_wait`` after the first photo for others (at most ``max_batch``), then
embeds them together in a worker thread, one batch at a time, as Ray Serve's
``@serve.batch`` and Triton's dynamic batcher do.  Throughput then rises
with concurrency instead of each request waiting for the others' passes.
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
    """

    def __init__(self, embed_many: Callable[[Sequence[Image.Image]], Sequence[Any]], *,
                 max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError(f"Expected max_batch >= 1 and max_wait >= 0, got {max_batch} and {max_wait}")
        self.embed_many = embed_many
        self.max_batch = max_batch if max_wait > 0 else 1
        self.max_wait = max_wait
        self.batches: list[int] = []  # the size of every batch run, for the load benchmark
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None

    async def embed(self, image: Image.Image) -> Any:
        """The result of embedding ``image`` (in a batch with whatever arrives meanwhile)."""
        if self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((image, done))
        return await done

    async def close(self) -> None:
        """Stop the worker (requests still queued are answered first)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            self.batches.append(len(batch))
            try:
                results = await loop.run_in_executor(None, self.embed_many, [image for image, _ in batch])
            except Exception as error:  # each waiting request gets the error, not a hang
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for (_, done), result in zip(batch, results):
                if not done.done():
                    done.set_result(result)
