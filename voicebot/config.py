"""One place for configuration: environment variables ``VOICEBOT_*`` (nested with ``__``).

Examples: ``VOICEBOT_DATABASE_URL``, ``VOICEBOT_SIP__SERVER``, ``VOICEBOT_SPEECH__TTS_RATE``.
A ``.env`` file in the working directory is read too. Defaults run the embedded demo.

Where files are: the shipped defaults (dialplan, prompts, calling rules, model manifest)
come from the package (``voicebot.data``); what the service writes (the SQLite database,
the TTS cache, downloaded models) goes under the working directory (``var/``,
``asr_models/``) unless a setting points elsewhere. Nothing is found relative to a
source checkout, so an installed ``voicebot`` behaves the same from any directory.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicebot.data import DEFAULT_DIALPLAN, INBOUND_DIALPLAN, PROMPTS_DIR

VAR_DIR = Path("var")  # relative to the working directory: the Docker image runs in /app


class SipConfig(BaseModel):
    server: str = ""
    port: int = 5060
    user: str = ""
    password: str = ""
    caller_id: str | None = None  # From display name
    caller_number: str | None = None  # From user toward the trunk (None: the SIP user)
    from_domain: str | None = None  # From host (None: the server)
    assert_identity: bool = False  # send P-Asserted-Identity with the caller number
    symmetric_rtp: bool = True  # answer RTP where it comes from (NAT)
    rtp_timeout_seconds: float = 10.0  # no RTP this long (not on hold): drop the call
    local_ip: str = "127.0.0.1"
    local_port: int = 5060
    rtp_port_low: int = 10000
    rtp_port_high: int = 20000
    codecs: tuple[str, ...] = ("PCMU",)
    agent_uri: str = ""  # where warm transfers go, e.g. sip:agents@pbx


class TwilioConfig(BaseModel):
    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    public_base_url: str = ""  # https URL Twilio reaches for webhooks and the media stream
    listen_host: str = "127.0.0.1"  # where our webhook/media server listens (behind the TLS proxy)
    listen_port: int = 8081
    agent_number: str = ""  # warm transfers ring this number (E.164 or sip:)
    on_machine: str = "hang_up"  # hang_up | leave_message (lawful: no debt details)
    machine_detection: bool = True


class SpeechConfig(BaseModel):
    language: str = "es"
    model_path: Path | None = None  # overrides asr_models/ (same as VOSK_MODEL_PATH)
    models_dir: Path = Path("asr_models")  # where `voicebot models download` unpacks
    tts_voice: str = "es-419"
    tts_rate: int = 165  # words per minute
    tts_volume: float = 1.0
    tts_cache_dir: Path = VAR_DIR / "tts-cache"
    # Recognizers that decode speech at start-up so the first calls are not cold; each costs
    # seconds of CPU (a minute for 4 on a loaded 2-core machine). 0: fast start, slow first calls.
    prewarm_recognizers: int = 4


class DialerConfig(BaseModel):
    worker_id: str = ""  # default: host name and process id
    # The heartbeat lease, renewed every third of it while a call runs (not the call's
    # length): a dead worker's calls and concurrency slots free within this many seconds.
    lease_seconds: float = 15
    max_call_seconds: float = 1800  # a call still up after this is ended as FAIL
    # The write-ahead journal of outcomes and record actions on the worker's own disk;
    # keep it on a volume that survives the container (replayed on restart).
    journal_dir: Path = VAR_DIR / "journal"
    # The worker's /health, /ready and /metrics (0: not served).
    health_host: str = "0.0.0.0"
    health_port: int = 0
    poll_seconds: float = 1.0
    ring_timeout_seconds: float = 30.0


class ApiConfig(BaseModel):
    cors_origins: list[str] = Field(default_factory=list)  # closed by default
    max_upload_bytes: int = 20 * 1024 * 1024
    status_cache_seconds: float = 2.0  # campaign status is recomputed at most this often
    cursor_secret: str = (
        ""  # signs pagination cursors; empty: random per process (set for replicas)
    )
    failed_keys_per_minute: int = 20  # wrong API keys one client may present before 429
    ops_key_required: bool = False  # /metrics and /ready's details only with an API key
    console_session_minutes: float = 480.0  # a console sign-in lasts one shift
    console_tick_seconds: float = 1.0  # how often a live dashboard is recomputed (shared)
    console_desk_tick_seconds: float = 0.25  # how often the agent desk looks for a transfer


class WebhookConfig(BaseModel):
    url: str = ""  # the creditor's receiver; empty: events wait in the outbox
    secret: str = ""  # HMAC-SHA256 key shared with the receiver
    timeout_seconds: float = 10.0
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    poll_seconds: float = 2.0
    claim_batch: int = 20  # events one sender leases at a time


class RecordingsConfig(BaseModel):
    """Call recordings (README "Call recordings"): where files go; the rules say how long."""

    enabled: bool = True
    backend: str = "local"  # local | s3
    dir: Path = VAR_DIR / "recordings"  # local store, and the S3 backend's spool
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # empty: AWS; else any S3-compatible server


class MessagingConfig(BaseModel):
    """Texts to debtors (SMS, WhatsApp); Twilio's account is ``VOICEBOT_TWILIO__*``'s."""

    provider: str = "log"  # log (sends nothing, logs) | twilio
    from_number: str = ""  # E.164 sender; "": VOICEBOT_TWILIO__FROM_NUMBER
    # The API's public https base URL as Twilio reaches it (https://api.example.com): status
    # callbacks go to <it>/messaging/twilio/status, and Twilio's signatures cover that URL.
    public_api_url: str = ""
    timeout_seconds: float = 10.0
    poll_seconds: float = 5.0
    claim_batch: int = 20


class SettingsError(ValueError):
    """The environment or ``.env`` asks for something settings cannot honor; one line says what."""


PREFIX = "VOICEBOT_"
ENV_FILE = ".env"  # in the working directory
# VOICEBOT_* variables read directly by one module rather than through Settings.
OTHER_VARIABLES = frozenset({"VOICEBOT_MODEL_URL"})  # speech.model_files: a download mirror


class Settings(BaseSettings):
    """Every setting; unknown ``VOICEBOT_*`` names are refused, never silently ignored.

    A misspelt variable (``VOICEBOT_SIP_SERVER`` for ``VOICEBOT_SIP__SERVER``) would
    otherwise leave a worker on its defaults, unaware of its trunk.
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter="__", env_file=ENV_FILE, extra="ignore"
    )

    database_url: str = f"sqlite:///{VAR_DIR / 'voicebot.sqlite3'}"
    dialplan: Path = DEFAULT_DIALPLAN
    inbound_dialplan: Path = INBOUND_DIALPLAN  # what answers calls to the callback number
    prompts_dir: Path = PROMPTS_DIR  # the prompt sets an uploaded dialplan may name
    company: str = "Gestión Integral de Cartera"
    callback_number: str = ""
    carrier: str = "simulated"  # simulated | sip | twilio
    sip: SipConfig = Field(default_factory=SipConfig)
    twilio: TwilioConfig = Field(default_factory=TwilioConfig)
    speech: SpeechConfig = Field(default_factory=SpeechConfig)
    dialer: DialerConfig = Field(default_factory=DialerConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    recordings: RecordingsConfig = Field(default_factory=RecordingsConfig)
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    messaging: MessagingConfig = Field(default_factory=MessagingConfig)

    def __init__(self, **values: Any) -> None:
        names = list(os.environ)
        env_file = values.get("_env_file", ENV_FILE)
        if isinstance(env_file, str | Path) and Path(env_file).is_file():
            names += list(dotenv_values(env_file))  # other tools' names in it are fine
        unknown = unknown_variables(names)
        if unknown:
            raise SettingsError(describe_unknown(unknown))
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from exc


def variable_names() -> frozenset[str]:
    """Every ``VOICEBOT_*`` name settings read, nested ones spelled with ``__``."""
    names = set(OTHER_VARIABLES)
    for name, field in Settings.model_fields.items():
        names.add(PREFIX + name.upper())
        model = field.annotation if isinstance(field.annotation, type) else None
        if model is not None and issubclass(model, BaseModel):
            names.update(f"{PREFIX}{name.upper()}__{sub.upper()}" for sub in model.model_fields)
    return frozenset(names)


def unknown_variables(names: Iterable[str]) -> list[str]:
    """The ``VOICEBOT_*`` names that no setting reads (names compare uppercase)."""
    known = variable_names()
    return sorted(
        {name for name in names if name.upper().startswith(PREFIX) and name.upper() not in known}
    )


def describe_unknown(names: list[str]) -> str:
    known = sorted(variable_names())
    parts = []
    for name in names:
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.8)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return (
        f"unknown setting(s) in the environment or .env: {', '.join(parts)}; "
        "nested settings use a double underscore, e.g. VOICEBOT_SIP__SERVER"
    )


def _one_line(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = "__".join(str(part).upper() for part in error["loc"])
        name = name if name.startswith(PREFIX) else PREFIX + name
        problems.append(f"{name}: {error['msg']}")
    return "invalid setting(s): " + "; ".join(problems)
