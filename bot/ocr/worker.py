"""OCR off the event loop: one background thread, a bounded number of photos waiting for it.

A thread rather than a process: onnxruntime and Pillow release the GIL while they work, so the event
loop keeps answering other merchants during a recognition (benchmarks/ocr.py: a 10 ms tick is at most
a few ms late), and the models exist once in memory (about 250 MB once a photo has been read, against
twice that with a second process). One thread running one onnxruntime thread takes one of the two
cores at most.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bot.ocr.reader import OcrError, OcrReader, Reading, shared_reader

MAX_WAITING = 8
"""Photos queued (including the one being read) before more are turned away: at ~0.3 s a photo the
last one waits a few seconds; a burst beyond that is better told "try again" than left hanging."""


class OcrBusy(OcrError):
    """Too many photos are waiting; the merchant is asked to try again shortly."""


class OcrWorker:
    """The bot's way to read photos: `await worker.read(data)`."""

    def __init__(self, reader: OcrReader | None = None, *, max_waiting: int = MAX_WAITING) -> None:
        self.reader = reader if reader is not None else shared_reader()
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posbot-ocr")
        self._waiting = 0

    @property
    def max_bytes(self) -> int:
        return self.reader.max_bytes

    async def read(self, data: bytes) -> Reading:
        """Read a picture in the background thread. Raises OcrBusy when MAX_WAITING are queued, and
        whatever OcrReader.read raises."""
        if self._waiting >= self.max_waiting:
            raise OcrBusy(f"{self._waiting} photos waiting")
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self.reader.read, data)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        """Stop the thread; photos still queued are dropped (their merchants get no answer)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
