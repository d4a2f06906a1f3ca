"""A channel that sends nothing and logs everything: the demo's, and a dry run's."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

from voicebot.messaging.channel import Accepted, OutgoingMessage

log = logging.getLogger(__name__)


@dataclass
class LogChannel:
    name: str = "log"
    sent: list[OutgoingMessage] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, message: OutgoingMessage) -> Accepted:
        self.sent.append(message)
        log.info("%s to %s: %s", message.channel, message.to, message.body)
        return Accepted(provider_id=f"LOG{next(self._ids):08d}", status="sent")
