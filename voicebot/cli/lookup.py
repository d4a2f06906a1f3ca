"""What several commands look up in the database: sessions, and a campaign by its name."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.cli.errors import InputError
from voicebot.config import Settings
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    return session_factory(make_engine(settings.database_url))


def find_campaign(sessions: sessionmaker[Session], name: str) -> int:
    """The campaign's id; an unknown name is an input error that says so."""
    with sessions() as s:
        found = s.scalar(select(m.Campaign.id).where(m.Campaign.name == name))
    if found is None:
        raise InputError(f"no campaign named {name!r}")
    return found
