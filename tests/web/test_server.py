"""The demo page's static server: what it serves and what it refuses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

from shopmate import payloads
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.identity import CustomerTokens, IdentityError
from shopmate.sessions import SessionTokens
from tests.conftest import PROJECT_ROOT, load_web_module, load_web_server, serving
from tests.factories import add_scenario

SESSION_SECRET = "w" * 40
SESSIONS = SessionTokens(SESSION_SECRET)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = load_web_server().build_server(
        "127.0.0.1", 0, "http://127.0.0.1:5005", session_secret=SESSION_SECRET
    )
    with serving(server) as url:
        yield url


def test_the_page_issues_signed_conversations(base_url: str) -> None:
    first = requests.post(f"{base_url}/session", timeout=5).json()
    second = requests.post(f"{base_url}/session", timeout=5).json()
    assert first["session_id"] != second["session_id"]
    assert SESSIONS.verify(first["session_token"]) == first["session_id"]
    # Only by POST: a GET (a link, a prefetch, a cache) never hands one out.
    assert requests.get(f"{base_url}/session", timeout=5).status_code == 404


def test_page_and_widget_are_served_with_security_headers(base_url: str) -> None:
    page = requests.get(f"{base_url}/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script src="/widget.js"' in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "ws://127.0.0.1:5005" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = requests.get(f"{base_url}/static/widget.js", timeout=5)
    assert script.headers["Content-Type"].startswith("application/javascript")


def test_config_names_the_rasa_server(base_url: str) -> None:
    assert requests.get(f"{base_url}/config.json", timeout=5).json() == {
        "rasaUrl": "http://127.0.0.1:5005",
        "socketPath": "/socket.io/",
    }


def test_socket_io_client_is_served_locally(base_url: str) -> None:
    reply = requests.get(f"{base_url}/vendor/socket.io.min.js", timeout=5)
    assert reply.status_code == 200, "run `make install` (npm ci in web/)"
    assert "io" in reply.text


@pytest.mark.parametrize(
    "path",
    ["/static/../server.py", "/static/%2e%2e/server.py", "/static/../../README.md", "/.env", "/x"],
)
def test_nothing_outside_static_is_served(base_url: str, path: str) -> None:
    assert requests.get(f"{base_url}{path}", timeout=5).status_code == 404


@pytest.fixture
def demo_url(database: Database) -> Iterator[str]:
    add_scenario(database)
    login = load_web_module("demo_login").DemoLogin(CustomerTokens("k" * 40), database)
    server = load_web_server().build_server(
        "127.0.0.1", 0, "http://127.0.0.1:5005", login, session_secret=SESSION_SECRET
    )
    with serving(server) as url:
        yield url


def demo_token(url: str, customer: str, session_token: str | None) -> requests.Response:
    headers = {"X-ShopMate-Session": session_token} if session_token else {}
    return requests.get(f"{url}/demo/token?customer={customer}", headers=headers, timeout=5)


def test_demo_login_signs_a_token_for_a_listed_customer_and_this_conversation_only(
    demo_url: str,
) -> None:
    customers = requests.get(f"{demo_url}/demo/customers.json", timeout=5).json()
    assert [c["id"] for c in customers] == [1, 2]
    assert "A2000001" in customers[1]["orders"]
    session_id, session_token = SESSIONS.issue()
    token = demo_token(demo_url, "2", session_token).json()["token"]
    tokens = CustomerTokens("k" * 40)
    assert tokens.verify(token, session_id) == 2
    with pytest.raises(IdentityError):
        tokens.verify(token, "another-conversation")


def test_demo_login_answers_the_same_for_missing_unlisted_and_unbound_requests(
    demo_url: str, database: Database
) -> None:
    _, session_token = SESSIONS.issue()
    forged = SessionTokens("z" * 40).issue()[1]
    answers = [
        demo_token(demo_url, bad, session_token)
        for bad in ["999", "3", "2000", "abc", "", "1;DROP"]
    ] + [demo_token(demo_url, "1", None), demo_token(demo_url, "1", forged)]
    assert {(a.status_code, a.text) for a in answers} == {(404, "not found\n")}


def test_demo_login_is_refused_off_loopback_and_in_production(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = load_web_module("demo_login").DemoLogin(CustomerTokens("k" * 40), database)
    web = load_web_server()
    with pytest.raises(ValueError, match="loopback"):
        web.build_server("0.0.0.0", 0, "http://127.0.0.1:5005", login)  # noqa: S104
    monkeypatch.setenv("SHOPMATE_PROFILE", "production")
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    with pytest.raises(SystemExit, match="production"):
        web.main(["--demo-login", "--port", "0"])
    monkeypatch.setenv("SHOPMATE_PROFILE", "dev")
    with pytest.raises(SystemExit, match="loopback"):
        web.main(["--demo-login", "--host", "0.0.0.0", "--port", "0"])  # noqa: S104


def test_demo_login_is_off_unless_asked_for(base_url: str) -> None:
    assert requests.get(f"{base_url}/demo/customers.json", timeout=5).status_code == 404
    assert requests.get(f"{base_url}/demo/token?customer=1", timeout=5).status_code == 404


# --- the shop's pages, read from the catalog -------------------------------------------


def shop_pages(database: Database) -> object:
    pages = load_web_module("shop_pages")
    return pages.ShopPages(pages.ShopCatalog(database))


@pytest.fixture
def shop_url(database: Database) -> Iterator[str]:
    add_scenario(database)
    server = load_web_server().build_server(
        "127.0.0.1",
        0,
        "http://127.0.0.1:5005",
        session_secret=SESSION_SECRET,
        shop=shop_pages(database),
    )
    with serving(server) as url:
        yield url


def test_the_home_page_shows_the_catalogs_products_with_images_and_links(shop_url: str) -> None:
    page = requests.get(f"{shop_url}/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in page.text
    # The scenario's two products (tests/factories.py), nothing hard-coded.
    for code, title, price in [("P1", "真丝连衣裙", "¥100.00"), ("P2", "托特包", "¥300.00")]:
        assert f'data-code="{code}"' in page.text
        assert f'href="/product/{code}"' in page.text
        assert f'src="/img/{code}.svg"' in page.text
        assert title in page.text
        assert price in page.text
    assert "无线降噪耳机" not in page.text
    # Embedded with the same one tag a store uses; no inline script.
    assert '<script src="/widget.js" data-lang="zh" defer></script>' in page.text
    assert "<script>" not in page.text
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]


def test_a_category_page_lists_that_category_only(shop_url: str) -> None:
    bags = requests.get(f"{shop_url}/?category=bags", timeout=5).text
    assert 'data-code="P2"' in bags
    assert 'data-code="P1"' not in bags
    # An unknown category is no filter (and is never echoed back).
    odd = requests.get(f"{shop_url}/?category=%3Cscript%3E", timeout=5)
    assert odd.status_code == 200
    assert 'data-code="P1"' in odd.text
    assert "<script>" not in odd.text


def test_a_product_page_shows_the_product_and_asks_about_it(shop_url: str) -> None:
    page = requests.get(f"{shop_url}/product/P1", timeout=5)
    assert page.status_code == 200
    assert '<h1 class="shop-product__title">真丝连衣裙</h1>' in page.text
    assert 'lang="en">Silk dress' in page.text
    # Colours and sizes of the variants; the blue one has no stock.
    assert "红色、蓝色（缺货）" in page.text
    assert "<dd>M L</dd>" in page.text
    assert "data-shopmate-open" in page.text
    assert "问问这件商品" in page.text
    assert "Ask about this product" in page.text
    # Every message from this page names the product (metadata page_product).
    assert 'data-product="P1"' in page.text
    assert 'data-product-title="真丝连衣裙"' in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/product/P999",
        "/product/P1%3Cx",
        "/product/" + "P" * 40,
        "/product/P1/x",
        "/img/P999.svg",
        "/img/P1.png",
        "/img/P1",
        "/img/..%2Fserver.py",
    ],
)
def test_unknown_products_and_pictures_are_not_found(shop_url: str, path: str) -> None:
    reply = requests.get(f"{shop_url}{path}", timeout=5)
    assert (reply.status_code, reply.text) == (404, "not found\n")


def test_product_pictures_are_generated_svg_the_same_every_time(shop_url: str) -> None:
    first = requests.get(f"{shop_url}/img/P1.svg", timeout=5)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "image/svg+xml"
    assert first.headers["Cache-Control"].startswith("public")
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.text.startswith("<svg ")
    assert "真丝连衣裙" in first.text
    assert requests.get(f"{shop_url}/img/P1.svg", timeout=5).text == first.text
    # P1's first variant is red, P2's black: the colour is the product's own.
    assert "#c92a2a" in first.text
    assert "#212529" in requests.get(f"{shop_url}/img/P2.svg", timeout=5).text


def test_catalog_text_is_escaped_in_pages_and_pictures(database: Database) -> None:
    add_scenario(database)
    hostile = "<img src=x onerror=alert(1)>\"&'"
    with database.session() as session:
        product = session.get(m.Product, 1)
        assert product is not None
        product.title_zh = hostile
        product.title_en = hostile
        product.description_en = "</script><script>alert(2)</script>"
        product.brand = '"><b>brand'
    pages = shop_pages(database)
    for text in [pages.home(), pages.product("P1"), pages.image("P1")]:  # type: ignore[attr-defined]
        assert text is not None
        assert "<img src=x" not in text
        assert "<script>alert" not in text
        assert '"><b>' not in text
        assert "&lt;img src=x" in text


def test_an_unreadable_catalog_leaves_the_page_and_the_assistant(tmp_path: Path) -> None:
    pages = shop_pages(Database(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables at all
    home = pages.home()  # type: ignore[attr-defined]
    assert "The catalog is unavailable" in home
    assert 'src="/widget.js"' in home


def test_the_widget_is_one_tag_away(base_url: str) -> None:
    script = requests.get(f"{base_url}/widget.js", timeout=5)
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert script.text == requests.get(f"{base_url}/static/widget.js", timeout=5).text
    # No catalog configured: the page is the static "any page" example, same one tag.
    page = requests.get(f"{base_url}/", timeout=5).text
    assert '<script src="/widget.js"' in page
    assert "/product/" not in page
    assert requests.get(f"{base_url}/product/P1", timeout=5).status_code == 404
    assert requests.get(f"{base_url}/img/P1.svg", timeout=5).status_code == 404


def test_the_widget_renders_no_markup_from_data() -> None:
    source = (PROJECT_ROOT / "web" / "static" / "widget.js").read_text(encoding="utf-8")
    for unsafe in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]:
        assert unsafe not in source, unsafe


# --- the conversation after a reload ---------------------------------------------------

DRESS = {
    "code": "P1",
    "title": "真丝连衣裙",
    "price": "¥100.00",
    "price_cents": 10000,
    "rating": 4.5,
    "image_url": "/img/P1.svg",
    "url": "/product/P1",
    "in_stock": True,
}
BAG = {**DRESS, "code": "P2", "title": "托特包", "in_stock": False}


def bot(text: str, custom: dict | None = None, **data: object) -> dict:
    return {"event": "bot", "text": text, "data": {"custom": custom, **data}, "metadata": {}}


def user(text: str) -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "x"}}}


def conversation_events() -> list[dict]:
    dress = payloads.product_card(DRESS, 1, 2, "zh")
    bag = payloads.product_card(BAG, 2, 2, "zh")
    order = payloads.order_card(
        {
            "number": "A1000002",
            "status": "in_transit",
            "status_label": "",
            "timeline": [{"time": "12-01 10:00", "location": "杭州", "description": "已揽收"}],
        },
        "en",
    )
    rating_buttons = [
        {"title": f"{n}", "payload": f'/rate_service{{"rating": {n}}}'} for n in (1, 2)
    ]
    return [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        user("我想买一件红色的连衣裙"),
        {"event": "slot", "name": "language", "value": "zh"},
        bot("1. 真丝连衣裙 · ¥100.00", payloads.custom(dress)),
        bot("2. 托特包 · ¥300.00", payloads.custom(bag)),
        user(dress["buttons"][0]["payload"]),
        bot("已把真丝连衣裙加入购物车。", buttons=[{"title": "去结算", "payload": "/checkout"}]),
        user("我的手机是13812345678"),
        {"event": "slot", "name": "language", "value": "en"},
        bot("Here is your order.", payloads.custom(order)),
        bot("How did I do?", buttons=rating_buttons),
        bot("", image="https://shop.example/img/x.png"),
        {"event": "action", "name": "action_listen"},
    ]


def test_the_history_is_what_the_widget_was_sent() -> None:
    history = load_web_module("chat_history")
    messages = history.widget_messages(conversation_events())
    assert [m["sender"] for m in messages] == ["user", "bot", "user", "bot", "user"] + ["bot"] * 3
    # The two product cards of one reply, as one carousel (the Socket.IO channel's way).
    carousel = messages[1]
    assert carousel["text"] == ""
    assert carousel["shopmate"]["type"] == "carousel"
    assert [item["code"] for item in carousel["shopmate"]["items"]] == ["P1", "P2"]
    assert carousel["shopmate"]["items"][0]["buttons"][0]["title"] == "加入购物车"
    # The button the shopper clicked shows as its title, as it did then.
    assert messages[2] == {"sender": "user", "text": "加入购物车"}
    assert messages[3]["buttons"] == [{"title": "去结算", "payload": "/checkout"}]
    # Phone digits masked, as the tracker store keeps them.
    assert "13812345678" not in messages[4]["text"]
    assert messages[5]["shopmate"]["type"] == "order_card"
    assert messages[5]["text"] == "Here is your order."
    # The satisfaction question is a rating, in the conversation's language then.
    assert messages[6]["shopmate"]["type"] == "rating"
    assert messages[6]["shopmate"]["language"] == "en"
    assert messages[7]["attachment"] == {
        "type": "image",
        "payload": {"src": "https://shop.example/img/x.png"},
    }


def test_a_carousel_cut_short_is_still_shown() -> None:
    history = load_web_module("chat_history")
    card = payloads.product_card(DRESS, 1, 3, "zh")
    messages = history.widget_messages([bot("1.", payloads.custom(card)), user("换个颜色")])
    assert messages[0]["shopmate"]["type"] == "carousel"
    assert messages[1] == {"sender": "user", "text": "换个颜色"}


class FakeRasa:
    """Rasa's HTTP API for two conversations; records what it was asked."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.asked: list[str] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url.path)
        if self.down:
            raise httpx.ConnectError("refused")
        if request.url.params.get("token") != self.token:
            return httpx.Response(401, json={"message": "unauthorized"})
        conversation = request.url.path.split("/")[2]
        events = conversation_events() if conversation == OWN else [user("别人的秘密")]
        return httpx.Response(200, json={"sender_id": conversation, "events": events})


