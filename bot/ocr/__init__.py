"""Reading the terminal's screen from a photo (optional extra: pip install 'posbot[ocr]')."""

from bot.ocr.reader import (ImageTooLarge, OcrError, OcrReader, OcrUnavailable, Reading, UnreadableImage,
                            ocr_available, shared_reader)
from bot.ocr.worker import OcrBusy, OcrWorker

__all__ = ["ImageTooLarge", "OcrBusy", "OcrError", "OcrReader", "OcrUnavailable", "OcrWorker", "Reading",
           "UnreadableImage", "ocr_available", "shared_reader"]
