"""``mapping suggest`` on a Sales Layer export it was not developed against, and on other PIMs' names.

The export (``data/saleslayer_export.yaml``) follows Sales Layer's connector conventions: table
prefixes ``product_``/``format_``, per-language columns ``<base>_<lang>``, ``_kg``/``_eur``
suffixes and ``ID_<table>`` links. It is served by the fake connector API over loopback and read
through the real Sales Layer source, as a user's would be.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from listingsync.cli import app
from listingsync.config import load_config
from listingsync.emulator import EmulatorSettings, run_in_thread
from listingsync.mapping.suggest import suggest_attributes, suggest_identifier
from listingsync.schema.product_type import bundled_schema_files

EXPORT = Path(__file__).parent / "data" / "saleslayer_export.yaml"
SECRET = "fedcba9876543210fedcba9876543210"


def _home_schema() -> dict[str, object]:
    import json

    path = next(p for p in bundled_schema_files() if p.name == "HOME-fr.json")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_saleslayer_export_gets_the_right_field_for_each_core_attribute(tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    out = tmp_path / "mapping.yaml"
    with run_in_thread(EmulatorSettings(saleslayer_file=EXPORT)) as server:
        config.write_text(
            "account: {type: vendor, selling_partner_id: DEMOV, marketplaces: [FR, DE]}\n"
            f"source: {{type: saleslayer, connector_id: CN4242H4242C424, api_url: '{server.saleslayer_url}'}}\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            app,
            ["mapping", "suggest", "HOME", "--bundled", "-m", "FR", "-c", str(config), "-o", str(out)],
            env={"LISTINGSYNC_SALESLAYER_SECRET": SECRET},
        )
        assert result.exit_code == 0, result.output
        assert "listings_file: mapping.yaml" in result.output  # how to use the file, said as it is written
        # ... and it works as said: the config reads the file, validate builds every SKU from it.
        config.write_text(
            config.read_text(encoding="utf-8") + "listings_file: mapping.yaml\n", encoding="utf-8"
        )
        assert load_config(config).listings.attributes["brand"] == "{{ product_brand }}"
        validated = CliRunner().invoke(
            app,
            ["validate", "--bundled", "--json", "-c", str(config)],
            env={"LISTINGSYNC_SALESLAYER_SECRET": SECRET},
        )
        assert validated.exit_code in (0, 1), validated.output
        assert '"LAMP-ARC-BLK"' in validated.stdout
    listings = yaml.safe_load(out.read_text(encoding="utf-8"))["listings"]
    attributes = listings["attributes"]
    assert attributes["brand"] == "{{ product_brand }}"
    assert attributes["item_name"] == "{{ product_name }}"
    assert attributes["product_description"] == "{{ product_description }}"
    assert attributes["bullet_point"] == "{{ product_bullets }}"
    assert attributes["color"] == "{{ format_color }}"
    assert attributes["item_weight"] == "{{ product_weight_kg }}"
    assert attributes["list_price"] == "{{ format_price_eur }}"
    assert listings["identifier"] == {"field": "format_ean"}
    assert listings["units"] == {"weight": "kilograms"}
    # Links and keys are never data: ID_catalogue was once proposed for list_price.
    assert "ID_" not in out.read_text(encoding="utf-8").split("# Filled automatically")[0]


def test_synonyms_in_the_marketplaces_languages() -> None:
    german = ["Artikelnummer", "Titel", "Beschreibung", "Marke", "Farbe", "Gewicht_kg", "Preis", "EAN"]
    found = {s.attribute: s.fields for s in suggest_attributes(_home_schema(), german)}
    assert found["item_name"] == ("Titel",) and found["product_description"] == ("Beschreibung",)
    assert found["brand"] == ("Marke",) and found["color"] == ("Farbe",)
    assert found["item_weight"] == ("Gewicht_kg",) and found["list_price"] == ("Preis",)
    assert suggest_identifier(german) == "EAN"
    spanish = ["referencia", "título", "descripción", "marca", "color", "peso", "precio", "código_barras"]
    found = {s.attribute: s.fields for s in suggest_attributes(_home_schema(), spanish)}
    assert found["item_name"] == ("título",) and found["product_description"] == ("descripción",)
    assert found["brand"] == ("marca",) and found["list_price"] == ("precio",)
    assert suggest_identifier(spanish) == "código_barras"


def test_a_plain_price_column_is_the_list_price_and_bookkeeping_columns_match_nothing() -> None:
    fields = ["sku", "ID", "ID_catalogue", "STATUS", "modified", "price", "title"]
    found = {s.attribute: s.fields for s in suggest_attributes(_home_schema(), fields)}
    assert found["list_price"] == ("price",)
    assert not any(f.startswith(("ID", "STATUS", "modified")) for fs in found.values() for f in fs)
