"""The checks of each deliverable kind (backbench.registry.DELIVERABLE_KINDS).

Each module holds a kind's pure verdict (evidence in, score values and the names of the failed
checks out) and the I/O that gathers its evidence. `KindVerdict` is what every verdict returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from backbench.registry import KIND_KEYS


@dataclass
class KindVerdict:
    """A kind's own score values, the checks that failed (by name) and an explanation."""

    values: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    explanation: str = ""
    # checks that could not be judged because another failed first (their value is NaN)
    unjudged: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every check judged and passed: what `correct` needs of the kind."""
        return not self.failed and not self.unjudged


def kind_values(verdict: KindVerdict | None) -> dict[str, float]:
    """Every kind's score keys: this verdict's values, NaN for the keys of other kinds, so the
    means over a mixed log stay the means of the samples that measured them."""
    own = verdict.values if verdict else {}
    return {key: float(own.get(key, math.nan)) for key in KIND_KEYS}
