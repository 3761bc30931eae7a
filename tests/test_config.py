from pathlib import Path

import pytest

from listingsync.amazon.marketplaces import Region
from listingsync.config import ConfigError, load_config, parse_config

GOOD = """\
account:
  type: vendor
  selling_partner_id: C96QA
  marketplaces: [DE, FR]
source:
  type: csv
  path: products.csv
"""


def test_good_config_resolves_marketplaces_and_region() -> None:
    cfg = parse_config(GOOD)
    assert cfg.account.marketplaces == ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"]
    assert cfg.account.resolved_region is Region.EU
    assert cfg.state.startswith("sqlite:///")


def test_unknown_key_names_key_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD + "sync:\n  on_remove: delete\n", file="ls.yaml")
    text = str(info.value)
    assert "ls.yaml:9" in text
    assert "sync.on_remove" in text
    assert "unknown key 'on_remove'" in text


@pytest.mark.parametrize(
    ("marketplaces", "expected"),
    [("[DE, US]", "several regions"), ("[DE, XX]", "unknown country or marketplace id 'XX'")],
)
def test_marketplace_problems_are_caught_before_any_request(marketplaces: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD.replace("[DE, FR]", marketplaces))
    assert expected in str(info.value)
    assert ":4" in str(info.value)  # the marketplaces line


def test_vendor_code_given_as_amazon_account_id() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD.replace("C96QA", "amzn1.vg.1234567"))
    assert "not a vendor code" in str(info.value)
    assert "Vendor Central" in str(info.value)


def test_seller_with_vendor_code_suggests_account_type() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD.replace("type: vendor", "type: seller"))
    assert "merchant token" in str(info.value)
    assert "set account.type to vendor" in str(info.value)


def test_env_interpolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LS_TEST_ID", "A3DEMOSELLER01")
    cfg = parse_config(GOOD.replace("vendor", "seller").replace("C96QA", "${LS_TEST_ID}"))
    assert cfg.account.selling_partner_id == "A3DEMOSELLER01"
    with pytest.raises(ConfigError) as info:
        parse_config(GOOD.replace("C96QA", "${LS_TEST_MISSING}"))
    assert "LS_TEST_MISSING is not set" in str(info.value)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "listingsync connect" in (info.value.fix or "")


def test_broken_yaml_names_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("account:\n  type: [vendor\n", file="x.yaml")
    assert "x.yaml:" in str(info.value)
    assert "not valid YAML" in str(info.value)


