"""Fixtures of the mapping tests (helpers live in ``mapping_helpers``)."""

from __future__ import annotations

import pytest

from listingsync.mapping import BundledSchemas


@pytest.fixture(scope="session")
def schemas() -> BundledSchemas:
    """The bundled product type schemas (HOME US/FR, PRODUCT US; other marketplaces borrowed)."""
    return BundledSchemas()
