"""One place for configuration: environment variables ``VOICEBOT_*`` (nested with ``__``).

Examples: ``VOICEBOT_DATABASE_URL``, ``VOICEBOT_SIP__SERVER``, ``VOICEBOT_SPEECH__TTS_RATE``.
A ``.env`` file in the working directory is read too. Defaults run the embedded demo.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]


class SipConfig(BaseModel):
    server: str = ""
    port: int = 5060
    user: str = ""
    password: str = ""
    caller_id: str | None = None
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
    models_dir: Path = ROOT / "asr_models"
    tts_voice: str = "es-419"
    tts_rate: int = 165  # words per minute
    tts_volume: float = 1.0
    tts_cache_dir: Path = ROOT / "var" / "tts-cache"


class DialerConfig(BaseModel):
    worker_id: str = ""  # default: host name and process id
    lease_seconds: int = 120
    poll_seconds: float = 1.0
    ring_timeout_seconds: float = 30.0


class ApiConfig(BaseModel):
    cors_origins: list[str] = Field(default_factory=list)  # closed by default
    max_upload_bytes: int = 20 * 1024 * 1024
    status_cache_seconds: float = 2.0  # campaign status is recomputed at most this often


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
    dir: Path = ROOT / "var" / "recordings"  # local store, and the S3 backend's spool
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # empty: AWS; else any S3-compatible server


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOICEBOT_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    database_url: str = f"sqlite:///{ROOT / 'var' / 'voicebot.sqlite3'}"
    dialplan: Path = ROOT / "dialplans" / "cobranza_es.yaml"
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
