"""``/api/v1/users``: users, their roles and API tokens (admin only).

A new user's first token, like any new token, is in the answer once and never again: only its
argon2 hash is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from modelcycle.auth import Role, TokenInfo, User
from modelcycle.errors import NotFound
from modelcycle.server._json import RecordResponse
from modelcycle.server._pages import page_of
from modelcycle.server.deps import AuthDep, require
from modelcycle.server.routers import PageToken, page_limit
from modelcycle.server.schemas.auth import (
    NewToken,
    TokenCreate,
    TokenPage,
    UserCreate,
    UserPage,
    UserUpdate,
    UserWithToken,
)

router = APIRouter(prefix="/users", tags=["users"], dependencies=[require(Role.ADMIN)])

UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
Limit = page_limit(10_000)


@router.get("", response_model=UserPage, summary="Users, by name")
def list_users(auth: AuthDep, limit: Limit = 1000, page_token: PageToken = None) -> RecordResponse:
    users, token = page_of(auth.list_users(), limit, page_token, "users")
    return RecordResponse({"users": users, "next_page_token": token})


@router.post(
    "",
    response_model=UserWithToken,
    status_code=201,
    summary="Create a user; the answer holds their first API token, shown once",
)
def create_user(body: UserCreate, auth: AuthDep) -> RecordResponse:
    user, token = auth.create_user(body.name, body.role)
    return RecordResponse({"user": user, "token": token}, status_code=201)


@router.get("/{name}", response_model=User, summary="A user")
def get_user(name: UserName, auth: AuthDep) -> RecordResponse:
    return RecordResponse(auth.get_user(name))


@router.patch("/{name}", response_model=User, summary="Change a user's role, or disable them")
def update_user(name: UserName, body: UserUpdate, auth: AuthDep) -> RecordResponse:
    return RecordResponse(auth.update_user(name, role=body.role, disabled=body.disabled))


@router.get("/{name}/tokens", response_model=TokenPage, summary="A user's tokens (no secrets)")
def list_tokens(
    name: UserName, auth: AuthDep, limit: Limit = 1000, page_token: PageToken = None
) -> RecordResponse:
    tokens, next_token = page_of(auth.list_tokens(name), limit, page_token, "tokens", name)
    return RecordResponse({"tokens": tokens, "next_page_token": next_token})


@router.post(
    "/{name}/tokens",
    response_model=NewToken,
    status_code=201,
    summary="Create an API token for a user, shown once",
)
def create_token(name: UserName, body: TokenCreate, auth: AuthDep) -> RecordResponse:
    info, token = auth.create_token(name, description=body.description)
    return RecordResponse({"token_info": info, "token": token}, status_code=201)


@router.delete(
    "/{name}/tokens/{token_id}", response_model=TokenInfo, summary="Revoke one of a user's tokens"
)
def revoke_token(
    name: UserName,
    token_id: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[^\x00]*$")],
    auth: AuthDep,
) -> RecordResponse:
    if all(info.token_id != token_id for info in auth.list_tokens(name)):
        raise NotFound(
            f"user {name!r} has no token {token_id!r}",
            details={"user": name, "token_id": token_id},
        )
    return RecordResponse(auth.revoke_token(token_id))
