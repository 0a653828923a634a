"""The demo shop's own pages, read from the catalog the assistant knows (shopmate core).

- ``/`` (``ShopPages.home``): a grid of a dozen products across the categories (or of
  one category, ``/?category=dresses``), each with its image, price, rating and a link
  to its page.
- ``/product/<code>`` (``ShopPages.product``): one product, its colours, sizes and
  description, and a "问问这件商品 / Ask about this product" button that opens the chat
  about it: the page's widget tag carries ``data-product``, so every message the shopper
  sends there names this product (metadata ``page_product``).
- ``/img/<code>.svg`` (``ShopPages.image``): a generated placeholder picture per product
  (the demo catalog's image_url), its colour decided by the product's colour or category
  and its title, so the same product always looks the same.

Every value from the database goes through ``html.escape`` (pages and SVG alike); the
pages carry no inline script or style (the page's CSP allows neither), the widget is
embedded with the same one script tag a store would use (docs/channels.md). Blocking:
the page's server calls these in a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from shopmate.catalog import ProductRecord, record_of
from shopmate.choices import color_label
from shopmate.db import models as m
from shopmate.db.session import Database
from shopmate.db.vocabulary import CATEGORY_BY_CODE, CATEGORY_SPECS

logger = logging.getLogger("shopmate.web")

FEATURED = 12
# A product code in a path: what the catalog stores ("P00012", "P1"); anything else is
# not looked up at all.
CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
ONE_SIZE = "one-size"

# Placeholder colours: (background, second stop, ink) per catalog colour code.
SWATCHES: dict[str, tuple[str, str, str]] = {
    "red": ("#c92a2a", "#ff8787", "#ffffff"),
    "black": ("#212529", "#6c757d", "#ffffff"),
    "white": ("#dee2e6", "#f8f9fa", "#343a40"),
    "blue": ("#1864ab", "#74c0fc", "#ffffff"),
    "green": ("#2b8a3e", "#8ce99a", "#ffffff"),
    "beige": ("#b08968", "#f1e3d3", "#3b2f24"),
    "pink": ("#c2255c", "#fcc2d7", "#ffffff"),
    "grey": ("#495057", "#ced4da", "#ffffff"),
}


def valid_code(code: str) -> bool:
    return bool(CODE.fullmatch(code))


def price_text(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def image_path(record: ProductRecord) -> str:
    """Where the page shows the product's picture: the catalog's own path when it is
    one on this server ("/img/P00012.svg"), else the generated placeholder (the page's
    CSP allows only its own images)."""
    url = record.image_url or ""
    if url.startswith("/") and not url.startswith("//"):
        return url
    return f"/img/{quote(record.code, safe='')}.svg"


def product_path(record: ProductRecord) -> str:
    return f"/product/{quote(record.code, safe='')}"


def category_names(code: str) -> tuple[str, str]:
    spec = CATEGORY_BY_CODE.get(code)
    return (spec.zh, spec.en) if spec else (code, code)


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def _hsl(hue: int, saturation: int, lightness: int) -> str:
    return f"hsl({hue % 360}, {saturation}%, {lightness}%)"


def placeholder_colors(record: ProductRecord) -> tuple[str, str, str]:
    """(background, second stop, ink): the product's first colour when the catalog
    knows it, else a hue of its category shifted by its title. Deterministic."""
    colour = record.colors[0] if record.colors else ""
    if colour in SWATCHES:
        return SWATCHES[colour]
    digest = _digest(record.category, record.title_zh, record.title_en)
    hue = _digest(record.category)[0] * 360 // 256 + (digest[0] % 40) - 20
    return _hsl(hue, 55, 38), _hsl(hue + 25, 70, 72), "#ffffff"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def placeholder_svg(record: ProductRecord) -> str:
    """A 480×360 picture: a gradient in the product's colour, its category and title."""
    background, second, ink = placeholder_colors(record)
    digest = _digest(record.code, record.title_zh)
    cx, cy, radius = 300 + digest[1] % 120, 90 + digest[2] % 110, 70 + digest[3] % 60
    zh, en = category_names(record.category)
    title = escape(_short(record.title_zh or record.title_en, 13))
    subtitle = escape(_short(record.title_en, 30))
    label = escape(f"{zh} · {en}")
    alt = escape(f"{record.title_zh} / {record.title_en}")
    font = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 480 360" width="480" height="360"'
        f' role="img" aria-label="{alt}">'
        f"<title>{alt}</title>"
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{second}"/><stop offset="1" stop-color="{background}"/>'
        "</linearGradient></defs>"
        '<rect width="480" height="360" fill="url(#g)"/>'
        f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="{ink}" fill-opacity="0.14"/>'
        f'<g fill="{ink}" font-family="{font}">'
        f'<text x="32" y="56" font-size="20" fill-opacity="0.85">{label}</text>'
        f'<text x="32" y="270" font-size="30" font-weight="700">{title}</text>'
        f'<text x="32" y="314" font-size="22" fill-opacity="0.85">{subtitle}</text>'
        "</g></svg>"
    )


