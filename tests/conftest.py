"""Project-wide fixtures: databases of both kinds (SQLite and a real PostgreSQL server on
loopback), and the voices of a call (the real Korean Vosk model, espeak-ng for bot and debtor,
Spanish recordings), loaded once per session for every folder that plays calls."""

from __future__ import annotations

import itertools
import sqlite3
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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database brought to head by the migrations; tests get copies of it."""
    path = tmp_path_factory.mktemp("migrated") / "voicebot.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres: PostgresServer) -> str:
    """The name of a PostgreSQL database at head, the template of every test's database."""
    upgrade(postgres.create_database("migrated_template"))
    return "migrated_template"


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A SQLite database at head for this test alone (a copy of the migrated one)."""
    path = tmp_path / "voicebot.sqlite3"
    with sqlite3.connect(migrated_sqlite) as source, sqlite3.connect(path) as target:
        source.backup(target)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database of each kind: a copy of one migrated at session start.

    Copying is what the migrations would produce (the schema tests migrate for real); it
    saves running the whole chain again for each of some 250 tests.
    """
    if request.param == "sqlite":
        return str(request.getfixturevalue("fresh_sqlite_url"))
    server: PostgresServer = request.getfixturevalue("postgres")
    template_name = request.getfixturevalue("migrated_postgres")
    return server.create_database(f"t{next(_names)}", template=template_name)


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
