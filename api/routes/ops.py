"""Health (the process answers), readiness (it can do its job) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import SessionsDep, SettingsDep
from api.errors import ApiError
from api.metrics import Metrics
from voicebot.config import Settings
from voicebot.speech.model_files import ModelNotFound, explicit_model, resolve_model

router = APIRouter(tags=["operations"])


def database_check(sessions: SessionsDep) -> dict[str, Any]:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
            backend = session.get_bind().dialect.name
    except SQLAlchemyError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "backend": backend}


def asr_check(settings: Settings) -> dict[str, Any]:
    language = settings.speech.language
    try:
        if settings.speech.model_path is not None:
            model = explicit_model(settings.speech.model_path, language)
        else:
            model = resolve_model(language, models_dir=settings.speech.models_dir)
    except (ModelNotFound, ValueError, OSError) as exc:
        return {"ok": False, "language": language, "error": str(exc)}
    return {"ok": True, "language": language, "model": model.name, "source": model.source}


def carrier_check(settings: Settings) -> dict[str, Any]:
    """Configured, not registered: registration is the call workers' state, not the API's."""
    kind = settings.carrier
    configured = {
        "simulated": True,
        "sip": bool(settings.sip.server),
        "twilio": bool(settings.twilio.account_sid and settings.twilio.auth_token),
    }.get(kind, False)
    result: dict[str, Any] = {"ok": configured, "carrier": kind}
    if not configured:
        result["error"] = f"carrier {kind!r} is not configured"
    return result


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={503: {}})
def ready(request: Request, sessions: SessionsDep, settings: SettingsDep) -> JSONResponse:
    """Each dependency's ``ok``; the details (backend, model, errors) only with a valid key."""
    checks = {
        "database": database_check(sessions),
        "asr_model": asr_check(settings),
        "carrier": carrier_check(settings),
    }
    ok = all(c["ok"] for c in checks.values())
    if getattr(request.state, "principal", None) is None:
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks},
        status_code=200 if ok else 503,
    )


@router.get("/metrics", response_class=Response)
def metrics(request: Request, settings: SettingsDep) -> Response:
    """Prometheus text; with ``api.ops_key_required`` only for a valid key (any role)."""
    if settings.api.ops_key_required and getattr(request.state, "principal", None) is None:
        raise ApiError(401, "unauthorized", "send an API key in the X-API-Key header")
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
