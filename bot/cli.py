"""posbot: one command line for admins, CI and developers over the same core."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from bot.core.errors import ContentError, PosbotError

if TYPE_CHECKING:
    from bot.records import Records
    from bot.settings.stores import StoreSettings
    from bot.admin.stats import Stats


class NoRecords(PosbotError):
    """A command that reads records was pointed at a data directory that holds none."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ContentError as error:
        if getattr(error, "reason", None):  # review --add: why nothing was written
            print(error.reason, file=sys.stderr)  # type: ignore[attr-defined]
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"内容里有 {len(error.problems)} 处问题；什么都没有改动。", file=sys.stderr)
        return 2
    except PosbotError as error:  # a setting, a store, the Bot API at start-up: one line, no traceback
        from bot.settings.stores import ConfigError

        print(f"posbot: {_redacted(str(error))}", file=sys.stderr)
        return 2 if isinstance(error, (ConfigError, NoRecords)) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `posbot match - | head`
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posbot", description=__doc__)
    parser.add_argument("--content", metavar="DIR", type=Path, default=None,
                        help="the content root holding intents/ and knowledge/ (default: the one shipped with posbot)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="talk to the real engine in the console (or from a pipe)")
    chat.add_argument("--data-dir", type=Path, default=None,
                      help="where flow outcomes are recorded (default: $DATA_DIR or ./data)")
    chat.set_defaults(run=_chat)

    run = commands.add_parser("run", help="start the Telegram bot: long polling, or a webhook with --webhook URL")
    run.add_argument("--webhook", metavar="URL", help="public https URL Telegram should post updates to")
    run.add_argument("--watch", action="store_true", help="reload intents/ and knowledge/ whenever a file changes")
    run.add_argument("--workers", type=int, default=1, metavar="N",
                     help="with --webhook: N worker processes sharing the port (needs REDIS_URL)")
    run.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one of several, port shared
    run.add_argument("--set-webhook", action="store_true", help=argparse.SUPPRESS)  # the worker that calls setWebhook
    run.set_defaults(run=_run)

    match = commands.add_parser("match", help="show how a question is understood")
    match.add_argument("text", help="the question, or - to read one question per line from stdin")
    match.add_argument("--json", action="store_true", help="print JSON (always on with -)")
    match.set_defaults(run=_match)

    read = commands.add_parser("read", help="read a photo of a terminal's screen: what OCR sees, what posbot answers")
    read.add_argument("image", type=Path, help="a JPEG, PNG, WebP, BMP or GIF picture")
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.set_defaults(run=_read)

    intents = commands.add_parser("intents", help="list every intent")
    intents.add_argument("--json", action="store_true")
    intents.set_defaults(run=_intents)

    validate = commands.add_parser("validate", help="check the content; non-zero exit on any problem")
    validate.add_argument("dir", nargs="?", type=Path, default=None,
                          help="content root holding intents/ and knowledge/")
    validate.set_defaults(run=_validate)

    flow = commands.add_parser("flow", help="print a troubleshooting flow for review (or list them)")
    flow.add_argument("id", nargs="?", help="flow id; without it, list every flow")
    flow.add_argument("--mermaid", action="store_true", help="print a Mermaid flowchart instead of a tree")
    flow.set_defaults(run=_flow)

    review = commands.add_parser("review", help="the inbox of misunderstood questions, grouped, with actions")
    review.add_argument("--data-dir", type=Path, default=None, help="default: $DATA_DIR or ./data")
    actions = review.add_mutually_exclusive_group()
    actions.add_argument("--add", nargs=2, metavar=("GROUP", "INTENT"),
                         help="add group GROUP (its id in [ ]) as examples of INTENT; refused if validate would fail")
    actions.add_argument("--ignore", metavar="GROUP", help="ignore group GROUP forever")
    actions.add_argument("--new", nargs=2, metavar=("GROUP", "ID"), help="start a draft intent ID from group GROUP")
    review.set_defaults(run=_review)

    schema = commands.add_parser("schema", help="write the JSON Schemas of the content files (for editors)")
    schema.add_argument("dir", nargs="?", type=Path, default=Path("schemas"))
    schema.add_argument("--check", action="store_true", help="exit non-zero if the files are out of date")
    schema.set_defaults(run=_schema)

    stats = commands.add_parser("stats", help="what merchants asked and how it went (from DATA_DIR)")
    stats.add_argument("--days", type=int, default=30)
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--html", type=Path, metavar="FILE", help="write a one-page report with charts (HTML, opens in any browser)")
    stats.add_argument("--data-dir", type=Path, default=None, help="default: $DATA_DIR or ./data")
    stats.set_defaults(run=_stats)

    rollback = commands.add_parser("rollback", help="restore the content file the last applied upload replaced")
    rollback.add_argument("--data-dir", type=Path, default=None,
                          help="where the backups are (DATA_DIR/backups; default: $DATA_DIR or ./data)")
    rollback.set_defaults(run=_rollback)

    migrate = commands.add_parser("migrate-data", help="copy a SQLite data directory into an empty PostgreSQL database")
    migrate.add_argument("--data-dir", type=Path, default=None, help="the SQLite data directory (default: $DATA_DIR or ./data)")
    migrate.add_argument("--to", metavar="URL", default=None, help="postgresql://… (default: $DATABASE_URL)")
    migrate.set_defaults(run=_migrate_data)

    evaluate = commands.add_parser("eval", help="score the engine on a YAML list of {q, gold}")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.add_argument("--misses", type=int, default=30, metavar="N", help="misses to list (default 30)")
    evaluate.add_argument("--data-dir", type=Path, default=None,
                          help="where the last run is kept for 上次 (default: $DATA_DIR or ./data)")
    evaluate.set_defaults(run=_eval)
    return parser


def _engine(args: argparse.Namespace):
    from bot.core.engine import Engine

    return Engine.load(args.content)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.core.dialog import Dialog
    from bot.logs import setup_logging
    from bot.settings.run import load_settings

    settings = load_settings()
    _SECRETS[:] = settings.secrets()
    setup_logging(secrets=_SECRETS)
    if args.workers > 1:
        if not args.webhook:
            print("posbot: --workers needs --webhook URL (long polling allows one process only)", file=sys.stderr)
            return 2
        if not settings.redis_url:
            print("posbot: --workers needs REDIS_URL: workers share conversations, locks and throttling there",
                  file=sys.stderr)
            return 2
        from bot.telegram.workers import supervise

        worker_args = ([] if args.content is None else ["--content", str(args.content)]) + [
            "run", "--webhook", args.webhook] + (["--watch"] if args.watch else [])
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        return supervise(worker_args, args.workers, secret=secret)
    dialog = Dialog(_engine(args))
    from bot.telegram.app import run_polling, run_webhook

    runner = (run_webhook(settings, dialog, args.webhook, watch=args.watch, worker=args.worker,
                          set_webhook=args.set_webhook or not args.worker) if args.webhook
              else run_polling(settings, dialog, watch=args.watch))
    asyncio.run(runner)  # StoreUnavailable, CorruptStore, StartupError: one line, from main()
    return 0


def _chat(args: argparse.Namespace) -> int:
    import asyncio

    from bot.console import ConsoleChat
    from bot.core.dialog import Dialog

    settings = _store_settings(args)
    with asyncio.Runner() as runner:
        records = runner.run(_records(settings))
        try:
            return ConsoleChat(Dialog(_engine(args)), outcomes=records.outcomes, questions=records.questions,
                               runner=runner).run(sys.stdin)
        finally:
            runner.run(records.close())


_SECRETS: list[str] = []
"""Secrets of the settings this command loaded, redacted from its logs and its error line."""


def _redacted(text: str) -> str:
    from bot.logs import Redactor

    return Redactor(_SECRETS)(text)


def _store_settings(args: argparse.Namespace) -> StoreSettings:
    """The store settings `posbot run` reads (environment, then .env); --data-dir asks for that
    SQLite directory explicitly, whatever DATABASE_URL says. Logging is set up with their secrets."""
    from bot.logs import setup_logging
    from bot.settings.stores import load_store_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides = {"data_dir": args.data_dir, "database_url": None}
    settings = load_store_settings(**overrides)
    _SECRETS[:] = settings.secrets()
    setup_logging(secrets=_SECRETS, level="WARNING")
    return settings


def _existing_records(settings: StoreSettings) -> StoreSettings:
    """For commands that read records: a SQLite file that does not exist is an error, not zeros
    (a wrong DATA_DIR, or a DATABASE_URL set somewhere this command does not see)."""
    if settings.database_url is None and not settings.sqlite_path.is_file():
        where = settings.data_dir if not settings.data_dir.is_dir() else settings.sqlite_path
        raise NoRecords(f"没有记录：{where} 不存在；把 DATA_DIR（或 --data-dir）设成机器人的数据目录，"
                        "或把 DATABASE_URL 设成它的数据库（环境变量或 .env）")
    return settings


async def _records(settings: StoreSettings) -> Records:
    from bot.records import Records

    return await Records.at(data_dir=settings.data_dir, database_url=settings.database())


def _match(args: argparse.Namespace) -> int:
    from bot.core.decide import MODEL_REFUSE_AT, MODEL_REFUSE_AT_LETTERS, model_readable
    from bot.core.redline_model import Verdict

    engine = _engine(args)
    if args.text == "-":
        for line in sys.stdin:
            question = line.rstrip("\n")
            print(json.dumps(engine.understand(question).as_json(), ensure_ascii=False), flush=True)
        return 0
    understanding = engine.understand(args.text)
    if args.json:
        print(json.dumps(understanding.as_json(), ensure_ascii=False, indent=2))
        return 0
    analysis, decision = understanding.analysis, understanding.decision
    print(f"question:   {analysis.query}")
    print(f"normalised: {analysis.normalised}")
    print(f"words:      {' / '.join(analysis.tokens) or '(none)'}")
    if analysis.codes or analysis.vendor_codes:
        print(f"codes:      {', '.join(analysis.codes) or '-'}  vendor codes: {', '.join(analysis.vendor_codes) or '-'}")
    print("candidates:")
    for candidate in analysis.candidates:
        intent = engine.content.by_id[candidate.intent]
        print(f"  {candidate.score:.3f}  {candidate.intent:<22} {intent.title}  [{candidate.via}: {candidate.phrase}]")
    if not analysis.candidates:
        print("  (none)")
    if analysis.symptom is not None:
        print(f"symptom:    {analysis.symptom.intent} ({analysis.symptom.score:.3f})")
    readable = model_readable(analysis.normalised)
    verdict = engine.matcher.redline_verdict(analysis, readable) if readable is not None else Verdict(0.0, None)
    print(f"red-line model: {verdict.probability:.4f}{' ' + verdict.intent if verdict.intent else ''}"
          f"  (refuses from {MODEL_REFUSE_AT}, {MODEL_REFUSE_AT_LETTERS} for a question typed in letters, where the matcher"
          " would clarify or fall back)")
    target = decision.intent or ", ".join(c.intent for c in decision.choices)
    unsure = " (unsure)" if decision.kind == "refuse" and not decision.sure else ""
    print(f"decision:   {decision.kind}{' -> ' + target if target else ''}{unsure}")
    return 0


def _read(args: argparse.Namespace) -> int:
    from bot.console import render
    from bot.core.dialog import Dialog, DialogState
    from bot.ocr import OcrError, OcrReader, OcrUnavailable

    try:
        data = args.image.read_bytes()
    except OSError as error:
        print(f"posbot: cannot read {args.image}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        reading = OcrReader().read(data)
    except OcrUnavailable as error:
        print(f"posbot read: {error}", file=sys.stderr)
        return 2
    except OcrError as error:
        print(f"posbot read: {args.image}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    dialog = Dialog(_engine(args))
    turn = dialog.on_screen(reading.lines, DialogState())
    if args.json:
        reply = turn.reply
        print(json.dumps({
            "file": str(args.image), "size": list(reading.size), "seconds": round(reading.elapsed, 3),
            "lines": [{"text": line.text, "confidence": line.confidence} for line in reading.lines],
            "understanding": turn.understanding.as_json() if turn.understanding is not None else None,
            "reply": {"kind": reply.kind, "preface": reply.preface, "title": reply.title, "text": reply.text,
                      "options": [option.label for option in reply.options]},
        }, ensure_ascii=False, indent=2))
        return 0
    width, height = reading.size
    print(f"image:    {args.image} ({width}x{height}, read in {reading.elapsed:.2f} s)")
    print("lines:")
    for line in reading.lines:
        print(f"  {line.confidence:.2f}  {line.text}")
    if not reading.lines:
        print("  (no text)")
    if turn.understanding is not None:
        decision = turn.understanding.decision
        target = decision.intent or ", ".join(c.intent for c in decision.choices)
        print(f"decision: {decision.kind}{' -> ' + target if target else ''}")
    print("reply:")
    print(render(turn.reply))
    return 0


def _intents(args: argparse.Namespace) -> int:
    engine = _engine(args)
    rows = [{"id": i.id, "kind": i.kind, "code": getattr(i, "code", None), "name": i.name,
             "examples": list(i.examples)} for i in engine.content.intents]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']:<22} {row['kind']:<8} {row['code'] or '-':<3} {row['name']}  ({len(row['examples'])} examples)")
    return 0


def _flow(args: argparse.Namespace) -> int:
    from bot.core.flowview import as_mermaid, as_tree
    from bot.core.loader import load_content

    content = load_content(args.content)
    if args.id is None:
        for flow in content.flows:
            print(f"{flow.id:<24} {len(flow.steps):>2} steps  {flow.title}")
        return 0
    chosen = content.flows_by_id.get(args.id)
    if chosen is None:
        print(f"no flow {args.id!r}; `posbot flow` lists them", file=sys.stderr)
        return 2
    print(as_mermaid(chosen) if args.mermaid else as_tree(chosen))
    return 0


def _review(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_review_inbox(args))


async def _review_inbox(args: argparse.Namespace) -> int:
    from bot.admin.review import add_examples, find, group, start_draft

    settings = _existing_records(_store_settings(args))
    engine = _engine(args)
    records = await _records(settings)
    log = records.questions
    try:
        groups = group(await log.inbox(), engine.matcher)
        key = args.add[0] if args.add else args.ignore if args.ignore is not None else args.new[0] if args.new else None
        if key is not None:
            chosen = find(groups, key)
            if chosen is None:
                print(f"没有编号为 {key} 的一组（可能已经处理过）；posbot review 列出现在的各组", file=sys.stderr)
                return 2
            questions = [q.question for q in chosen.questions]
            if args.add:
                content = add_examples(engine.content, args.add[1], questions)  # ContentError: main() says why
                await log.mark(chosen.ids, "added")
                title = content.by_id[args.add[1]].title
                print(f"已把 {len(questions)} 个问题加为 {args.add[1]}（{title}）的例句，检查通过；内容版本 {content.version}。"
                      "运行中的机器人用 /reload 加载")
            elif args.ignore is not None:
                await log.mark(chosen.ids, "ignored")
                print(f"已忽略 [{chosen.key}]（{len(questions)} 个问题），以后不再出现")
            else:
                path = start_draft(engine.content.root, args.new[1], questions)
                await log.mark(chosen.ids, "new")
                print(f"草稿已写到 {path}：补全后移到 intents/symptoms/，再运行 make validate")
            return 0
        if not groups:
            print("收件箱是空的")
        for item in groups:
            samples = " | ".join(dict.fromkeys(q.question for q in item.questions[:3]))
            suggestion = engine.content.by_id.get(item.suggestion or "")
            hint = f"  建议：{suggestion.id}（{suggestion.title}）" if suggestion is not None else ""
            print(f"[{item.key}] ×{len(item.questions)}  {samples}{hint}")
        if groups:
            print("\n操作：posbot review --add 编号 意图id（加为例句）| --ignore 编号（忽略）| --new 编号 新id（新意图草稿）")
        return 0
    finally:
        await records.close()


def _schema(args: argparse.Namespace) -> int:
    from bot.core.schema import stale_schemas, write_schemas

    if args.check:
        stale = stale_schemas(args.dir)
        for name in stale:
            print(f"{args.dir / name} is out of date: run posbot schema", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schemas(args.dir):
        print(f"wrote {path}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    import asyncio

    from bot.admin.stats import as_text
    from bot.core.loader import load_content

    stats = asyncio.run(_compute_stats(_existing_records(_store_settings(args)), args.days))
    content = load_content(args.content)  # intent titles instead of ids
    if args.html:
        from bot.admin.report import write_html

        print(f"报告已写到 {write_html(stats, args.html, content)}，用浏览器打开")
        return 0
    print(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2) if args.json else as_text(stats, content))
    return 0


def _migrate_data(args: argparse.Namespace) -> int:
    import asyncio

    from bot.logs import url_secrets
    from bot.settings.stores import load_store_settings

    overrides: dict[str, Any] = {} if args.data_dir is None else {"data_dir": args.data_dir}
    if args.to is not None:
        overrides["database_url"] = args.to
    settings = load_store_settings(**overrides)
    _SECRETS[:] = settings.secrets() + (url_secrets(args.to) if args.to else [])
    from bot.logs import setup_logging

    setup_logging(secrets=_SECRETS, level="WARNING")
    source = settings.sqlite_path
    target = settings.database()
    if not source.exists():
        print(f"posbot: no data to copy: {source} does not exist", file=sys.stderr)
        return 2
    if not target or not target.startswith(("postgresql://", "postgres://")):
        print("posbot: give the PostgreSQL database with --to postgresql://… or DATABASE_URL", file=sys.stderr)
        return 2
    return asyncio.run(_copy_data(source, target))


async def _copy_data(source_path: Path, url: str) -> int:
    from bot.storage.db import SQLiteDatabase, StoreUnavailable
    from bot.records import Records
    from bot.admin.transfer import TargetNotEmpty, copy_records
    from bot.telegram.fsm import DatabaseStorage

    async def prepare(db) -> None:
        await Records.open(db)
        await DatabaseStorage.open(db)

    source = SQLiteDatabase(source_path)
    try:
        from bot.storage.postgres import PostgresDatabase

        target = await PostgresDatabase.connect(url)
    except (StoreUnavailable, ImportError) as error:
        await source.close()
        hint = "; pip install 'posbot[postgres]'" if isinstance(error, ImportError) else ""
        print(f"posbot: {error}{hint}", file=sys.stderr)
        return 1
    try:
        copied = await copy_records(source, target, prepare=prepare)
    except TargetNotEmpty as error:
        print(f"posbot: {error}", file=sys.stderr)
        return 1
    finally:
        await source.close()
        await target.close()
    for item in copied:
        print(f"{item.table}: {item.rows}")
    print(f"copied {sum(item.rows for item in copied)} row(s) from {source_path}; set DATABASE_URL and restart the bot")
    return 0


async def _compute_stats(settings: StoreSettings, days: int) -> Stats:
    from bot.admin.stats import compute

    records = await _records(settings)
    try:
        return await compute(records.db, days=days)
    finally:
        await records.close()


def _rollback(args: argparse.Namespace) -> int:
    """Like /rollback in Telegram, for when the bot cannot start (or is not running): restore the
    file the last applied upload replaced, then check the content as `posbot validate` does."""
    from bot.core.loader import default_root, load_content
    from bot.admin.uploads import Uploads

    settings = _store_settings(args)
    root = args.content if args.content is not None else default_root()
    target = Uploads(root, settings.data_dir).rollback()
    if target is None:
        print(f"没有可以回滚的上传：{settings.data_dir / 'backups'} 里没有备份")
        return 1
    print(f"已恢复 {target}")
    content = load_content(root)  # a ContentError is printed by main() with file:line
    print(f"内容检查通过，版本 {content.version}；运行中的机器人发 /reload（或用 --watch 启动）就会用上")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from bot.core.checks import check_content
    from bot.core.loader import load_content

    content = load_content(args.dir if args.dir is not None else args.content)
    problems = check_content(content)
    for problem in problems:
        print(problem)
    examples = sum(len(i.examples) for i in content.intents)
    steps = sum(len(flow.steps) for flow in content.flows)
    summary = (f"应答码意图 {len(content.codes)} 个，症状意图 {len(content.symptoms)} 个，"
               f"闲聊 {len(content.smalltalk)} 个，转介 {len(content.redirects)} 个，"
               f"红线 {len(content.redlines)} 个，例句 {examples} 条，流程 {len(content.flows)} 个（{steps} 步），"
               f"话术 {len(content.scripts)} 个，追问 {len(content.followups)} 个，版本 {content.version}")
    if problems:
        print(f"有 {len(problems)} 处问题；{summary}", file=sys.stderr)
        return 1
    print(f"通过：{summary}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.core.evaluate import evaluate, load_cases

    engine = _engine(args)
    cases = load_cases(args.file, engine.content)

    def understand(question: str):
        understanding = engine.understand(question)
        return understanding.decision, understanding.analysis.candidates

    report = evaluate(cases, understand)
    if args.json:  # for scripts: the same keys as ever, no history kept
        print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
        return 0
    from bot.core.evalview import history_path, load_last, render, save_last
    from bot.core.floors import floors_for

    history = history_path(_store_settings(args).data_dir, args.file)
    print(render(report, floors=floors_for(args.file), last=load_last(history), misses=args.misses))
    save_last(history, report, version=engine.content.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
