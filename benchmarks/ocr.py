"""Reading POS screens from photos: accuracy on the fixture photos and seconds per photo on one core.

Every image in tests/fixtures/ocr/manifest.yaml goes through OCR and the same Dialog.on_screen the bot
uses. A readable screen counts as right when posbot answers its code (or symptom) outright; it is
"asked" when the right one is among the choices it offers. An unreadable picture (no text, a cat, too
blurred, corrupt) counts as right when posbot answers nothing. Times are after the models are loaded,
at the fixtures' own size and scaled to 1280 px, the size Telegram sends photos at. Finally, photos
are read through the bot's OcrWorker while the event loop ticks every 10 ms, to show how long one
photo can hold up everyone else's messages.

    python benchmarks/ocr.py [--rounds 2] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.dialog import SHOW, Dialog, DialogState  # noqa: E402
from bot.core.engine import Engine  # noqa: E402
from bot.core.evaluate import resolve_gold  # noqa: E402
from bot.core.screen import read_screen  # noqa: E402
from bot.ocr import OcrError, OcrReader, OcrWorker, ocr_available  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "ocr"
PHONE_SIDE = 1280


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def scaled(data: bytes, side: int) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    factor = side / max(image.size)
    image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def accuracy(reader: OcrReader, dialog: Dialog, manifest: list[dict], *, verbose: bool,
             side: int | None = None) -> dict[str, float]:
    counts = {"readable": 0, "right": 0, "asked": 0, "wrong": 0, "unreadable": 0, "unreadable_quiet": 0}
    right_confidence: list[float] = []
    for item in manifest:
        gold = resolve_gold(str(item["gold"]), dialog.content)
        try:
            data = (FIXTURES / item["file"]).read_bytes()
            reading = reader.read(scaled(data, side) if side and item["layout"] != "corrupt" else data)
            turn = dialog.on_screen(reading.lines, DialogState())
            reply, read = turn.reply, reading.text.replace("\n", " | ")
        except OcrError as error:
            reply, read = None, f"({type(error).__name__})"
        answered = reply.intent if reply is not None and reply.kind == "answer" else None
        options = reply.options if reply is not None else ()
        offered = {o.action.partition(":")[2] for o in options if o.action.startswith(SHOW + ":")}
        if item["readable"]:
            counts["readable"] += 1
            verdict = "right" if answered == gold else "asked" if gold in offered else "wrong" if answered else "missed"
            if verdict in counts:
                counts[verdict] += 1
            code = getattr(dialog.content.by_id.get(gold or ""), "code", None)
            if verdict == "right" and code:
                known = dialog.engine.matcher.known_codes
                confidence = read_screen(reading.lines, known).confidence_of(code, known)
                if confidence is not None:
                    right_confidence.append(confidence)
        else:
            counts["unreadable"] += 1
            verdict = "quiet" if answered is None else "WRONG"
            counts["unreadable_quiet"] += answered is None
        if verbose or verdict not in ("right", "quiet"):
            print(f"  {verdict:<6} {item['file']:<30} gold={item['gold']:<16} got={answered}  read: {read}")
    counts["min_right_confidence"] = min(right_confidence) if right_confidence else float("nan")
    return counts


def timing(reader: OcrReader, images: list[bytes], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for data in images:
            started = time.perf_counter()
            try:
                reader.read(data)
            except OcrError:
                continue
            samples.append(time.perf_counter() - started)
    return samples


async def loop_lag(worker: OcrWorker, images: list[bytes]) -> tuple[float, float]:
    """The longest the event loop was late for a 10 ms tick while the photos were read, and the
    total reading time."""
    worst = 0.0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal worst
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - started - 0.01)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    for data in images:
        try:
            await worker.read(data)
        except OcrError:
            pass
    elapsed = time.perf_counter() - started
    done.set()
    await ticker
    return worst, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="one line per image, not only the misses")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    started = time.perf_counter()
    if not ocr_available():
        print("benchmarks/ocr.py needs the ocr extra: pip install -e '.[ocr]'", file=sys.stderr)
        return 2
    reader = OcrReader()
    reader.load()
    load_time = time.perf_counter() - started
    manifest = yaml.safe_load((FIXTURES / "manifest.yaml").read_text(encoding="utf-8"))
    dialog = Dialog(Engine.load(ROOT))

    print(f"{len(manifest)} fixture images, one core")
    results = []
    for label, side in (("fixtures", None), (f"scaled to {PHONE_SIDE} px", PHONE_SIDE)):
        print(f"\n{label}:")
        results.append((label, accuracy(reader, dialog, manifest, verbose=args.verbose, side=side)))
    print("\n| size | readable screens | right code or symptom | right one offered | wrong answer "
          "| unreadable left unanswered | lowest confidence of a code read right |")
    print("|---|---|---|---|---|---|---|")
    for label, counts in results:
        readable = counts["readable"]
        print(f"| {label} | {readable} | {counts['right']} (**{counts['right'] / readable:.1%}**) | {counts['asked']} "
              f"| {counts['wrong']} | {counts['unreadable_quiet']} of {counts['unreadable']} "
              f"| {counts['min_right_confidence']:.2f} |")

    images = [(FIXTURES / item["file"]).read_bytes() for item in manifest if item["layout"] != "corrupt"]
    phone = [scaled(data, PHONE_SIDE) for data in images]
    print(f"\nOCR imported and its models loaded in {load_time:.2f} s\n")
    print("| photos | size | median s | p95 s | max s |")
    print("|---|---|---|---|---|")
    for label, batch in (("fixtures", images), (f"scaled to {PHONE_SIDE} px (as Telegram sends)", phone)):
        timing(reader, batch[:3], 1)  # warm the shapes onnxruntime has not seen yet
        samples = timing(reader, batch, args.rounds)
        print(f"| {len(batch)} × {args.rounds} | {label} | {statistics.median(samples):.2f} "
              f"| {percentile(samples, 0.95):.2f} | {max(samples):.2f} |")

    worker = OcrWorker(reader)
    worst, elapsed = asyncio.run(loop_lag(worker, phone))
    worker.close()
    print(f"\nevent loop while {len(phone)} phone-size photos were read in the worker thread ({elapsed:.1f} s): "
          f"a 10 ms tick was at most {worst * 1000:.0f} ms late")
    return 0


if __name__ == "__main__":
    sys.exit(main())
