"""Twilio's messaging webhooks: delivery statuses and texts from debtors.

No API key here (Twilio has none to send): every request must carry Twilio's
``X-Twilio-Signature`` over the public URL it was posted to (``messaging.public_api_url``
plus the path and query), else it is refused before anything is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from voicebot.followups.delivery_status import record_status
from voicebot.followups.inbound import normalize, receive
from voicebot.followups.texts import TextsError, load_texts
from voicebot.messaging.twilio_messages import (
    INBOUND_PATH,
    SIGNATURE_HEADER,
    STATUS_PATH,
    TWILIO_KEYWORDS,
    WebhookError,
    parse_inbound,
    parse_status,
    verify_webhook,
)

router = APIRouter(tags=["messaging"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _signed_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    base = settings.messaging.public_api_url.rstrip("/")
    token = settings.twilio.auth_token
    if not base or not token:
        # Nothing can be verified, so nothing is believed: refused, not a server error.
        raise ApiError(
            403,
            "not_configured",
            "set VOICEBOT_MESSAGING__PUBLIC_API_URL and VOICEBOT_TWILIO__AUTH_TOKEN",
        )
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        verify_webhook(token, url, form, request.headers.get(SIGNATURE_HEADER, ""))
    except WebhookError as exc:
        raise ApiError(403, "forbidden", str(exc)) from exc
    return form


@router.post(STATUS_PATH, status_code=204, responses={400: {}, 403: {}})
async def message_status(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """A delivery status (queued, sent, delivered, undelivered, failed, read) for one text."""
    form = await _signed_form(request, settings)
    try:
        report = parse_status(form)
    except WebhookError as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    hint = request.query_params.get("message", "")
    record_status(
        session, report, message_id=int(hint) if hint.isdigit() else None, now=datetime.now(UTC)
    )
    session.commit()
    return Response(status_code=204)


@router.post(
    INBOUND_PATH,
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}, 400: {}, 403: {}},
)
async def inbound_message(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """A text from a debtor; TwiML back: a confirmation when it opted them out."""
    form = await _signed_form(request, settings)
    try:
        text = parse_inbound(form)
    except WebhookError as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    row = receive(session, text, now=datetime.now(UTC), actor="twilio")
    session.commit()
    reply = ""
    if row.action == "opt_out" and normalize(text.body) not in TWILIO_KEYWORDS:
        try:
            reply = load_texts("es").get("opt_out_confirmed").template
        except TextsError:
            reply = ""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{escape(reply.replace('{company}', settings.company))}</Message></Response>"
        if reply
        else EMPTY_TWIML
    )
    return Response(content=body, media_type="application/xml")
