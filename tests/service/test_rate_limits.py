"""Two connections of one selling partner draw from that partner's buckets; other partners do not."""

from __future__ import annotations

from pathlib import Path

from service_helpers import credentials_of, sample_document, write_catalogue

from listingsync.amazon.ratelimit import TokenBucketLimiter
from listingsync.emulator import EmulatorServer
from listingsync.service import Workspace, add_connection, create_run, execute_run


class CountingLimiter(TokenBucketLimiter):
    """The workspace's limiter, counting who took which bucket."""

    def __init__(self) -> None:
        super().__init__(scale=1000.0)
        self.taken: dict[str, int] = {}

    async def acquire(self, key: str, rate: float, burst: int, *, hold: bool = False) -> float:
        self.taken[key] = self.taken.get(key, 0) + 1
        return await super().acquire(key, rate, burst, hold=hold)


def test_connections_of_one_partner_share_its_buckets(emulator: EmulatorServer, tmp_path: Path) -> None:
    limiter = CountingLimiter()
    ws = Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}", directory=tmp_path, rate_limiter=limiter)
    try:
        # Two catalogues of vendor DEMOV (say, two brands) and the NA seller: three connections.
        write_catalogue(tmp_path / "vendor.csv", skus=("MD-CUSH-001", "MD-CUSH-002"))
        write_catalogue(tmp_path / "brand2.csv", skus=("MD-CUSH-003",))
        write_catalogue(tmp_path / "seller.csv", skus=("MD-CUSH-001",))
        brand2 = sample_document("vendor", emulator)
        brand2["source"]["path"] = "brand2.csv"
        add_connection(
            ws,
            "demov-a",
            sample_document("vendor", emulator),
            base_dir=tmp_path,
            secrets=credentials_of("vendor"),
        )
        add_connection(ws, "demov-b", brand2, base_dir=tmp_path, secrets=credentials_of("vendor"))
        add_connection(
            ws,
            "seller",
            sample_document("seller", emulator),
            base_dir=tmp_path,
            secrets=credentials_of("seller"),
        )
        for name in ("demov-a", "demov-b", "seller"):
            assert execute_run(ws, create_run(ws, name, trigger="manual").id).status == "succeeded"
    finally:
        ws.close()
    put = {k: n for k, n in limiter.taken.items() if k.endswith(":putListingsItem")}
    # DEMOV's two connections sent 4 + 2 PUTs through one bucket; the seller's went through its own.
    assert put == {"DEMOV:putListingsItem": 6, "A3DEMOSELLER01:putListingsItem": 1}
