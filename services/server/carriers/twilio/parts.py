"""One message, several files: how it goes out as Conversation Messages.

Twilio takes one ``MediaSid`` per Conversation Message, so a message is sent as parts:
the text with the first file, then one part per further file. Every part carries
``{"gcsMessageId", "gcsPart", "gcsParts"}`` in its Attributes, which is how a part
already sent is recognised (``send`` skips it, ``find_sent`` counts it).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.server.carriers.base import CarrierError, MediaFile, Outbound


@dataclass(frozen=True)
class Part:
    index: int  # 1-based
    body: str
    media: MediaFile | None


def split(message: Outbound) -> list[Part]:
    if not message.media:
        return [Part(1, message.body, None)]
    first = Part(1, message.body, message.media[0])
    rest = [Part(i, "", media) for i, media in enumerate(message.media[1:], start=2)]
    return [first, *rest]


def partial(exc: CarrierError, sent: int, total: int) -> CarrierError:
    if sent == 0:
        return exc
    return CarrierError(
        exc.kind,
        f"Twilio took {sent} of the {total} parts of this message (the text and first files) "
        f"but not the rest: {exc.message}",
        code=exc.code,
        retry_after=exc.retry_after,
        opted_out=exc.opted_out,
        answer_lost=exc.answer_lost,
    )
