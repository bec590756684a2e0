"""``create_app()``: the Starlette application with its routes, GraphQL view and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from api import auth_routes, export_routes, metrics, oauth_routes
from api.body_limit import BodyLimitMiddleware
from api.explorer import explorer_routes
from api.graphql_view import CardcrmGraphQL
from api.middleware import RequestIdMiddleware
from api.observability import RequestLogMiddleware, metrics_endpoint
from api.rate_limit import create_rate_limiter
from api.readiness import DatabaseProbe
from api.responses import OrjsonResponse, routing_error_response
from api.runtime import tune_garbage_collector
from api.state import AppState, build_state, serving_timeouts
from auth.audit_checkpoint import ChainBroken, CheckpointSigner, checkpoint_signer, write_checkpoint
from core.settings import Settings, get_settings
from resolvers.events.delivery import Worker

logger = logging.getLogger("cardcrm")


async def healthz(request: Request) -> Response:
    return OrjsonResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """503 within ``readiness_timeout_seconds`` when the database does not answer."""
    probe: DatabaseProbe = request.app.state.readiness
    if not await probe.answers():
        return OrjsonResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return OrjsonResponse({"status": "ok", "database": "ok"})


async def _checkpoint_forever(state: AppState, signer: CheckpointSigner, seconds: float) -> None:
    """Anchors the audit chain on a schedule: a signed checkpoint whenever it has grown, also
    written to the log so that a copy lives outside the database."""
    while True:
        await asyncio.sleep(seconds)
        try:
            async with state.database.session() as session:
                checkpoint = await write_checkpoint(session, signer, only_if_moved=True)
        except ChainBroken as broken:
            logger.error("audit chain does not extend its last checkpoint: %s", broken)
            continue
        except Exception:
            logger.warning("could not write an audit checkpoint; trying again later")
            continue
        if checkpoint is not None:
            logger.info("audit checkpoint: %s", checkpoint.line())


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = await build_state(settings, timeouts=serving_timeouts(settings))
        app.state.cardcrm = state
        app.state.readiness = DatabaseProbe(state.database, settings.readiness_timeout_seconds)
        await graphql.persisted.load_manifests(settings.persisted_manifests)
        if graphql.compiled is not None:  # the first request of a known operation is not slower
            known = await graphql.persisted.store.listed_texts()
            planned = graphql.compiled.plan_ahead(known, state.database.engine.dialect)
            logger.info("planned %d persisted operations ahead", planned)
        app.state.rate_limiter = create_rate_limiter(settings)
        metrics.watch_pool(state.database.engine)
        # Instances seal under a rotated data key soon after it is added (api/key_ring.py).
        reloader = asyncio.create_task(state.keys.watch(settings.key_check_seconds))
        anchoring = settings.audit_checkpoint_minutes * 60
        checkpointer = asyncio.create_task(
            _checkpoint_forever(state, checkpoint_signer(settings), anchoring)
            if anchoring
            else asyncio.sleep(0)
        )
        # The webhook delivery worker (resolvers/events/delivery.py), when this instance runs one.
        stop_delivery = asyncio.Event()
        deliverer = asyncio.create_task(
            Worker(state.database, lambda: state.key_ring, settings).run(stop=stop_delivery)
            if settings.events_deliver_in_serve
            else asyncio.sleep(0)
        )
        tune_garbage_collector(settings.gc_young_threshold)
        try:
            yield
        finally:
            stop_delivery.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(deliverer, settings.events_timeout_seconds + 1)
            for task in (reloader, checkpointer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.readiness.close()
            await state.broker.close()
            await graphql.persisted.store.close()
            await app.state.rate_limiter.close()
            await state.oidc.aclose()
            await state.database.dispose()
            metrics.process_exiting()

    from api.graphql_schema import schema

    graphql = CardcrmGraphQL(schema, settings=settings)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *auth_routes.routes,
        *oauth_routes.routes,
        *export_routes.routes,
        *explorer_routes(settings),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            RequestLogMiddleware,
            paths=frozenset(r.path for r in routes if isinstance(r, Route | WebSocketRoute)),
            max_operation_names=settings.metrics_max_operation_names,
        ),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: routing_error_response},
    )
