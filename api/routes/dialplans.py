"""Dialplans: the vetted files a campaign may use, and validation of an uploaded one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import WithJsonSchema

from api.deps import ManagerDep, ReaderDep, SettingsDep
from api.dialplans import dialplans_dir, validate_text
from api.errors import ApiError
from api.schemas import DialplanFile, DialplanValid
from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan

router = APIRouter(prefix="/dialplans", tags=["dialplans"])


@router.get("")
def list_dialplans(settings: SettingsDep, _: ReaderDep) -> list[DialplanFile]:
    files = []
    for path in sorted(dialplans_dir(settings).glob("*.yaml")):
        try:
            load_dialplan(path)
            problems = 0
        except DialplanError as exc:
            problems = len(exc.problems)
        files.append(
            DialplanFile(name=path.stem, file=path.name, valid=problems == 0, problems=problems)
        )
    return files


def _read_text(upload: UploadFile, limit: int, what: str) -> str:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"uploads are limited to {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_dialplan", f"the {what} file is not UTF-8 text") from exc


@router.post("/validate", responses={413: {}, 422: {}})
def validate_dialplan(
    file: Annotated[UploadFile, File(description="Dialplan YAML")],
    settings: SettingsDep,
    _: ManagerDep,
    prompts: Annotated[
        UploadFile | None, File(description="Its prompts YAML (instead of `prompt_set`)")
    ] = None,
    prompt_set: Annotated[
        str | None,
        Form(max_length=120, description="A server prompt set by name, e.g. `es/cobranza`"),
        WithJsonSchema({"type": "string", "maxLength": 120}),
    ] = None,
) -> DialplanValid:
    """The same checks as ``voicebot dialplan check``; 422 lists every problem with its YAML path.

    The prompts come with the plan (``prompts``), by server set name (``prompt_set``), or from
    the plan's ``prompts:`` line when it names a server set; other paths are never opened.
    """
    limit = settings.api.max_upload_bytes
    text = _read_text(file, limit, "dialplan")
    prompts_text = _read_text(prompts, limit, "prompts") if prompts is not None else None
    plan = validate_text(
        settings,
        text,
        file.filename or "<upload>",
        prompts_text=prompts_text,
        prompt_set=prompt_set,
    )
    return DialplanValid(valid=True, states=len(plan.states), prompts=len(plan.prompts))
