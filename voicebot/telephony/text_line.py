"""The simulated line's text channel: the debtor's turns as text, the bot's as text.

It is clearly a text line, not audio: Spanish dialog logic is exercised end to end
here while audio runs through the simulated voice line. Turn notation, shared by
scripts and the interactive prompt:

    texto libre     what the debtor says
    #1234           DTMF keys
    (empty line)    silence: the listen timeout expires
    <colgar>        the debtor hangs up
    <agente>        an agent accepts the warm transfer
    <sin agente>    no agent answers the transfer
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from voicebot.actions import Listen, Say, Transfer
from voicebot.events import Dtmf, Hangup, NoInput, TransferCompleted, TransferFailed, Utterance

HANGUP = "<colgar>"
AGENT_ANSWERS = "<agente>"
NO_AGENT = "<sin agente>"
SILENCE = "<silencio>"


class SimulatedClock:
    """Time that moves only when the line says so: deterministic transcripts."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def parse_turn(turn: str, at: datetime) -> Utterance | Dtmf | NoInput | Hangup:
    text = turn.strip()
    if not text or text == SILENCE:
        return NoInput(at)
    if text == HANGUP:
        return Hangup(at)
    if text.startswith("#") and len(text) > 1 and all(c in "0123456789*#" for c in text[1:]):
        return Dtmf(at, text[1:])
    return Utterance(at, text)


class TextLine:
    """A DialogPort over text turns, from a script or a person at a terminal.

    ``read_turn`` returns the debtor's next turn, or None when the script is
    exhausted (treated as a hangup). Bot lines go to ``write``.
    """

    def __init__(
        self,
        read_turn: Callable[[], str | None],
        *,
        clock: SimulatedClock,
        write: Callable[[str], None] = lambda line: None,
        seconds_per_word: float = 0.35,
    ) -> None:
        self._read = read_turn
        self._clock = clock
        self._write = write
        self._seconds_per_word = seconds_per_word
        self.said: list[Say] = []
        self.transfers: list[Transfer] = []
        self.hung_up = False

    @classmethod
    def scripted(
        cls,
        turns: Iterable[str],
        *,
        clock: SimulatedClock,
        write: Callable[[str], None] = lambda line: None,
    ) -> TextLine:
        iterator: Iterator[str] = iter(turns)
        return cls(lambda: next(iterator, None), clock=clock, write=write)

    async def say(self, say: Say) -> None:
        self.said.append(say)
        self._write(f"BOT: {say.text}")
        # Speaking takes time; the transcript's timestamps should show it.
        self._clock.advance(len(say.text.split()) * self._seconds_per_word)

    async def listen(self, listen: Listen) -> Utterance | Dtmf | NoInput | Hangup:
        turn = self._read()
        if turn is None:
            return Hangup(self._clock())
        event = parse_turn(turn, self._clock())
        if isinstance(event, NoInput):
            self._clock.advance(listen.timeout_s)
            event = NoInput(self._clock())
        else:
            self._clock.advance(1.0 + len(turn.split()) * self._seconds_per_word)
        self._write(f"DEUDOR: {turn.strip() or SILENCE}")
        return event

    async def transfer(self, transfer: Transfer) -> TransferCompleted | TransferFailed | Hangup:
        self.transfers.append(transfer)
        self._write(f"[transferencia: {transfer.reason}] {transfer.context.summary}")
        turn = self._read()
        if turn is None or turn.strip() == HANGUP:
            return Hangup(self._clock())
        if turn.strip() == AGENT_ANSWERS:
            self._clock.advance(5)
            return TransferCompleted(self._clock(), agent="agente")
        self._clock.advance(transfer.timeout_s)
        return TransferFailed(self._clock())

    async def hangup(self) -> None:
        self.hung_up = True
