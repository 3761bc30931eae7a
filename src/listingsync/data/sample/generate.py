"""Regenerates products.csv beside this file: ``python generate.py`` (the CSV is committed).

62 records: home decoration and tote bags (all HOME: Amazon refuses to create products with the
generic PRODUCT type, error 4000004), a variation
family (MD-THRW-KNIT + 3 colours, theme COLOR), en/fr/de columns, images, EANs, prices and stock,
and deliberate errors so the demo shows invalid listings: MD-VASE-007 has no brand (required),
MD-CNDL-004 an origin outside the enum, MD-CUSH-009 a title over 200 characters, MD-KTCH-005 an EAN
with a wrong check digit.
"""

import csv
import io
import random
from pathlib import Path

rng = random.Random(7)


def ean13(prefix12: str) -> str:
    digits = [int(c) for c in prefix12]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return prefix12 + str((10 - total % 10) % 10)


COLS = [
    "sku",
    "parent_sku",
    "category",
    "brand",
    "manufacturer",
    "title_en",
    "title_fr",
    "title_de",
    "description_en",
    "description_fr",
    "description_de",
    "bullet1_en",
    "bullet1_fr",
    "bullet1_de",
    "bullet2_en",
    "bullet2_fr",
    "bullet2_de",
    "keywords_en",
    "keywords_fr",
    "keywords_de",
    "color_en",
    "color_fr",
    "color_de",
    "material_en",
    "material_fr",
    "material_de",
    "item_type",
    "browse_node",
    "model_number",
    "ean",
    "price",
    "list_price",
    "cost_price",
    "quantity",
    "handling_time",
    "weight",
    "size",
    "package_length",
    "package_width",
    "package_height",
    "package_weight",
    "country_of_origin",
    "variation_theme",
    "image_1",
    "image_2",
    "image_3",
]

COLORS = [
    ("Grey", "Gris", "Grau"),
    ("Ochre", "Ocre", "Ocker"),
    ("Sage", "Sauge", "Salbei"),
    ("Ivory", "Ivoire", "Elfenbein"),
    ("Navy", "Bleu marine", "Marineblau"),
    ("Terracotta", "Terre cuite", "Terrakotta"),
]
MATERIALS = [
    ("Cotton", "Coton", "Baumwolle"),
    ("Linen", "Lin", "Leinen"),
    ("Wool", "Laine", "Wolle"),
    ("Ceramic", "Céramique", "Keramik"),
    ("Glass", "Verre", "Glas"),
    ("Soy wax", "Cire de soja", "Sojawachs"),
    ("Leather", "Cuir", "Leder"),
]
KINDS = {
    "Cushions": (
        "CUSH",
        ("Cushion cover", "Housse de coussin", "Kissenbezug"),
        "throw-pillow-covers",
        "3557019031",
        0.3,
        0,
        1,
    ),
    "Throws": ("THRW", ("Throw blanket", "Plaid", "Wohndecke"), "throw-blankets", "3557020031", 1.1, 0, 3),
    "Candles": (
        "CNDL",
        ("Scented candle", "Bougie parfumée", "Duftkerze"),
        "candles",
        "3557029031",
        0.4,
        5,
        6,
    ),
    "Vases": ("VASE", ("Vase", "Vase", "Vase"), "vases", "3557036031", 0.9, 3, 5),
    "Kitchen": (
        "KTCH",
        ("Tea towel set", "Lot de torchons", "Geschirrtuch-Set"),
        "kitchen-towels",
        "3557046031",
        0.25,
        1,
        1,
    ),
    "Accessories": (
        "ACCS",
        ("Tote bag", "Sac cabas", "Einkaufstasche"),
        "tote-bags",
        "3557050031",
        0.35,
        6,
        6,
    ),
}
SIZES = {
    "Cushions": "45 x 45 cm",
    "Throws": "130 x 170 cm",
    "Candles": "200 g",
    "Vases": "30 cm",
    "Kitchen": "50 x 70 cm",
    "Accessories": "38 x 42 cm",
}
DIMS = {
    "Cushions": (46, 46, 3),
    "Throws": (40, 30, 12),
    "Candles": (10, 10, 12),
    "Vases": (20, 20, 34),
    "Kitchen": (25, 18, 3),
    "Accessories": (40, 30, 2),
}
COUNTRIES = ["FR", "PT", "DE", "IN", "ES", "IT"]
rows: list[dict[str, str]] = []
n = 0


