"""Twilio Conversations group texting: the carrier, its error codes and its webhooks."""

from services.server.carriers.twilio.carrier import TWILIO_LIMITS, TwilioCarrier

__all__ = ["TWILIO_LIMITS", "TwilioCarrier"]
