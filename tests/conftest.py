"""Project-wide fixtures: databases of both kinds (SQLite and a real PostgreSQL server on
loopback), and the voices of a call (the real Korean Vosk model, espeak-ng for bot and debtor,
Spanish recordings), loaded once per session for every folder that plays calls."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from testbeds.postgres import PostgresServer, start_postgres
from testbeds.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioStandIn
from voicebot.messaging.twilio_messages import TwilioMessaging
from voicebot.speech.model_files import resolve_model
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.storage.db import make_engine, session_factory, upgrade

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'voicebot.sqlite3'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database(f"t{next(_names)}")
    upgrade(url)
    return url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def ko_model() -> Iterator[VoskSpeechModel]:
    """Korean is the model installed here; the dialplan's keyword hints carry Korean answers."""
    yield VoskSpeechModel(resolve_model("ko", env={}))


@pytest.fixture(scope="session")
def bot_voice(tmp_path_factory: pytest.TempPathFactory) -> TtsCache:
    """The bot: Latin-American Spanish, cached like in production."""
    return TtsCache(EspeakSynthesizer(VoiceSettings("es-419", 175)), tmp_path_factory.mktemp("tts"))


@pytest.fixture(scope="session")
def korean_debtor() -> EspeakSynthesizer:
    """The debtor: another engine voice (Korean, slower) so bot and debtor never sound alike."""
    return EspeakSynthesizer(VoiceSettings("ko", 150))


@pytest.fixture(scope="session")
def sounds() -> Path:
    path = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
    if not path.is_dir():
        pytest.skip("apt-get install asterisk-core-sounds-es-wav")
    return path


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    """Twilio's Messages API on loopback, holding requests to the documented wire format."""
    server = TwilioStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def twilio(standin: TwilioStandIn) -> Iterator[TwilioMessaging]:
    """The service's Twilio Messaging client, pointed at the stand-in."""
    with httpx.Client(timeout=5.0) as client:
        yield TwilioMessaging(ACCOUNT_SID, AUTH_TOKEN, FROM, client, base_url=standin.base_url)