def row(
    sku: str,
    category: str,
    i: int,
    *,
    color: tuple[str, str, str] | None = None,
    parent: str | None = None,
    theme: str = "",
) -> dict[str, str]:
    global n
    n += 1
    code, names, itype, node, weight, m0, m1 = KINDS[category]
    c = color or COLORS[i % len(COLORS)]
    m = MATERIALS[rng.randint(m0, m1)]
    price = round(rng.uniform(9, 89), 2) - 0.01
    r = dict.fromkeys(COLS, "")
    r.update(
        sku=sku,
        parent_sku=parent or "",
        category=category,
        brand="Maison Demo",
        manufacturer="Maison Demo SAS",
        title_en=f"Maison Demo {names[0]} {m[0]} {c[0]}",
        title_fr=f"Maison Demo {names[1]} {m[1]} {c[1]}",
        title_de=f"Maison Demo {names[2]} {m[2]} {c[2]}",
        description_en=f"{names[0]} in {m[0].lower()}, colour {c[0].lower()}. Designed in France.",
        description_fr=f"{names[1]} en {m[1].lower()}, coloris {c[1].lower()}. Conçu en France.",
        description_de=f"{names[2]} aus {m[2]}, Farbe {c[2]}. Entworfen in Frankreich.",
        bullet1_en=f"Made of {m[0].lower()}",
        bullet1_fr=f"En {m[1].lower()}",
        bullet1_de=f"Aus {m[2]}",
        bullet2_en="Designed in France",
        bullet2_fr="Conçu en France",
        bullet2_de="Entworfen in Frankreich",
        keywords_en=f"{names[0].lower()} {c[0].lower()} home decor",
        keywords_fr=f"{names[1].lower()} {c[1].lower()} déco maison",
        keywords_de=f"{names[2].lower()} {c[2].lower()} wohndeko",
        color_en=c[0],
        color_fr=c[1],
        color_de=c[2],
        material_en=m[0],
        material_fr=m[1],
        material_de=m[2],
        item_type=itype,
        browse_node=node,
        model_number=f"MD-{code}-{i:03d}",
        ean=ean13(f"376{n:09d}"),
        price=f"{price:.2f}",
        list_price=f"{price + 10:.2f}",
        cost_price=f"{price * 0.45:.2f}",
        quantity=str(rng.randint(0, 250)),
        handling_time=str(rng.randint(1, 4)),
        weight=f"{weight + rng.uniform(-0.05, 0.2):.2f}",
        size=SIZES[category],
        package_length=f"{DIMS[category][0]}",
        package_width=f"{DIMS[category][1]}",
        package_height=f"{DIMS[category][2]}",
        package_weight=f"{weight + 0.15:.2f}",
        country_of_origin=COUNTRIES[i % len(COUNTRIES)],
        variation_theme=theme,
        image_1=f"https://images.example.com/maison-demo/{sku.lower()}-1.jpg",
        image_2=f"https://images.example.com/maison-demo/{sku.lower()}-2.jpg",
        image_3=f"https://images.example.com/maison-demo/{sku.lower()}-3.jpg" if i % 2 else "",
    )
    rows.append(r)
    return r


for category, count in [
    ("Cushions", 12),
    ("Throws", 6),
    ("Candles", 10),
    ("Vases", 10),
    ("Kitchen", 8),
    ("Accessories", 12),
]:
    code = KINDS[category][0]
    for i in range(1, count + 1):
        row(f"MD-{code}-{i:03d}", category, i)
# The variation family: a parent (no barcode, no offer) and three colours.
p = row("MD-THRW-KNIT", "Throws", 100, theme="COLOR")
for k in (
    "ean",
    "price",
    "list_price",
    "cost_price",
    "quantity",
    "handling_time",
    "weight",
    "package_weight",
    "package_length",
    "package_width",
    "package_height",
    "color_en",
    "color_fr",
    "color_de",
    "image_3",
):
    p[k] = ""
p["description_en"] = "Chunky knit throw in soft wool, three colours. Designed in France."
p["description_fr"] = "Plaid grosse maille en laine douce, trois coloris. Conçu en France."
p["description_de"] = "Grobstrick-Wohndecke aus weicher Wolle, drei Farben. Entworfen in Frankreich."
p["material_en"], p["material_fr"], p["material_de"] = "Wool", "Laine", "Wolle"
p["title_en"], p["title_fr"], p["title_de"] = (
    "Maison Demo Chunky knit throw",
    "Maison Demo Plaid grosse maille",
    "Maison Demo Grobstrick-Wohndecke",
)
for j, c in enumerate(COLORS[:3]):
    ch = row(f"MD-THRW-KNIT-{c[0].upper()}", "Throws", 101 + j, color=c, parent="MD-THRW-KNIT")
    for k in (
        "brand",
        "manufacturer",
        "description_en",
        "description_fr",
        "description_de",
        "bullet2_en",
        "bullet2_fr",
        "bullet2_de",
        "bullet1_en",
        "bullet1_fr",
        "bullet1_de",
        "material_en",
        "material_fr",
        "material_de",
    ):
        ch[k] = ""  # inherited from the parent
    ch["title_en"] = f"Maison Demo Chunky knit throw, {c[0]}"
    ch["title_fr"] = f"Maison Demo Plaid grosse maille, {c[1]}"
    ch["title_de"] = f"Maison Demo Grobstrick-Wohndecke, {c[2]}"
# Deliberate errors, so the demo shows invalid listings.
bad = {r["sku"]: r for r in rows}
bad["MD-VASE-007"]["brand"] = ""  # a missing required value (brand)
bad["MD-CNDL-004"]["country_of_origin"] = "Atlantis"  # a value outside the schema's enum
long = "Maison Demo Coussin brodé main, " + "fleurs de lys, " * 12 + "édition limitée"
bad["MD-CUSH-009"]["title_en"] = bad["MD-CUSH-009"]["title_fr"] = bad["MD-CUSH-009"]["title_de"] = (
    long  # > 200 characters
)
bad["MD-KTCH-005"]["ean"] = bad["MD-KTCH-005"]["ean"][:-1] + str(
    (int(bad["MD-KTCH-005"]["ean"][-1]) + 1) % 10
)  # wrong check digit
out = io.StringIO()
w = csv.DictWriter(out, COLS, lineterminator="\n")
w.writeheader()
w.writerows(rows)
(Path(__file__).parent / "products.csv").open("w", encoding="utf-8").write(out.getvalue())
print(len(rows), len(long))
