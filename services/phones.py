"""Phone numbers as people type them, on top of Google's ``phonenumbers``.

One place decides what a number is: its E.164 form (what the wire and the
store hold), how it is shown ("(415) 555-0123" for +1, "+44 20 7946 0958"
otherwise), and whether it can join a group text. The contract's rule: a
number can join a group when phonenumbers finds it valid for region US or CA
and its type is not toll-free, premium-rate, shared-cost, pager or UAN.

Every rejection carries a short reason in plain words, shown beside a
disabled contact ("Number outside US/Canada", "No valid phone number").

Test and demo data: phonenumbers (9.x) accepts the fictional 555-01XX range
as valid US/Canada numbers (``+14155550123`` is valid, type
FIXED_LINE_OR_MOBILE), so demo contacts may use ``+1 415 555 01XX`` and
``+1 604 555 01XX``. Not valid: ``+1 555 555 5555`` (area code 555), any
area or exchange starting with 0 or 1, seven-digit "555-0123". Toll-free:
``+1 800 ...``/``+1 888 ...``; premium-rate: ``+1 900 ...``; ``+1 500 ...``
is a "personal number" and is allowed. Puerto Rico (+1 787) and other NANP
countries (+1 876 Jamaica) are outside US/Canada.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

# phonenumbers is imported where a number is first parsed or shown (~14 ms): the app's
# first screen usually shows none, and its cold start must not wait for it (issue 19).
if TYPE_CHECKING:
    import phonenumbers

GROUP_REGIONS = frozenset({"US", "CA"})
# phonenumbers refuses longer input anyway; checking first keeps the reason ours.
MAX_INPUT_LENGTH = 250
_MAX_E164_DIGITS = 15


class NumberKind(StrEnum):
    """The kind of line, so callers never need to import phonenumbers."""

    FIXED_LINE = "fixed_line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


@functools.cache
def _kinds() -> dict[int, NumberKind]:
    """phonenumbers' PhoneNumberType values by our names for them (the same names)."""
    from phonenumbers import PhoneNumberType

    return {getattr(PhoneNumberType, k.name): k for k in NumberKind if k is not NumberKind.UNKNOWN}


