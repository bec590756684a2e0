"""HTTP endpoints of the OAuth 2.0 authorization server (``auth.oauth``) and its metadata.

The endpoints take form-encoded POSTs only (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1) and
answer JSON that is never cached (RFC 6749 §5.1); anything else is ``invalid_request``. The
metadata (RFC 8414) names the configured issuer in production and, in development, the server
that answered.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidRequestError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.middleware import current_request_id
from api.rate_limit import OAUTH_TOKEN, per_client_address
from api.responses import OrjsonResponse
from api.state import AppState
from auth import oauth, oauth_metadata

logger = logging.getLogger("cardcrm.oauth")

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 16 * 1024
MAX_FIELDS = 20
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _response(answer: oauth.HttpResponse) -> Response:
    return OrjsonResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))


def _invalid_request(description: str, status: int = 400, **headers: str) -> Response:
    answer = oauth.error_response(InvalidRequestError(description))
    response = _response(answer)
    response.status_code = status
    response.headers.update(headers)
    return response


async def _body(request: Request) -> bytes | None:
    """The body, or None once it grows past the limit."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _form_request(request: Request) -> oauth.HttpRequest | Response:
    if request.method != "POST":
        return _invalid_request("send a POST", status=405, Allow="POST")
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        return _invalid_request(f"send the parameters as {FORM_CONTENT_TYPE}")
    body = await _body(request)
    if body is None:
        return _invalid_request(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        params = parse_qsl(
            body.decode("utf-8"), max_num_fields=MAX_FIELDS, errors="strict", strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        return _invalid_request("the body is not a well-formed UTF-8 form")
    return oauth.HttpRequest(
        method=request.method,
        url=str(request.url),
        authorization=request.headers.get("authorization"),
        params=params,
    )


def _endpoint(endpoint: oauth.Endpoint) -> Route:
    async def handle(request: Request) -> Response:
        form = await _form_request(request)
        if isinstance(form, Response):
            return form
        state: AppState = request.app.state.cardcrm
        try:
            answer = await oauth.respond(
                endpoint,
                form,
                database=state.database,
                tokens=state.tokens,
                ttl=state.settings.client_token_ttl_seconds,
            )
        except Exception:  # the last line of defence: JSON, a request id, no stack
            logger.exception("oauth %s failed (request %s)", endpoint, current_request_id())
            return OrjsonResponse(
                {"error": "server_error", "error_description": f"request {current_request_id()}"},
                status_code=500,
                headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        return _response(answer)

    paths = {
        oauth.Endpoint.TOKEN: oauth.TOKEN_PATH,
        oauth.Endpoint.REVOCATION: oauth.REVOCATION_PATH,
        oauth.Endpoint.INTROSPECTION: oauth.INTROSPECTION_PATH,
    }
    if endpoint is oauth.Endpoint.TOKEN:  # credentials are guessed here: limit per address
        limited = per_client_address(OAUTH_TOKEN)(handle)
        return Route(paths[endpoint], limited, methods=_ANY_METHOD, name=f"oauth_{endpoint}")
    return Route(paths[endpoint], handle, methods=_ANY_METHOD, name=f"oauth_{endpoint}")


def public_base_url(request: Request) -> str:
    """The issuer the metadata names: in production the configured one (what clients were
    given, whatever proxy they came through); in development the server that answered, so
    a client on a laptop finds endpoints it can reach instead of ``https://cardcrm.local``."""
    settings = request.app.state.cardcrm.settings
    if settings.is_development:
        return str(request.base_url).rstrip("/")
    return str(settings.token_issuer)


async def metadata(request: Request) -> Response:
    return OrjsonResponse(
        oauth_metadata.server_metadata(public_base_url(request)),
        headers={"Cache-Control": "public, max-age=3600"},
    )


routes = [
    *(_endpoint(endpoint) for endpoint in oauth.Endpoint),
    Route(oauth_metadata.METADATA_PATH, metadata, methods=["GET"]),
]
