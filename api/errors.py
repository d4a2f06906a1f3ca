"""One error body everywhere: ``{"error": {"code", "message", "details"}}``.

Clients branch on ``code`` (stable, snake_case); ``message`` is for people;
``details`` carries the machine-readable specifics (row reports, YAML paths).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import NoResultFound
from starlette.exceptions import HTTPException as StarletteHTTPException

from voicebot.campaigns.lifecycle import CampaignStateError

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "too_many_requests",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, snake_case: what clients branch on")
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorDetail


# Documented on every operation: the guard answers 401/413/429 before any route runs,
# and every refusal has this body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "Malformed request (unparseable body)",
        401: "No API key, or not a valid one",
        403: "The key's role may not do this",
        404: "No such record (or not visible to this key)",
        409: "Conflicts with the record's state",
        413: "Body over the size limit",
        422: "Invalid input; `details` says where",
        429: "Too many invalid API keys from this client (see Retry-After)",
    }.items()
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str, key: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {key} does not exist")


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(
            exc.status_code,
            _CODES.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return error_response(422, "validation_error", "the request is not valid", details)

    @app.exception_handler(CampaignStateError)
    async def _state_error(_: Request, exc: CampaignStateError) -> JSONResponse:
        return error_response(409, "invalid_state", str(exc))

    @app.exception_handler(NoResultFound)
    async def _no_result(_: Request, exc: NoResultFound) -> JSONResponse:
        return error_response(404, "not_found", "the requested record does not exist")