OWN = "0" * 32


@pytest.fixture
def history_server() -> Iterator[tuple[str, FakeRasa]]:
    rasa = FakeRasa("rasa-token")
    history = load_web_module("chat_history").ConversationHistory(
        "http://rasa.test", "rasa-token", httpx.AsyncClient(transport=httpx.MockTransport(rasa))
    )
    server = load_web_server().build_server(
        "127.0.0.1", 0, "http://127.0.0.1:5005", session_secret=SESSION_SECRET, history=history
    )
    with serving(server) as url:
        yield url, rasa


def own_token() -> str:
    expires = int(time.time()) + 600
    return f"{OWN}.{expires}.{SESSIONS._mac(OWN, expires)}"


def test_history_returns_the_conversation_the_signed_token_names(
    history_server: tuple[str, FakeRasa],
) -> None:
    url, rasa = history_server
    reply = requests.post(f"{url}/history", headers={"X-ShopMate-Session": own_token()}, timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-cache"
    messages = reply.json()["messages"]
    assert messages[0] == {"sender": "user", "text": "我想买一件红色的连衣裙"}
    assert messages[1]["shopmate"]["type"] == "carousel"
    assert rasa.asked == [f"/conversations/{OWN}/tracker"]


def test_history_is_never_another_conversations(history_server: tuple[str, FakeRasa]) -> None:
    url, rasa = history_server
    forged = SessionTokens("z" * 40).issue()[1]
    expired = SESSIONS.issue(now=time.time() - 13 * 3600)[1]
    tampered = own_token()[:-2] + "xx"
    for headers in [
        {},
        {"X-ShopMate-Session": forged},
        {"X-ShopMate-Session": expired},
        {"X-ShopMate-Session": tampered},
        {"X-ShopMate-Session": OWN},
    ]:
        reply = requests.post(f"{url}/history", headers=headers, timeout=5)
        assert (reply.status_code, reply.text) == (404, "not found\n"), headers
    # A conversation id in the path or the query is not how one is named.
    assert requests.post(f"{url}/history?session_id=1", timeout=5).status_code == 404
    assert (
        requests.get(
            f"{url}/history", headers={"X-ShopMate-Session": own_token()}, timeout=5
        ).status_code
        == 404
    )
    assert rasa.asked == []  # Rasa was never asked for any of them


def test_history_without_rasa_is_empty_not_an_error_page(
    history_server: tuple[str, FakeRasa],
) -> None:
    url, rasa = history_server
    rasa.down = True
    reply = requests.post(f"{url}/history", headers={"X-ShopMate-Session": own_token()}, timeout=5)
    assert reply.status_code == 503
    assert reply.json() == {"messages": []}


def test_history_is_off_without_a_rasa_token(base_url: str) -> None:
    reply = requests.post(
        f"{base_url}/history", headers={"X-ShopMate-Session": own_token()}, timeout=5
    )
    assert (reply.status_code, reply.text) == (404, "not found\n")
