"""What a running call looks like to the dialog loop: say, listen, transfer, hang up.

A text line implements it by printing and reading lines; an audio line by
TTS → carrier → ASR (with barge-in: ``say`` only queues playback and ``listen``
starts hearing at once, cutting the prompt when the debtor speaks over it).
"""

from __future__ import annotations

from typing import Protocol

from voicebot.actions import Listen, Say, Transfer
from voicebot.events import Dtmf, Hangup, NoInput, TransferCompleted, TransferFailed, Utterance


class DialogPort(Protocol):
    async def say(self, say: Say) -> None: ...

    async def listen(self, listen: Listen) -> Utterance | Dtmf | NoInput | Hangup: ...

    async def transfer(self, transfer: Transfer) -> TransferCompleted | TransferFailed | Hangup: ...

    async def hangup(self) -> None: ...
