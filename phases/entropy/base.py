"""What every entropy detector builds its verdicts with: an entropy object with rounded numbers,
a resolution, and a share written for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phases.artifacts.entropy_scores import EntropyObject, Resolution
from phases.core.records import round_sig
from phases.entropy.settings import LAYER_OF


def finding(
    table: str, column: str | None, dimension: str, detector: str, score: float, summary: str,
    evidence: Mapping[str, Any], resolutions: tuple[Resolution, ...] = (), confidence: float = 1.0,
    target_kind: str = "column", target: str | None = None,
) -> EntropyObject:
    """An entropy object with its score and confidence rounded for deterministic output."""
    if target is None:
        target = f"{table}.{column}" if column is not None else table
    if column is None and target_kind == "column":
        target_kind = "table"  # a finding about a whole table
    return EntropyObject(
        target_kind=target_kind,  # type: ignore[arg-type]
        target=target, table=table, column=column, layer=LAYER_OF[dimension], dimension=dimension,
        detector=detector, score=round(min(1.0, max(0.0, score)), 4), confidence=round(confidence, 4),
        summary=summary, evidence={k: round_sig(v) if isinstance(v, float) else v for k, v in evidence.items()},
        resolutions=resolutions,
    )


def fix(action: str, reduction: float, effort: str = "low") -> Resolution:
    return Resolution(action=action, expected_reduction=round(reduction, 2), effort=effort)  # type: ignore[arg-type]


def pct(share: float) -> str:
    return f"{share:.1%}" if share >= 0.001 else f"{share:.3%}"
