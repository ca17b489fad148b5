"""The simulated registry: the citizen-data service the gateway stands in front of, for tests and the bench.

    GET /v1/lookup/{data_kind}/{subject_kind}/{value}   200 {"subject_kind", "subject", "data_kind", "records"}
                                                        400 {"error"} malformed identifier or unknown kind
                                                        404 {"error"} a data kind the registry does not hold
    GET /stats                                          {"requests": N, "rejected": M}

``requests`` counts every lookup answered (``/stats`` itself is not counted), ``rejected`` those of them
answered 400 or 404. The world is loaded once, when the app is made; answers are built by
``records.World``. It has no authentication: it is what the gateway protects, and listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from custodiet.identifiers import InvalidIdentifier
from custodiet.simulate.registry.records import UnknownDataKind, World

WORLD_ENV = "CUSTODIET_REGISTRY_WORLD"


def _json(status: int, doc: object) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")), status, media_type="application/json")


def create_app(world: World | Path | str) -> Starlette:
    """The registry's ASGI app over ``world`` (a loaded ``World`` or a portal world folder)."""
    if not isinstance(world, World):
        world = World.load(Path(world))
    counts = {"requests": 0, "rejected": 0}

    async def lookup(request: Request) -> Response:
        counts["requests"] += 1
        p = request.path_params
        try:
            body = world.answer_bytes(p["data_kind"], p["subject_kind"], p["value"])
        except UnknownDataKind as exc:
            counts["rejected"] += 1
            return _json(404, {"error": str(exc)})
        except InvalidIdentifier as exc:
            counts["rejected"] += 1
            return _json(400, {"error": str(exc)})
        return Response(body, 200, media_type="application/json")

    async def stats(request: Request) -> Response:
        return _json(200, dict(counts))

    app = Starlette(routes=[Route("/v1/lookup/{data_kind}/{subject_kind}/{value}", lookup, methods=["GET"]),
                            Route("/stats", stats, methods=["GET"])])
    app.state.world = world
    return app


def from_env() -> Starlette:
    """App factory for ``uvicorn --factory custodiet.simulate.registry.app:from_env``: the world folder is
    ``$CUSTODIET_REGISTRY_WORLD``."""
    folder = os.environ.get(WORLD_ENV)
    if not folder:
        raise RuntimeError(f"set {WORLD_ENV} to a portal world folder")
    return create_app(Path(folder))
