"""Small statistics used across analyses. Every interval names its method."""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import beta

CP_LABEL = "95% CI (Clopper-Pearson exact)"


@dataclass(frozen=True)
class Proportion:
    n_resp: int
    n: int
    estimate: float | None
    lcl: float | None
    ucl: float | None
    method: str = "Clopper-Pearson exact"


def compute_clopper_pearson(x: int, n: int, level: float = 0.95) -> Proportion:
    """Exact binomial (Clopper-Pearson) interval for x successes out of n.

    n = 0 gives no estimate (None), never a placeholder number.
    """
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"impossible proportion {x}/{n}")
    if n == 0:
        return Proportion(x, n, None, None, None)
    alpha = 1.0 - level
    lcl = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    ucl = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return Proportion(x, n, x / n, lcl, ucl)


def format_pct(x: float | None, digits: int = 1) -> str:
    """Percent with one decimal (SAP §3); empty for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{100 * x:.{digits}f}"
