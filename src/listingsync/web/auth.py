"""Bearer tokens for the API: every endpoint but health needs ``Authorization: Bearer <token>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from listingsync.service.tokens import TokenInfo, verify_token

__all__ = ["require_token"]

_bearer = HTTPBearer(auto_error=False, description="An API token from `listingsync tokens create NAME`.")


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> TokenInfo:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API token: send 'Authorization: Bearer <token>' (listingsync tokens create NAME)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    info = verify_token(request.app.state.workspace, credentials.credentials)
    if info is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="the API token is not valid or was revoked (listingsync tokens list)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return info