def test_a_typo_d_key_suggests_the_key_meant_at_every_level() -> None:
    text = (
        GOOD.replace("selling_partner_id", "seling_partner_id")
        + "listings:\n  unitz: {weight: kilograms}\n  product_types:\n    HOME:\n      atributes: {}\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="ls.yaml")
    text = str(info.value)
    assert (
        "ls.yaml:3: account.seling_partner_id: unknown key 'seling_partner_id'; did you mean 'selling_partner_id'?"
        in text
    )
    assert "ls.yaml:9: listings.unitz: unknown key 'unitz'; did you mean 'units'?" in text
    assert (
        "listings.product_types.HOME.atributes: unknown key 'atributes'; did you mean 'attributes'?" in text
    )
    lines = [int(line.split(":")[1]) for line in text.splitlines()[1:]]
    assert lines == sorted(lines)  # problems read top to bottom, like the file


def test_a_key_nothing_resembles_points_at_the_readme() -> None:
    with pytest.raises(ConfigError, match="unknown key 'zzz'; check the spelling"):
        parse_config(GOOD + "zzz: 1\n")


def test_a_credential_written_into_the_yaml_says_where_it_goes_and_is_not_echoed() -> None:
    text = GOOD.replace(
        "  marketplaces: [DE, FR]\n", "  marketplaces: [DE, FR]\n  client_secret: s3cr3t-value-123\n"
    )
    text += "  secret: sl-secret-value-456\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="ls.yaml")
    message = str(info.value)
    assert "account.client_secret: unknown key 'client_secret': credentials do not go in" in message
    assert "LISTINGSYNC_LWA_CLIENT_SECRET" in message and "LISTINGSYNC_SALESLAYER_SECRET" in message
    assert "s3cr3t-value-123" not in message and "sl-secret-value-456" not in message


def _laughs(levels: int) -> str:
    """'Billion laughs': each level aliases the one before ten times (10**levels values)."""
    lines = ['lol0: &lol0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n" + GOOD


@pytest.mark.timeout(60)  # a bound, never reached when green: the unbounded loader hangs here
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (_laughs(9), 6, "the aliases here expand to more than 100,000 values (a 'billion laughs'"),
        ("x: &a {y: [*a]}\n" + GOOD, 1, "the alias *a is inside the value &a it names (a recursive alias)"),
        ("x: &a [1]\n" + "y: [" + ", ".join(["*a"] * 101) + "]\n" + GOOD, 2, "more than 100 aliases"),
        (GOOD + "sync: !!python/object/apply:os.system ['true']\n", 8, "the tag !!python/object/apply:os"),
        (GOOD.replace("type: vendor", "type: !!python/name:os.system"), 2, "the tag !!python/name:os"),
        (GOOD.replace("type: csv", "type: !env csv"), 6, "the tag !env is not allowed"),
        ("account: " + "[" * 20_000 + "\n", 1, "values nest more than 100 levels deep"),
        (GOOD.replace("type: vendor", "type: !!int vendor"), 2, "account.type: not a valid value"),
    ],
)
def test_hostile_yaml_is_a_config_error_with_its_line_in_bounded_memory(
    text: str, line: int, words: str
) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as info:
            parse_config(text, file="ls.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert f"ls.yaml:{line}: " in message and words in message
    assert peak < 20 * 1024 * 1024  # the whole-document work stays small


def test_a_few_aliases_still_work() -> None:
    text = GOOD.replace("marketplaces: [DE, FR]", "marketplaces: &eu [DE, FR]") + "x_unused: *eu\n"
    with pytest.raises(ConfigError, match="unknown key 'x_unused'"):  # the alias itself was fine
        parse_config(text)
    cfg = parse_config(GOOD.replace("type: csv", "type: &t csv\n  encoding: utf-8"))
    assert cfg.source is not None


# -- listings_file: the listings section in a file of its own (what `mapping suggest -o` writes) ----


def test_listings_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        "# from mapping suggest\nlistings:\n  product_type: HOME\n  attributes:\n    item_name: '{{ title }}'\n"
    )
    config = tmp_path / "listingsync.yaml"
    config.write_text(
        "account: {type: vendor, selling_partner_id: C96QA, marketplaces: [DE]}\nlistings_file: mapping.yaml\n"
    )
    loaded = load_config(config)
    assert loaded.listings.product_type == "HOME"
    assert "item_name" in loaded.listings.attributes
    # The section's keys at the top of the file work too.
    (tmp_path / "mapping.yaml").write_text("product_type: LUGGAGE\n")
    assert load_config(config).listings.product_type == "LUGGAGE"


def test_errors_in_the_listings_file_name_that_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text("listings:\n  product_type: HOME\n  fallback_langauge: en\n")
    config = tmp_path / "listingsync.yaml"
    config.write_text(
        "account: {type: vendor, selling_partner_id: C96QA, marketplaces: [DE]}\nlistings_file: mapping.yaml\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert f"{tmp_path / 'mapping.yaml'}:3: listings.fallback_langauge" in info.value.message
    assert "did you mean 'fallback_language'?" in info.value.message


def test_listings_and_listings_file_together_or_a_missing_file_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "listingsync.yaml"
    account = "account: {type: vendor, selling_partner_id: C96QA, marketplaces: [DE]}\n"
    config.write_text(account + "listings: {product_type: HOME}\nlistings_file: mapping.yaml\n")
    with pytest.raises(ConfigError, match="either 'listings:' or 'listings_file:'"):
        load_config(config)
    config.write_text(account + "listings_file: nowhere.yaml\n")
    with pytest.raises(
        ConfigError, match=r"listingsync.yaml:2: listings_file: .*nowhere.yaml: file not found"
    ):
        load_config(config)
