"""``GET /privacy/exports/<token>``: a customer's data export, downloaded once.

The link itself is the credential (a browser or the app's download manager sends no bearer
token): 32 random bytes, stored only as SHA-256, valid a few minutes, used once
(``resolvers.privacy.export_job.download``). The answer is the JSON document as an
attachment, never cached; an unknown token is 404 NOT_FOUND, a used or run-out one 410
LINK_GONE, both in the API's JSON error shape; a database that does not answer is 503
SERVICE_UNAVAILABLE with Retry-After, anything unexpected a masked INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.middleware import current_request_id
from api.responses import error_response, unavailable_response
from api.state import AppState
from core.errors import (
    INTERNAL_ERROR_MESSAGE,
    DomainError,
    ErrorCode,
    LinkGone,
    NotFound,
)
from core.outage import is_database_outage
from resolvers.privacy.export_job import download

logger = logging.getLogger("cardcrm.http")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FILENAME = "cardcrm-data-export.json"


async def export_download(request: Request) -> Response:
    state: AppState = request.app.state.cardcrm
    try:
        async with state.database.session() as session:
            done = await download(
                session,
                ring=state.key_ring,
                token=str(request.path_params["token"]),
                request_id=current_request_id(),
                client_addr=request.client.host if request.client else None,
            )
    except NotFound as exc:
        return error_response(404, exc.code, exc.message, headers=NO_STORE)
    except LinkGone as exc:
        return error_response(410, exc.code, exc.message, headers=NO_STORE)
    except Exception as exc:  # JSON with a request id, never a stack or a bare 500 page
        if is_database_outage(exc):
            return unavailable_response(state.settings.database_retry_after_seconds, exc)
        if isinstance(exc, DomainError):  # a data key this server cannot load, say
            return error_response(503, exc.code, exc.message, headers=NO_STORE)
        logger.error("unexpected %s (request %s)", type(exc).__name__, current_request_id())
        return error_response(500, ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)
    headers = {
        **NO_STORE,
        "Content-Disposition": f'attachment; filename="{FILENAME}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(done.document, media_type="application/json", headers=headers)


routes = [Route("/privacy/exports/{token}", export_download, methods=["GET"])]
