"""The placeholder page for `/desk` until its own router replaces it (the wallboard is
`crm.supervisor.pages`; the login sends each person to one of these)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crm.people.service import Person
from crm.web.auth import page_user
from crm.web.templates import render

router = APIRouter(include_in_schema=False)


@router.get("/desk")
async def desk(
    request: Request, person: Annotated[Person, Depends(page_user("agent"))]
) -> Response:
    return render(request, "placeholder.html", {"title": "Desk"}, person=person)
