"""``GET /privacy/exports/<token>``: a customer's data export, downloaded once.

The link itself is the credential (a browser or the app's download manager sends no bearer
token): 32 random bytes, stored only as SHA-256, valid a few minutes, used once
(``resolvers.privacy.export_job.download``). The answer is the JSON document as an
attachment, never cached; an unknown token is 404 NOT_FOUND, a used or run-out one 410
LINK_GONE, both in the API's JSON error shape.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.middleware import current_request_id
from api.responses import error_response
from api.state import AppState
from core.errors import LinkGone, NotFound
from resolvers.privacy.export_job import download

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FILENAME = "cardcrm-data-export.json"


async def export_download(request: Request) -> Response:
    state: AppState = request.app.state.cardcrm
    token = str(request.path_params["token"])
    async with state.database.session() as session:
        try:
            done = await download(
                session,
                ring=state.key_ring,
                token=token,
                request_id=current_request_id(),
                client_addr=request.client.host if request.client else None,
            )
        except NotFound as exc:
            return error_response(404, exc.code, exc.message, headers=NO_STORE)
        except LinkGone as exc:
            return error_response(410, exc.code, exc.message, headers=NO_STORE)
    headers = {
        **NO_STORE,
        "Content-Disposition": f'attachment; filename="{FILENAME}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(done.document, media_type="application/json", headers=headers)


routes = [Route("/privacy/exports/{token}", export_download, methods=["GET"])]
