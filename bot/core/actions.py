"""What a button does, as typed values, and the one encoding they travel in (Telegram callback data).

The encoding is short ASCII (callback data holds 64 bytes; a Chinese character would take 3) and is
the form buttons have always carried, so a button sent by an older release and still in a chat
decodes to the same action:

    i:INTENT  Show              d:INTENT  Details (详细说明)
    f:FLOW  StartFlow           c:FLOW:STEP:N  Choose
    b:FLOW:STEP  Back           r:FLOW  Restart            s:SCRIPT[:full]  ShowScript
    y:FLOW / n:FLOW  Feedback   g  Current                 x  NoneOfThese
    h  Human                    m  Menu                    ho  OpenNow (the handoff's 直接转人工)

`decode` never raises: data it cannot read (forged, truncated, from a removed kind) is None, which
front ends answer as an expired button.
"""

from __future__ import annotations

from dataclasses import dataclass

CALLBACK_DATA_LIMIT = 64
"""Telegram's limit on callback data, in bytes."""
FULL = "full"


@dataclass(frozen=True)
class Show:
    """Answer this intent (a menu or 您是想问… choice)."""

    intent: str


@dataclass(frozen=True)
class Details:
    """An answer's 详细说明: the meaning, who acts, rare cases."""
    intent: str


@dataclass(frozen=True)
class StartFlow:
    flow: str


@dataclass(frozen=True)
class Choose:
    """Choice number `choice` of a flow step; stale unless the merchant is still at that step."""

    flow: str
    step: str
    choice: int


@dataclass(frozen=True)
class Back:
    flow: str
    step: str


@dataclass(frozen=True)
class Restart:
    flow: str


@dataclass(frozen=True)
class ShowScript:
    script: str
    full: bool = False


@dataclass(frozen=True)
class Feedback:
    """好了，解决了 / 还是不行 (and 👍/👎) after a flow."""

    flow: str
    helped: bool


@dataclass(frozen=True)
class Current:
    """Back to the step the merchant is at (回到排查)."""


@dataclass(frozen=True)
class NoneOfThese:
    """都不是, under a clarification."""


@dataclass(frozen=True)
class Human:
    """转人工."""


@dataclass(frozen=True)
class Menu:
    """常见问题: the welcome menu."""


@dataclass(frozen=True)
class OpenNow:
    """直接转人工, under a handoff offer: open the case without a line of detail."""


Action = Show | Details | StartFlow | Choose | Back | Restart | ShowScript | Feedback | Current | NoneOfThese | Human | Menu | OpenNow

_BARE: dict[str, Action] = {"g": Current(), "x": NoneOfThese(), "h": Human(), "m": Menu(), "ho": OpenNow()}
_BARE_CODE = {type(action): code for code, action in _BARE.items()}


class TooLong(ValueError):
    """An action whose encoding exceeds Telegram's 64 bytes (ids that long are refused by the schema)."""


def encode(action: Action) -> str:
    """The callback data of a button doing `action`."""
    match action:
        case Show(intent):
            data = f"i:{intent}"
        case Details(intent):
            data = f"d:{intent}"
        case StartFlow(flow):
            data = f"f:{flow}"
        case Choose(flow, step, choice):
            data = f"c:{flow}:{step}:{choice}"
        case Back(flow, step):
            data = f"b:{flow}:{step}"
        case Restart(flow):
            data = f"r:{flow}"
        case ShowScript(script, full):
            data = f"s:{script}:{FULL}" if full else f"s:{script}"
        case Feedback(flow, helped):
            data = f"{'y' if helped else 'n'}:{flow}"
        case _:
            data = _BARE_CODE[type(action)]
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise TooLong(data)
    return data


def decode(data: str) -> Action | None:
    """The action a button's callback data stands for, or None when it is not one."""
    if data in _BARE:
        return _BARE[data]
    kind, _, rest = data.partition(":")
    args = rest.split(":") if rest else []
    if not args or not all(args):
        return None
    if kind == "i" and len(args) == 1:
        return Show(args[0])
    if kind == "d" and len(args) == 1:
        return Details(args[0])
    if kind == "f" and len(args) == 1:
        return StartFlow(args[0])
    if kind == "c" and len(args) == 3 and args[2].isdigit():
        return Choose(args[0], args[1], int(args[2]))
    if kind == "b" and len(args) == 2:
        return Back(args[0], args[1])
    if kind == "r" and len(args) == 1:
        return Restart(args[0])
    if kind == "s" and len(args) == 1:
        return ShowScript(args[0])
    if kind == "s" and len(args) == 2 and args[1] == FULL:
        return ShowScript(args[0], full=True)
    if kind in ("y", "n") and len(args) == 1:
        return Feedback(args[0], helped=kind == "y")
    return None
