"""Published MLPerf Tiny results on the reference board, the figures a report sets ours beside.

Source: the public MLPerf Tiny result repositories (rounds v0.5, v1.1, v1.2), as collected in
../shared/mlperf-tiny/README.md, section "Published results on the reference board". The board is
the NUCLEO-L4R5ZI (Cortex-M4F at 120 MHz). This is the one place these numbers live in the code.
"""
from __future__ import annotations

from dataclasses import dataclass

BOARD = "NUCLEO-L4R5ZI (Cortex-M4F, 120 MHz)"


@dataclass(frozen=True)
class Published:
    stack: str                          # round and inference stack
    latency_ms: dict[str, float]        # benchmark id -> latency per inference
    energy_uj: dict[str, float]         # benchmark id -> energy per inference (where published)


PUBLISHED: tuple[Published, ...] = (
    Published("v0.5 reference, TFLM 2.3.1",
              latency_ms={"kws01": 181.9, "vww01": 600.6, "ic01": 704.2, "ad01": 10.05},
              energy_uj={"kws01": 7374, "vww01": 24313, "ic01": 29207, "ad01": 416}),
    Published("v1.1 Plumerai",
              latency_ms={"kws01": 47.8, "vww01": 98.8, "ic01": 167.8, "ad01": 4.05},
              energy_uj={}),
    Published("v1.2 ST X-CUBE-AI 9.0",
              latency_ms={"kws01": 43.2, "vww01": 88.9, "ic01": 165.1, "ad01": 5.26},
              energy_uj={"kws01": 1820, "vww01": 3895, "ic01": 6919, "ad01": 203}),
)
