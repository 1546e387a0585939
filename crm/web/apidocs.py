"""The OpenAPI pages `/docs` (Swagger UI) and `/redoc`, from vendored assets: FastAPI's
defaults load them from a CDN and show a blank page on a site without internet."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
VENDOR = "/static/vendor"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# The browser fetches nothing from another host: ReDoc's side menu shows Redocly's logo
# from their CDN whatever its options say (it hides the image when it fails to load).
# FastAPI's pages start Swagger UI and ReDoc with an inline script.
SAME_ORIGIN_ONLY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
}


def _same_origin_only(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(SAME_ORIGIN_ONLY)
    return response


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _same_origin_only(
        get_swagger_ui_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title} · Swagger UI",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            # Swagger UI would send the schema to validator.swagger.io for its badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _same_origin_only(
        get_redoc_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title} · ReDoc",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
    )
