"""Login, logout, lock-out and the session cookie, over HTTP on both databases."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core.settings import WebSettings
from crm.web.session import SecretUnavailable, session_secret
from tests.people.conftest import PASSWORD, SECRET, Site

GENERIC = "Неверный логин или пароль, либо учётная запись заблокирована."


@pytest.mark.parametrize(
    ("role", "agent", "home"), [("supervisor", "", "/wallboard"), ("agent", "agent07", "/desk")]
)
async def test_each_role_lands_on_its_page(site: Site, role: str, agent: str, home: str) -> None:
    await site.add("ivanova", role, agent)
    response = await site.login("ivanova")
    assert response.status_code == 303
    assert response.headers["location"] == home
    page = await site.http.get(home)
    assert page.status_code == 200
    assert "Ivanova Person" in page.text
    assert (await site.http.get("/")).headers["location"] == home


async def test_wrong_password_and_unknown_login_get_one_message_and_are_counted(site: Site) -> None:
    await site.add("petrov")
    wrong = await site.login("petrov", "not the password")
    unknown = await site.login("nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert GENERIC in response.text
        assert "set-cookie" not in response.headers or "uid" not in response.headers["set-cookie"]
    assert 'value="petrov"' in wrong.text, "the login typed is kept in the form"
    user = await site.people.find("petrov")
    assert user is not None and user.failed_logins == 1
    # a good login clears the count
    assert (await site.login("petrov")).status_code == 303
    user = await site.people.find("petrov")
    assert user is not None and user.failed_logins == 0


async def test_repeated_failures_lock_the_login_even_for_the_right_password(site: Site) -> None:
    await site.add("sidorov")
    for _ in range(3):  # login_max_failures = 3 in these tests
        assert (await site.login("sidorov", "guess-guess")).status_code == 401
    user = await site.people.find("sidorov")
    assert user is not None and user.locked_until is not None
    locked = await site.login("sidorov")
    assert locked.status_code == 401 and GENERIC in locked.text
    site.clock.advance(601)
    assert (await site.login("sidorov")).status_code == 303


async def test_logout_needs_the_csrf_token_and_ends_the_session(site: Site) -> None:
    await site.add("kuznetsova")
    await site.login("kuznetsova")
    assert (await site.http.post("/logout", data={})).status_code == 403
    assert (await site.http.get("/wallboard")).status_code == 200
    token = await site.csrf("/wallboard")
    out = await site.http.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    after = await site.http.get("/wallboard")
    assert after.status_code == 303
    assert after.headers["location"] == "/login?next=/wallboard"


async def test_a_copy_of_the_cookie_is_worthless_after_logout(site: Site) -> None:
    await site.add("kopiya")
    await site.login("kopiya")
    copied = site.http.cookies["hotline_session"]
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as thief:
        headers = {"Cookie": f"hotline_session={copied}"}
        assert (await thief.get("/api/tickets", headers=headers)).status_code == 200
        token = await site.csrf("/wallboard")
        await site.http.post("/logout", data={"csrf_token": token})
        assert (await thief.get("/api/tickets", headers=headers)).status_code == 401
        assert (await thief.get("/wallboard", headers=headers)).status_code == 303


async def test_session_cookie_is_signed_httponly_lax_and_secure_over_https(site: Site) -> None:
    await site.add("smirnov")
    response = await site.login("smirnov")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hotline_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    # the same app reached over HTTPS marks its cookie Secure
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://crm") as https:
        page = await https.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
    # the signed cookie works from another client; tampered, it is no session
    value = site.http.cookies["hotline_session"]
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as other:
        good = await other.get("/wallboard", headers={"Cookie": f"hotline_session={value}"})
        assert good.status_code == 200
        forged = value[:-6] + ("AAAAAA" if not value.endswith("AAAAAA") else "BBBBBB")
        bad = await other.get("/wallboard", headers={"Cookie": f"hotline_session={forged}"})
        assert bad.status_code == 303


async def test_login_never_redirects_to_another_site(site: Site) -> None:
    await site.add("orlov")
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = await site.login("orlov", next=evil)
        assert response.headers["location"] == "/wallboard", evil
        await site.http.post("/logout", data={"csrf_token": await site.csrf("/wallboard")})
    response = await site.login("orlov", next="/wallboard?queue=hotline")
    assert response.headers["location"] == "/wallboard?queue=hotline"


async def test_login_without_the_forms_csrf_token_is_refused_and_not_counted(site: Site) -> None:
    await site.add("volkov")
    response = await site.http.post("/login", data={"username": "volkov", "password": PASSWORD})
    assert response.status_code == 400
    user = await site.people.find("volkov")
    assert user is not None and user.failed_logins == 0


async def test_agent_cannot_open_a_supervisor_page_and_strangers_go_to_login(site: Site) -> None:
    anonymous = await site.http.get("/wallboard?big=1")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/wallboard%3Fbig%3D1"
    await site.add("agent-a", "agent", "agent01")
    await site.login("agent-a")
    refused = await site.http.get("/wallboard")
    assert refused.status_code == 403
    assert "Эта страница не для вашей роли." in refused.text


async def test_a_new_password_or_disabling_ends_open_sessions(site: Site) -> None:
    await site.add("lebedev")
    await site.login("lebedev")
    assert (await site.http.get("/wallboard")).status_code == 200
    site.clock.advance(1)
    await site.people.set_password("lebedev", "another password")
    assert (await site.http.get("/wallboard")).status_code == 303
    assert (await site.login("lebedev", "another password")).status_code == 303
    site.clock.advance(1)
    await site.people.disable("lebedev")
    assert (await site.http.get("/wallboard")).status_code == 303
    assert (await site.login("lebedev", "another password")).status_code == 401


async def test_language_choice_is_kept_for_the_person(site: Site) -> None:
    await site.add("novikov")
    page = await site.http.get("/login")
    assert '<html lang="ru"' in page.text and "Войти" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    await site.login("novikov")
    token = await site.csrf("/wallboard")
    switched = await site.http.post(
        "/language", data={"language": "en", "csrf_token": token, "next": "/wallboard"}
    )
    assert switched.headers["location"] == "/wallboard"
    assert "Log out" in (await site.http.get("/wallboard")).text
    user = await site.people.find("novikov")
    assert user is not None and user.language == "en"
    # the next login, from a fresh browser, is in English too
    site.http.cookies.clear()
    await site.login("novikov")
    assert "Log out" in (await site.http.get("/wallboard")).text


def test_the_session_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "hotline-session.key"
    first = session_secret(WebSettings(session_secret_file=str(path)))
    assert len(first) >= 32 and path.stat().st_mode & 0o777 == 0o600
    assert session_secret(WebSettings(session_secret_file=str(path))) == first
    assert session_secret(WebSettings(session_secret=SECRET)) == SECRET
    with pytest.raises(SecretUnavailable, match="HOTLINE_SESSION_SECRET"):
        session_secret(WebSettings(session_secret_file=str(tmp_path / "no" / "such" / "dir")))
    with pytest.raises(ValueError, match="placeholder or shorter"):
        WebSettings(session_secret="changeme")


async def test_ensure_person_creates_once_and_resets_the_password(site: Site) -> None:
    first = await site.people.ensure_person("demo-sup", "first-password", "supervisor")
    again = await site.people.ensure_person("demo-sup", "second-password", "supervisor")
    assert first.id == again.id
    assert (await site.login("demo-sup", "first-password")).status_code == 401
    assert (await site.login("demo-sup", "second-password")).status_code == 303
