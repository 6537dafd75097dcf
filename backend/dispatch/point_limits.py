"""A pickup point's per-parcel limits: the heaviest, largest and longest parcel it takes.

One check for every place that sends parcels to a point (order intake, the check-out's
options, redirects from the tracking page, the failed-stop policy), so a parcel too long for
a point's shelf is refused everywhere alike. A locker bank's doors are checked besides
(backend/dispatch/lockers.py); these limits are the point's own, for any kind of point.
"""

from __future__ import annotations


def takes(
    max_weight_kg: float,
    max_volume_l: float,
    max_side_cm: float | None,
    weight_kg: float,
    volume_l: float,
    longest_cm: float | None,
) -> bool:
    """Whether a point with these limits takes one parcel; no side limit (None) or no side
    given (None) leaves the length unchecked."""
    if weight_kg > max_weight_kg or volume_l > max_volume_l:
        return False
    return max_side_cm is None or longest_cm is None or longest_cm <= max_side_cm


def limits_text(max_weight_kg: float, max_volume_l: float, max_side_cm: float | None) -> str:
    """The limits as a sentence's part: "20 kg and 60 L" or "20 kg, 60 L and 80 cm long"."""
    if max_side_cm is None:
        return f"{max_weight_kg:g} kg and {max_volume_l:g} L"
    return f"{max_weight_kg:g} kg, {max_volume_l:g} L and {max_side_cm:g} cm long"
