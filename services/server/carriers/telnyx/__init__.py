"""Telnyx group MMS: the carrier and its webhooks."""

from services.server.carriers.telnyx.carrier import TELNYX_LIMITS, TelnyxCarrier

__all__ = ["TELNYX_LIMITS", "TelnyxCarrier"]
