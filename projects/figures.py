"""Figures as people read them: one rule for every share and probability the site shows."""

from __future__ import annotations

import math

from django.utils.formats import number_format

# A share times 100 is often a hair under the whole number it means (0.29 * 100 is
# 28.999999999999996): this much is added before rounding down.
FLOAT_SLACK = 1e-9


def whole_percent(share: float) -> int:
    """``share`` (0..1) in whole percent, rounded down: a page never claims more than the
    figure it shows (0.995 is 99, not 100)."""
    return math.floor(share * 100 + FLOAT_SLACK)


def percent(share: float | None) -> str:
    """A share or probability as every page shows it ("99 %", a no-break space before the
    sign), "—" when there is none. Live figures come from the server already in this form."""
    if share is None:
        return "—"
    return f"{number_format(whole_percent(float(share)))}\u00a0%"


def percent_between(share: float | None, interval: tuple[float, float] | None) -> str:
    """A share with its interval when there is one ("92 % (85-97 %)"), by :func:`percent`'s
    rule; the share alone when the learner gives no interval."""
    if share is None or interval is None:
        return percent(share)
    low, high = (number_format(whole_percent(float(bound))) for bound in interval)
    return f"{percent(share)} ({low}\u2013{high}\u00a0%)"
