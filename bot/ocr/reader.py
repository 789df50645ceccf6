"""Offline Chinese OCR of a photo: image bytes in, the lines of text on it (with confidences) out.

rapidocr-onnxruntime ships PP-OCRv4 detection and recognition models inside its wheel, so nothing is
downloaded at run time. It is an optional extra (`pip install 'posbot[ocr]'`); this module imports it
(and Pillow, which comes with it) only when a photo is read, so without the extra posbot still starts
and `ocr_available()` says False. Making sense of the lines is the core's job (bot/core/screen.py).
"""

from __future__ import annotations

import importlib.util
import io
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from bot.core.errors import PosbotError
from bot.core.screen import ScreenLine

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
"""Bigger files are refused before download. Telegram sends photos recompressed well under 1 MB;
only an uncompressed file from a high-resolution camera comes near this."""
MAX_PIXELS = 50_000_000
"""A 48-megapixel camera's picture passes; a decompression bomb (a small PNG claiming 20000x20000)
does not. Below Pillow's own warning threshold (89 M), which it would raise as a warning first."""
MAX_SIDE = 1280
"""Pictures are scaled down to this before OCR: a screen's text stays well above the ~10 px the
recogniser needs, and detection time grows with the area."""
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
"""What phones and Telegram send; anything else (HEIC, TIFF, PDF) is reported as unreadable."""
THREADS = 1
"""onnxruntime threads per recognition: the bot shares two cores with everything else, and one
photo at a time on one core keeps the other free for merchants typing."""


class OcrError(PosbotError):
    """A photo could not be read."""


class OcrUnavailable(OcrError):
    """The `ocr` extra is not installed (or its native libraries do not load)."""


class ImageTooLarge(OcrError):
    """Over MAX_BYTES or MAX_PIXELS: refused without decoding it."""


class UnreadableImage(OcrError):
    """Not an image posbot can open: corrupt, cut short, or a format it does not read."""


@dataclass(frozen=True)
class Reading:
    """What OCR read off one picture, in reading order (top to bottom, left to right)."""

    lines: tuple[ScreenLine, ...]
    elapsed: float
    """Seconds spent decoding and recognising."""
    size: tuple[int, int]
    """Width and height of the picture as sent."""

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@lru_cache(maxsize=1)
def ocr_available() -> bool:
    """True when the ocr extra is installed. Only looked up, not imported (importing OpenCV and
    onnxruntime takes half a second and 50 MB); a native library that then fails to load is
    reported by OcrReader as OcrUnavailable."""
    return all(importlib.util.find_spec(name) is not None for name in ("rapidocr_onnxruntime", "onnxruntime", "cv2"))


@lru_cache(maxsize=1)
def shared_reader() -> "OcrReader":
    """One reader per process, whatever number of bots use it (tests build many): its models take
    about 250 MB once a photo has been read and half a second to load; they load with the first
    photo, not at start-up."""
    return OcrReader()


class OcrReader:
    """Reads pictures with rapidocr; the models load on first use (about half a second), then stay.

    Thread-safe (one recognition at a time); `bot.ocr.worker.OcrWorker` runs it off the event loop.
    """

    def __init__(self, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS, max_side: int = MAX_SIDE,
                 threads: int = THREADS) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.max_side = max_side
        self.threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the models now rather than on the first photo."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._engine is None:
            if not ocr_available():
                raise OcrUnavailable("OCR needs the ocr extra: pip install 'posbot[ocr]'")
            try:
                from rapidocr_onnxruntime import RapidOCR
            except (ImportError, OSError) as error:  # OSError: a shared library missing (libGL for OpenCV)
                raise OcrUnavailable(f"OCR does not load: {error}") from error
            started = time.perf_counter()
            self._engine = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)
            for name in ("RapidOCR", "OrtInferSession"):
                # rapidocr hangs its own stderr handler on its loggers; posbot's logging (bot/logs.py)
                # already prints, formats and redacts what propagates, so it would print twice
                logging.getLogger(name).handlers.clear()
            log.info("OCR models loaded in %.2f s", time.perf_counter() - started)
        return self._engine

    def read(self, data: bytes) -> Reading:
        """The lines of text in a picture. Raises ImageTooLarge, UnreadableImage or OcrUnavailable;
        a picture without text is an empty Reading, not an error."""
        started = time.perf_counter()
        pixels, size = self.decode(data)
        with self._lock:
            engine = self._load()
            result, _ = engine(pixels)
        lines = rows(result or ())
        return Reading(lines, time.perf_counter() - started, size)

    def decode(self, data: bytes) -> tuple[np.ndarray, tuple[int, int]]:
        """The picture as a grayscale array at most max_side wide and high, upright per its EXIF
        orientation (phones store portrait shots sideways), and its size as sent."""
        if len(data) > self.max_bytes:
            raise ImageTooLarge(f"{len(data)} bytes (limit {self.max_bytes})")
        if not ocr_available():
            raise OcrUnavailable("OCR needs the ocr extra: pip install 'posbot[ocr]'")
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:  # the warning when
            raise ImageTooLarge(str(error)) from error  # warnings are errors (tests), else our own check
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise UnreadableImage(str(error)) from error
        width, height = image.size
        if width * height > self.max_pixels:
            raise ImageTooLarge(f"{width}x{height} pixels (limit {self.max_pixels})")
        try:
            image.draft("L", (self.max_side, self.max_side))  # JPEG decodes straight to 1/2..1/8 scale
            grey = ImageOps.exif_transpose(image).convert("L")
            grey.thumbnail((self.max_side, self.max_side))
            return np.asarray(grey), (width, height)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
            raise UnreadableImage(str(error)) from error


def rows(result: Sequence[Sequence[Any]]) -> tuple[ScreenLine, ...]:
    """rapidocr's boxes ([corners, text, score]) grouped into lines: boxes side by side on one row
    of the screen ("交易失败" and "应答码:51" on a slip) become one line, read left to right."""
    boxes = []
    for corners, text, score in result:
        ys = [point[1] for point in corners]
        boxes.append((min(ys), max(ys), min(point[0] for point in corners), str(text), float(score)))
    boxes.sort(key=lambda box: (box[0] + box[1]) / 2)
    grouped: list[list[tuple[float, float, float, str, float]]] = []
    for box in boxes:
        if grouped:
            last = grouped[-1][-1]
            centre, height = (box[0] + box[1]) / 2, min(box[1] - box[0], last[1] - last[0])
            if abs(centre - (last[0] + last[1]) / 2) < height / 2:
                grouped[-1].append(box)
                continue
        grouped.append([box])
    lines = []
    for row in grouped:
        row.sort(key=lambda box: box[2])
        text = " ".join(box[3].strip() for box in row if box[3].strip())
        if text:
            lines.append(ScreenLine(text, round(min(box[4] for box in row), 4)))
    return tuple(lines)