@dataclass
class ShopCatalog:
    """The products the pages show, read through the shopmate core's read model."""

    database: Database

    def featured(self, category: str | None = None, limit: int = FEATURED) -> list[ProductRecord]:
        """Up to `limit` products: the first of each category in turn (catalog order),
        or the first of one category."""
        variants = selectinload(m.Product.variants)
        with self.database.session() as session:
            if category:
                rows = session.scalars(
                    select(m.Product)
                    .where(m.Product.category == category)
                    .options(variants)
                    .order_by(m.Product.id)
                    .limit(limit)
                )
                return [record_of(product) for product in rows]
            categories = session.scalars(
                select(m.Product.category)
                .group_by(m.Product.category)
                .order_by(func.min(m.Product.id))
            ).all()
            each = -(-limit // max(1, len(categories)))
            columns = [
                [
                    record_of(product)
                    for product in session.scalars(
                        select(m.Product)
                        .where(m.Product.category == name)
                        .options(variants)
                        .order_by(m.Product.id)
                        .limit(each)
                    )
                ]
                for name in categories
            ]
        picked = [column[row] for row in range(each) for column in columns if row < len(column)]
        return picked[:limit]

    def categories(self) -> list[str]:
        with self.database.session() as session:
            present = set(session.scalars(select(m.Product.category).distinct()))
        return [spec.code for spec in CATEGORY_SPECS if spec.code in present]

    def product(self, code: str) -> ProductRecord | None:
        if not valid_code(code):
            return None
        with self.database.session() as session:
            found = session.scalars(
                select(m.Product)
                .where(m.Product.code == code)
                .options(selectinload(m.Product.variants))
            ).first()
            return record_of(found) if found is not None else None


# ---------------------------------------------------------------- HTML


def _nav(categories: Sequence[str], current: str | None) -> str:
    links = []
    for code in categories:
        zh, en = category_names(code)
        here = ' aria-current="page"' if code == current else ""
        links.append(
            f'<a href="/?category={quote(code, safe="")}"{here}>{escape(zh)}'
            f' <span lang="en">{escape(en.title())}</span></a>'
        )
    everything = "" if current else ' aria-current="page"'
    return (
        '<nav class="shop-nav" aria-label="分类 Categories">'
        f'<a href="/"{everything}>全部 <span lang="en">All</span></a>' + "".join(links) + "</nav>"
    )


def widget_tag(product: ProductRecord | None = None) -> str:
    """The one tag that embeds the assistant (what a store puts on its pages)."""
    attributes = ""
    if product is not None:
        attributes = (
            f' data-product="{escape(product.code)}"'
            f' data-product-title="{escape(product.title_zh)}"'
            f' data-product-title-en="{escape(product.title_en)}"'
        )
    return f'<script src="/widget.js" data-lang="zh"{attributes} defer></script>'


# Filled by demo-login.js when the server runs with --demo-login; hidden otherwise.
DEMO_LOGIN = """<label class="shop-demo-login" id="demo-login" hidden>
        <span>演示登录 <span lang="en">Demo login</span></span>
        <select id="demo-customer">
          <option value="">访客 Guest</option>
        </select>
      </label>"""


def layout(
    title: str,
    body: str,
    categories: Sequence[str],
    current: str | None = None,
    product: ProductRecord | None = None,
) -> str:
    """A page of the demo shop around `body` (already escaped HTML)."""
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>{escape(title)}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/shop.css">
  <script src="/static/demo-login.js" defer></script>
  {widget_tag(product)}
</head>
<body>
  <a class="shop-skip" href="#main">跳到内容 <span lang="en">Skip to content</span></a>
  <header class="shop-header">
    <div class="shop-header__inner">
      <a class="shop-logo" href="/">
        <span class="shop-logo__mark" aria-hidden="true">S</span>
        <span class="shop-logo__text">
          <span class="shop-logo__zh">ShopMate 演示商店</span>
          <span class="shop-logo__en" lang="en">ShopMate Demo Store</span>
        </span>
      </a>
      {_nav(categories, current)}
      {DEMO_LOGIN}
    </div>
  </header>
  <main id="main" class="shop-main">
{body}
  </main>
  <footer class="shop-footer">
    <p>仅供演示：商品来自演示目录，图片为生成的示意图。
      <span lang="en">Demo only: products from the demo catalog, pictures are generated.</span></p>
  </footer>
</body>
</html>
"""


def _rating(record: ProductRecord) -> str:
    if not record.rating:
        return ""
    return (
        f'<span class="shop-rating" aria-label="评分 {record.rating:.1f} / 5">'
        f'<span aria-hidden="true">★ {record.rating:.1f}</span></span>'
    )


def _sold_out(record: ProductRecord) -> str:
    if record.in_stock:
        return ""
    return '<span class="shop-soldout">售罄 <span lang="en">Sold out</span></span>'


def product_tile(record: ProductRecord) -> str:
    href = escape(product_path(record))
    return f"""      <li class="shop-tile" data-code="{escape(record.code)}">
        <a class="shop-tile__link" href="{href}">
          <img class="shop-tile__img" src="{escape(image_path(record))}" alt=""
               width="480" height="360" loading="lazy">
          <h2 class="shop-tile__title">{escape(record.title_zh)}</h2>
        </a>
        <p class="shop-tile__en" lang="en">{escape(record.title_en)}</p>
        <p class="shop-tile__meta">
          <span class="shop-tile__price">{price_text(record.price_cents)}</span>
          {_rating(record)} {_sold_out(record)}</p>
      </li>"""


def home_body(products: Sequence[ProductRecord], category: str | None, notice: str = "") -> str:
    if category:
        zh, en = category_names(category)
        heading = f'{escape(zh)} <span lang="en">{escape(en.title())}</span>'
    else:
        heading = '精选商品 <span lang="en">Featured products</span>'
    tiles = "\n".join(product_tile(record) for record in products)
    empty = (
        "" if products else '<p class="shop-empty">暂无商品 <span lang="en">No products</span></p>'
    )
    notice_html = f'<p class="shop-empty" role="status">{escape(notice)}</p>' if notice else ""
    return f"""    <section class="shop-hero">
      <p class="shop-hero__eyebrow">演示页面 · <span lang="en">Demo page</span></p>
      <h1>好物精选，购物有问题随时问助手</h1>
      <p class="shop-hero__en" lang="en">Hand-picked goods. Questions about sizes, shipping,
        returns or your order? Ask the assistant.</p>
      <p class="shop-hero__hint">点击右下角的聊天按钮开始对话 ·
        <span lang="en">Click the chat button in the lower right to start.</span></p>
    </section>
    <section class="shop-section" aria-labelledby="products-title">
      <h2 id="products-title" class="shop-section__title">{heading}</h2>
      {notice_html}{empty}
      <ul id="products" class="shop-grid">
{tiles}
      </ul>
    </section>"""


def _choices(record: ProductRecord) -> tuple[str, str]:
    """Colours (zh) and sizes, each marked where no variant of it is in stock."""
    colours = "、".join(
        f"{color_label(c, 'zh')}" + ("" if c in record.colors_in_stock else "（缺货）")
        for c in record.colors
    )
    sizes = [s for s in record.sizes if s != ONE_SIZE]
    size_text = " ".join(s + ("" if s in record.sizes_in_stock else "（缺货）") for s in sizes)
    return colours, size_text


def product_body(record: ProductRecord) -> str:
    zh, en = category_names(record.category)
    colours, sizes = _choices(record)
    colours_en = ", ".join(
        color_label(c, "en") + ("" if c in record.colors_in_stock else " (out of stock)")
        for c in record.colors
    )
    rows = [("品牌", "Brand", escape(record.brand))]
    if record.material:
        rows.append(("材质", "Material", escape(record.material)))
    if colours:
        rows.append(
            ("颜色", "Colours", f'{escape(colours)} <span lang="en">{escape(colours_en)}</span>')
        )
    if sizes:
        rows.append(("尺码", "Sizes", escape(sizes)))
    facts = "\n".join(
        f'          <div><dt>{a} <span lang="en">{b}</span></dt><dd>{value}</dd></div>'
        for a, b, value in rows
    )
    stock = (
        '<span class="shop-instock">有货 <span lang="en">In stock</span></span>'
        if record.in_stock
        else _sold_out(record)
    )
    return f"""    <nav class="shop-crumbs" aria-label="位置 Breadcrumb">
      <a href="/">全部商品 <span lang="en">All products</span></a> ›
      <a href="/?category={quote(record.category, safe="")}">{escape(zh)}
        <span lang="en">{escape(en.title())}</span></a>
    </nav>
    <article class="shop-product" data-code="{escape(record.code)}">
      <img class="shop-product__img" src="{escape(image_path(record))}"
           alt="{escape(record.title_zh)}" width="480" height="360">
      <div class="shop-product__info">
        <h1 class="shop-product__title">{escape(record.title_zh)}</h1>
        <p class="shop-product__en" lang="en">{escape(record.title_en)}</p>
        <p class="shop-product__meta">
          <span class="shop-tile__price">{price_text(record.price_cents)}</span>
          {_rating(record)} {stock}</p>
        <dl class="shop-facts">
{facts}
        </dl>
        <button type="button" class="shop-ask" data-shopmate-open>问问这件商品
          <span lang="en">Ask about this product</span></button>
        <p class="shop-product__desc">{escape(record.description_zh)}</p>
        <p class="shop-product__desc" lang="en">{escape(record.description_en)}</p>
        <p class="shop-product__code">商品编号 <span lang="en">Code</span>:
          {escape(record.code)}</p>
      </div>
    </article>"""


@dataclass
class ShopPages:
    """What web/server.py serves for the shop (its ShopService): HTML and SVG text."""

    catalog: ShopCatalog

    @classmethod
    def from_settings(cls) -> ShopPages:
        from shopmate.settings import get_settings  # DATABASE_URL, as the actions read it

        return cls(ShopCatalog(Database(get_settings().database_url)))

    def home(self, category: str | None = None) -> str:
        """The product grid; an unreadable catalog gives the page with a notice (the
        assistant still works)."""
        category = category if category in CATEGORY_BY_CODE else None
        try:
            categories = self.catalog.categories()
            products = self.catalog.featured(category)
            notice = ""
        except SQLAlchemyError as error:
            logger.warning("catalog unavailable: %s", type(error).__name__)
            categories, products = [], []
            notice = "商品目录暂时无法读取。 The catalog is unavailable right now."
        title = "ShopMate 演示商店 · Demo Store"
        return layout(title, home_body(products, category, notice), categories, category)

    def product(self, code: str) -> str | None:
        record = self.catalog.product(code)
        if record is None:
            return None
        title = f"{record.title_zh} · {record.title_en} · ShopMate"
        return layout(
            title, product_body(record), self.catalog.categories(), record.category, record
        )

    def image(self, code: str) -> str | None:
        record = self.catalog.product(code)
        return placeholder_svg(record) if record is not None else None
