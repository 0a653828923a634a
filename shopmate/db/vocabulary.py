"""Catalog vocabulary shared by the seed, the catalog, product search and query parsing.

One place says what the store sells and how shoppers name it, in both languages:
categories (with their sizes, materials, brands, styles and complementary categories),
colours and materials. Materials are stored in Chinese; colours as English codes
("red"). Kept apart from seed.py so services can read it without importing Faker.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MaterialSpec:
    """One material, everywhere it is read: product search (a shopper's "纯棉的"), the
    grounding check of generated text, the catalog's stored values.

    `code` is its English name; `stored` the catalog's value ("真丝") when the catalog
    sells it; `words` name it specifically, in zh and en; `short` forms name it only
    where a material is expected (a query, "材质: 棉" in a product's facts) and are
    parts of other words elsewhere (棉袄, 皮鞋, 金色).
    """

    code: str
    stored: str | None
    words: tuple[str, ...]
    short: tuple[str, ...] = ()


MATERIALS: tuple[MaterialSpec, ...] = (
    # The catalog's materials.
    MaterialSpec("silk", "真丝", ("真丝", "丝绸", "桑蚕丝", "silk"), ("丝",)),
    MaterialSpec("cotton", "棉", ("纯棉", "全棉", "棉质", "棉布", "棉料", "cotton"), ("棉",)),
    MaterialSpec("chiffon", "雪纺", ("雪纺", "chiffon")),
    MaterialSpec("wool", "羊毛", ("羊毛", "wool", "woolen", "woollen", "merino")),
    MaterialSpec("linen", "亚麻", ("亚麻", "linen"), ("麻",)),
    MaterialSpec("denim", "牛仔布", ("牛仔布", "丹宁", "denim"), ("牛仔",)),
    MaterialSpec("mesh", "网布", ("网布", "mesh")),
    MaterialSpec("canvas", "帆布", ("帆布", "canvas")),
    MaterialSpec(
        "leather", "皮革", ("真皮", "牛皮", "羊皮", "皮革", "头层皮", "皮质", "leather"), ("皮",)
    ),
    MaterialSpec("plastic", "塑料", ("塑料", "plastic")),
    MaterialSpec("aluminium", "铝合金", ("铝合金", "aluminium", "aluminum"), ("铝",)),
    MaterialSpec("ceramic", "陶瓷", ("陶瓷", "ceramic", "porcelain"), ("瓷",)),
    # Materials a generated text may claim that the catalog does not sell.
    MaterialSpec("cashmere", None, ("羊绒", "cashmere")),
    MaterialSpec("polyester", None, ("涤纶", "聚酯纤维", "polyester"), ("聚酯",)),
    MaterialSpec("nylon", None, ("尼龙", "锦纶", "nylon")),
    MaterialSpec("modal", None, ("莫代尔", "modal")),
    MaterialSpec("spandex", None, ("氨纶", "spandex", "elastane", "lycra")),
    MaterialSpec("down", None, ("羽绒", "鹅绒", "鸭绒", "goose down", "duck down")),
    MaterialSpec("steel", None, ("不锈钢", "stainless steel")),
    MaterialSpec("wood", None, ("实木", "solid wood"), ("木",)),
    MaterialSpec("silicone", None, ("硅胶", "silicone")),
    MaterialSpec("gold", None, ("纯金", "黄金", "18k金", "solid gold", "18k gold"), ("金",)),
    MaterialSpec("silver", None, ("纯银", "925银", "sterling silver", "925 silver"), ("银",)),
)
NO_MATERIAL = "—"  # a product without one (e.g. cosmetics)
# The catalog's stored material -> its English name.
MATERIAL_EN: dict[str, str] = {
    **{m.stored: m.code for m in MATERIALS if m.stored},
    NO_MATERIAL: NO_MATERIAL,
}


@dataclass(frozen=True)
class ColorSpec:
    code: str  # stored value, e.g. "red"
    zh: str  # display name, e.g. "红色"
    words: tuple[str, ...]  # how shoppers write it (zh and en), longest first


COLORS: tuple[ColorSpec, ...] = (
    ColorSpec("red", "红色", ("红色", "大红", "酒红", "红", "red", "burgundy")),
    ColorSpec("black", "黑色", ("黑色", "黑", "black")),
    ColorSpec("white", "白色", ("白色", "纯白", "白", "white")),
    ColorSpec("blue", "蓝色", ("蓝色", "藏青", "蓝", "blue", "navy")),
    ColorSpec("green", "绿色", ("绿色", "墨绿", "绿", "green", "olive")),
    ColorSpec("beige", "米色", ("米色", "米白", "卡其", "beige", "cream", "khaki")),
    ColorSpec("pink", "粉色", ("粉色", "粉红", "粉", "pink")),
    ColorSpec("grey", "灰色", ("灰色", "灰", "grey", "gray")),
)
COLOR_BY_CODE: dict[str, ColorSpec] = {c.code: c for c in COLORS}

CLOTHING_SIZES = ("S", "M", "L", "XL", "XXL")
ONE_SIZE = "one-size"


@dataclass(frozen=True)
class CategorySpec:
    """One category of the catalog and how it is named, sized and sold.

    `styles` are (zh, en) product nouns that make a title ("碎花连衣裙" / "floral
    dress"); `synonyms` are other words shoppers use for the category; `complements`
    are the categories that "complete the look" of an item of this one.
    """

    code: str
    zh: str
    en: str
    synonyms: tuple[str, ...]
    brands: tuple[str, ...]
    materials: tuple[str, ...]
    sizes: tuple[str, ...]
    styles: tuple[tuple[str, str], ...]
    base_price: int  # yuan
    complements: tuple[str, ...] = ()
    # Materials of one style when not every material of the category fits it
    # (a ceramic mug, a cotton towel): style zh -> materials.
    style_materials: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def materials_of(self, style_zh: str) -> tuple[str, ...]:
        return dict(self.style_materials).get(style_zh, self.materials)


CATEGORY_SPECS: tuple[CategorySpec, ...] = (
    CategorySpec(
        "dresses",
        "连衣裙",
        "dress",
        ("裙子", "长裙", "短裙", "裙", "dresses", "frock", "gown"),
        ("Lumi", "森屿", "Veronica", "Aurora", "茉莉"),
        ("真丝", "棉", "雪纺", "亚麻"),
        CLOTHING_SIZES,
        (
            ("碎花连衣裙", "floral dress"),
            ("A字连衣裙", "A-line dress"),
            ("针织连衣裙", "knit dress"),
            ("吊带连衣裙", "slip dress"),
            ("衬衫连衣裙", "shirt dress"),
            ("长款连衣裙", "maxi dress"),
        ),
        299,
        ("casual_shoes", "bags"),
    ),
    CategorySpec(
        "tops",
        "上衣",
        "top",
        ("衣服", "tops", "blouse"),
        ("Lumi", "UrbanKnit", "初棉", "Breeze"),
        ("棉", "羊毛", "亚麻", "真丝"),
        CLOTHING_SIZES,
        (
            ("T恤", "T-shirt"),
            ("衬衫", "shirt"),
            ("卫衣", "hoodie"),
            ("毛衣", "sweater"),
            ("雪纺衫", "blouse"),
            ("背心", "tank top"),
        ),
        159,
        ("trousers", "casual_shoes"),
    ),
    CategorySpec(
        "trousers",
        "裤子",
        "trousers",
        ("长裤", "裤", "pants", "jeans"),
        ("UrbanKnit", "Stride", "Denimly", "初棉"),
        ("棉", "牛仔布", "羊毛", "亚麻"),
        CLOTHING_SIZES,
        (
            ("牛仔裤", "jeans"),
            ("阔腿裤", "wide-leg trousers"),
            ("休闲裤", "chinos"),
            ("西装裤", "suit trousers"),
            ("运动裤", "joggers"),
        ),
        199,
        ("tops", "casual_shoes"),
    ),
    CategorySpec(
        "running_shoes",
        "跑鞋",
        "running shoes",
        ("跑步鞋", "运动鞋", "慢跑鞋", "sneakers", "trainers", "runners"),
        ("Stride", "飞跃", "Velo", "Apex"),
        ("网布",),
        ("36", "37", "38", "39", "40", "41", "42", "43", "44"),
        (
            ("缓震跑鞋", "cushioned running shoes"),
            ("轻量跑鞋", "lightweight running shoes"),
            ("竞速跑鞋", "racing running shoes"),
            ("越野跑鞋", "trail running shoes"),
        ),
        399,
        ("trousers", "bags"),
    ),
    CategorySpec(
        "casual_shoes",
        "休闲鞋",
        "casual shoes",
        ("板鞋", "帆布鞋", "鞋子", "鞋", "shoes", "loafers"),
        ("Stride", "回力", "Walkr", "Veronica"),
        ("帆布", "皮革"),
        ("35", "36", "37", "38", "39", "40", "41", "42", "43"),
        (
            ("板鞋", "skate shoes"),
            ("乐福鞋", "loafers"),
            ("小白鞋", "white sneakers"),
            ("玛丽珍鞋", "Mary Jane shoes"),
            ("帆布鞋", "canvas shoes"),
        ),
        259,
        ("bags", "trousers"),
    ),
    CategorySpec(
        "bags",
        "包",
        "bag",
        ("包包", "手提包", "背包", "挎包", "bags", "handbag", "purse"),
        ("Carryall", "Veronica", "Lumi", "行囊"),
        ("皮革", "帆布"),
        (ONE_SIZE,),
        (
            ("托特包", "tote bag"),
            ("斜挎包", "crossbody bag"),
            ("双肩包", "backpack"),
            ("手提包", "handbag"),
            ("腋下包", "shoulder bag"),
        ),
        359,
        ("dresses", "casual_shoes"),
    ),
    CategorySpec(
        "electronics_accessories",
        "数码配件",
        "electronics accessory",
        ("数码", "配件", "electronics", "accessories", "gadget"),
        ("Voltix", "绿联", "Anko", "极点"),
        ("塑料", "铝合金"),
        (ONE_SIZE,),
        (
            ("充电器", "charger"),
            ("数据线", "charging cable"),
            ("充电宝", "power bank"),
            ("手机壳", "phone case"),
            ("蓝牙耳机", "bluetooth earbuds"),
            ("笔记本支架", "laptop stand"),
        ),
        89,
        ("electronics_accessories", "bags"),
        (
            ("充电器", ("塑料",)),
            ("数据线", ("塑料",)),
            ("蓝牙耳机", ("塑料",)),
            ("笔记本支架", ("铝合金",)),
        ),
    ),
    CategorySpec(
        "beauty",
        "美妆",
        "beauty",
        ("化妆品", "护肤品", "彩妆", "makeup", "cosmetics", "skincare"),
        ("Glow", "花西子", "Petal", "珀莱"),
        ("—",),
        (ONE_SIZE,),
        (
            ("口红", "lipstick"),
            ("粉底液", "foundation"),
            ("面霜", "face cream"),
            ("精华液", "serum"),
            ("防晒霜", "sunscreen"),
            ("眼影盘", "eyeshadow palette"),
        ),
        129,
        ("beauty",),
    ),
    CategorySpec(
        "home",
        "家居",
        "home",
        ("家居用品", "家纺", "homeware", "household"),
        ("Nest", "木本", "Hearth", "栖居"),
        ("棉", "陶瓷", "亚麻"),
        (ONE_SIZE,),
        (
            ("抱枕", "cushion"),
            ("马克杯", "mug"),
            ("床单", "bed sheet"),
            ("毛巾", "towel"),
            ("餐盘", "dinner plate"),
            ("香薰蜡烛", "scented candle"),
        ),
        99,
        ("home",),
        (
            ("抱枕", ("棉", "亚麻")),
            ("马克杯", ("陶瓷",)),
            ("床单", ("棉", "亚麻")),
            ("毛巾", ("棉",)),
            ("餐盘", ("陶瓷",)),
            ("香薰蜡烛", ("陶瓷",)),
        ),
    ),
)
CATEGORY_BY_CODE: dict[str, CategorySpec] = {c.code: c for c in CATEGORY_SPECS}
