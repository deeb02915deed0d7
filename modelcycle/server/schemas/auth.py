"""Request bodies of the admin endpoints (users, tokens)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from modelcycle.auth import Role, TokenInfo, User

UserName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserName
    role: Role = Role.VIEWER


class UserUpdate(BaseModel):
    """What an admin may change about a user; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class UserWithToken(BaseModel):
    """A new user and their first API token, shown this once."""

    user: User
    token: str


class NewToken(BaseModel):
    """A new API token, shown this once."""

    token_info: TokenInfo
    token: str


class UserPage(BaseModel):
    users: list[User]
    next_page_token: str | None = None


class TokenPage(BaseModel):
    tokens: list[TokenInfo]
    next_page_token: str | None = None
