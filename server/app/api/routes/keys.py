"""``/v1/keys``: create, list and revoke API keys (admin scope, app/auth/policy.py).

On an open server (loopback, no key yet) anyone local may call these: that is how the
first admin key can be made over HTTP. ``visor keys`` does the same on the database.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.schemas import error_responses
from app.auth.keys import NAME_PATTERN, ApiKey, KeyCreate, KeyCreated, KeyList
from app.auth.service import AuthService
from app.responses import FastJSONResponse

router = APIRouter(prefix="/v1/keys", tags=["keys"])


async def get_auth(request: Request) -> AuthService:
    auth: AuthService = request.app.state.auth
    return auth


AuthDep = Annotated[AuthService, Depends(get_auth)]


@router.get("", response_model=KeyList, responses=error_responses(401, 403), summary="All keys")
async def list_keys(auth: AuthDep) -> Response:
    keys = await run_in_threadpool(auth.list_keys)
    return FastJSONResponse(KeyList(keys=keys).model_dump(mode="json"))


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    responses=error_responses(400, 401, 403, 409),
    summary="Create a key; the answer holds its secret, shown this once only",
)
async def create_key(body: KeyCreate, auth: AuthDep) -> Response:
    created = await run_in_threadpool(auth.create_key, body)
    return FastJSONResponse(created.model_dump(mode="json"), status_code=201)


@router.delete(
    "/{name}",
    response_model=ApiKey,
    responses=error_responses(401, 403, 404),
    summary="Revoke the active key with this name",
)
async def revoke_key(name: Annotated[str, Path(pattern=NAME_PATTERN)], auth: AuthDep) -> Response:
    revoked = await run_in_threadpool(auth.revoke_key, name)
    return FastJSONResponse(revoked.model_dump(mode="json"))