class PhoneProblem(StrEnum):
    """Why a number cannot join a group text."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    OUTSIDE_REGION = "outside_region"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    PAGER = "pager"
    UAN = "uan"

    @property
    def message(self) -> str:
        return _PROBLEM_MESSAGES[self]

    @property
    def is_unusable(self) -> bool:
        """The text is not a working number at all (as opposed to the wrong kind)."""
        return self in _UNUSABLE


_PROBLEM_MESSAGES = {
    PhoneProblem.EMPTY: "No phone number",
    PhoneProblem.NOT_A_NUMBER: "No valid phone number",
    PhoneProblem.TOO_SHORT: "No valid phone number (too few digits)",
    PhoneProblem.TOO_LONG: "No valid phone number (too many digits)",
    PhoneProblem.INVALID: "No valid phone number",
    PhoneProblem.OUTSIDE_REGION: "Number outside US/Canada",
    PhoneProblem.TOLL_FREE: "Toll-free numbers can't join a group text",
    PhoneProblem.PREMIUM_RATE: "Premium-rate numbers can't join a group text",
    PhoneProblem.SHARED_COST: "Shared-cost numbers can't join a group text",
    PhoneProblem.PAGER: "Pager numbers can't join a group text",
    PhoneProblem.UAN: "Company switchboard numbers can't join a group text",
}

_UNUSABLE = frozenset(
    {
        PhoneProblem.EMPTY,
        PhoneProblem.NOT_A_NUMBER,
        PhoneProblem.TOO_SHORT,
        PhoneProblem.TOO_LONG,
        PhoneProblem.INVALID,
    }
)

# Line kinds that cannot take part in a group MMS (the contract's list).
_KIND_PROBLEMS = {
    NumberKind.TOLL_FREE: PhoneProblem.TOLL_FREE,
    NumberKind.PREMIUM_RATE: PhoneProblem.PREMIUM_RATE,
    NumberKind.SHARED_COST: PhoneProblem.SHARED_COST,
    NumberKind.PAGER: PhoneProblem.PAGER,
    NumberKind.UAN: PhoneProblem.UAN,
}


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    """A valid number somewhere in the world (not necessarily group-capable)."""

    e164: str
    region: str
    national: str
    number_type: NumberKind
    country_code: int

    @property
    def problem(self) -> PhoneProblem | None:
        """Why this number cannot join a group text; None when it can."""
        if self.region not in GROUP_REGIONS:
            return PhoneProblem.OUTSIDE_REGION
        return _KIND_PROBLEMS.get(self.number_type)

    @property
    def group_capable(self) -> bool:
        return self.problem is None

    @property
    def display(self) -> str:
        return format_display(self.e164)


@dataclass(frozen=True, slots=True)
class PhoneError:
    """Text that is not a valid phone number."""

    text: str
    problem: PhoneProblem

    @property
    def message(self) -> str:
        return self.problem.message


# The same numbers are parsed again and again (every keystroke of the wizard checks and
# shows 25 contacts: ~0.3 ms a number in phonenumbers); the answers are immutable.
_PARSED = 8192


@functools.lru_cache(maxsize=_PARSED)
def parse_phone(text: str | None, default_region: str = "US") -> ParsedPhone | PhoneError:
    """Parse what a person typed; numbers without "+" are read as ``default_region``."""
    text = (text or "").strip()
    if not text:
        return PhoneError("", PhoneProblem.EMPTY)
    if len(text) > MAX_INPUT_LENGTH:
        # A long paste of prose is "not a number"; a long run of digits is "too long".
        too_long = len(digits(text)) > _MAX_E164_DIGITS
        return PhoneError(text, PhoneProblem.TOO_LONG if too_long else PhoneProblem.NOT_A_NUMBER)
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat

    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        return PhoneError(text, _parse_failure(exc))
    if not phonenumbers.is_valid_number(number):
        return PhoneError(text, _invalid_reason(number))
    return ParsedPhone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number) or "ZZ",
        national=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        number_type=_kinds().get(phonenumbers.number_type(number), NumberKind.UNKNOWN),
        country_code=number.country_code or 0,
    )


def _parse_failure(exc: phonenumbers.NumberParseException) -> PhoneProblem:
    from phonenumbers import NumberParseException

    if exc.error_type == NumberParseException.TOO_LONG:
        return PhoneProblem.TOO_LONG
    if exc.error_type in (
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return PhoneProblem.TOO_SHORT
    return PhoneProblem.NOT_A_NUMBER


def _invalid_reason(number: phonenumbers.PhoneNumber) -> PhoneProblem:
    # Tell "missing digits" apart from "wrong digits": the first is a typing slip.
    import phonenumbers

    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in (
        phonenumbers.ValidationResult.TOO_SHORT,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        return PhoneProblem.TOO_SHORT
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        return PhoneProblem.TOO_LONG
    return PhoneProblem.INVALID


def normalize(text: str | None, default_region: str = "US") -> str | None:
    """The E.164 form of any valid number (foreign ones too), else None."""
    parsed = parse_phone(text, default_region)
    return parsed.e164 if isinstance(parsed, ParsedPhone) else None


def group_problem(text: str | None, default_region: str = "US") -> PhoneProblem | None:
    """Why this number cannot join a group text; None when it can."""
    return parse_phone(text, default_region).problem


def explain(text: str | None, default_region: str = "US") -> str | None:
    """Why a number can't join a group, in a few plain words; None when it can."""
    problem = group_problem(text, default_region)
    return None if problem is None else problem.message


def is_group_capable(text: str | None) -> bool:
    """A valid US/Canada number of a kind that can take part in a group MMS."""
    return group_problem(text) is None


@functools.lru_cache(maxsize=_PARSED)
def format_display(e164: str | None) -> str:
    """National format for +1 ("(415) 555-0123"), international otherwise.

    Text that is not a valid number comes back as given, so the UI can always
    show something.
    """
    text = (e164 or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        return text
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat

    try:
        number = phonenumbers.parse(text, "US")
    except NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    style = (
        PhoneNumberFormat.NATIONAL if number.country_code == 1 else PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def digits(text: str | None) -> str:
    """The digits of ``text`` as ASCII (full-width ones too): what a phone search compares."""
    out = (unicodedata.decimal(ch, None) for ch in (text or ""))
    return "".join(str(d) for d in out if d is not None)
