"""Sign-in as the fake answers it, for ``mock_azure`` and the server alike: Microsoft Entra
ID as MSAL meets it (a tenant's OpenID configuration, instance discovery, a token for any
client credentials) and the managed identity endpoint (IMDS). Every token is the same
string; nothing checks it. The authority in the answers is the login host they were
asked at: Entra ID's for ``mock_azure``, the server's own origin for the server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TOKEN = "fakecloud-token"
TOKEN_LIFETIME_S = 3600
Response = tuple[int, dict[str, str], str]


@dataclass(frozen=True)
class Login:
    """A login host: its ``origin`` (``https://login.microsoftonline.com``), the host
    names instance discovery lists for it (the preferred one first) and MSAL's preferred
    cache host."""

    origin: str
    aliases: tuple[str, ...]
    cache: str

    @classmethod
    def at(cls, origin: str) -> Login:
        """A login host known by one name, its origin's: the server's."""
        host = urlsplit(origin).netloc
        return cls(origin, (host,), host)


ENTRA_ID = Login("https://login.microsoftonline.com",
                 ("login.microsoftonline.com", "login.windows.net", "login.microsoft.com",
                  "sts.windows.net"), "login.windows.net")


def imds_token() -> Response:
    """The managed-identity endpoint's answer, so DefaultAzureCredential gets a token."""
    return _json({"access_token": TOKEN, "expires_in": str(TOKEN_LIFETIME_S),
                  "expires_on": str(2**31 - 1), "resource": "https://management.azure.com/",
                  "token_type": "Bearer"})


def entra_id(login: Login, method: str, tenant: str, rest: str) -> Response | None:
    """Entra ID's answer to ``method`` on ``{login.origin}/{tenant}/{rest}``, or None when
    that is not an endpoint the fake answers."""
    authority = f"{login.origin}/{tenant}"
    rest = rest.lower().rstrip("/")
    if rest.endswith(".well-known/openid-configuration"):
        return _json(_openid_configuration(authority))
    if rest == "discovery/instance":
        return _json({"tenant_discovery_endpoint":
                      f"{authority}/v2.0/.well-known/openid-configuration", "api-version": "1.1",
                      "metadata": [{"preferred_network": login.aliases[0],
                                    "preferred_cache": login.cache,
                                    "aliases": list(login.aliases)}]})
    if method == "POST" and rest.endswith("oauth2/v2.0/token"):
        return _json({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S,
                      "ext_expires_in": TOKEN_LIFETIME_S, "access_token": TOKEN})
    return None


def _openid_configuration(authority: str) -> dict[str, Any]:
    return {
        "issuer": f"{authority}/v2.0",
        "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
        "token_endpoint": f"{authority}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{authority}/oauth2/v2.0/devicecode",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "tenant_region_scope": "WW"}


def _json(body: dict[str, Any]) -> Response:
    return 200, {"Content-Type": "application/json"}, json.dumps(body)
