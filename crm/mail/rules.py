"""The mail intake's rules, in one place: robots, the UIN in a subject, "enough information".

Enough information to register a request (the README quotes this rule):
1. **a question**: the new text (quoted history and signature removed) and the subject
   (without `Re:`/`Fwd:`) hold at least `MIN_QUESTION_LETTERS` letters between them;
2. **who is asking**: a sender's address to answer, and a name: the From header's display
   name, the first line of the signature, or the name on the sender's earlier tickets;
3. **an INN, if one is given, is a valid one** (`core/inn.py`): a mistyped INN is sent back
   rather than registered against the wrong organisation.
A message that fails any of them is returned with every reason that applies, no ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.inn import validate_inn
from core.uin import InvalidUin, canonical_uin
from crm.mail.parse import ParsedMail

MIN_QUESTION_LETTERS = 20

# Reasons a message is returned (code -> the sentence the sender reads).
NO_QUESTION = "no_question"
NO_NAME = "no_name"
BAD_INN = "bad_inn"
REASON_TEXT = {
    NO_QUESTION: "в письме нет вопроса или описания проблемы (пустое письмо или только тема)",
    NO_NAME: "не указано, кто обращается: подпишите письмо фамилией и именем",
    BAD_INN: "указанный ИНН не проходит проверку контрольных цифр",
}

_UIN_IN_SUBJECT = re.compile(r"\[#\s*(\d{1,20})\s*\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|ответ|отв|пересл)\s*(\[\d+\])?\s*:\s*)+", re.I)
_LETTER = re.compile(r"[^\W\d_]")
_INN = re.compile(r"(?:ИНН|INN)\s*[:№#]?\s*(\d[\d\s-]{8,14}\d)", re.IGNORECASE)
_ORG_LABEL = re.compile(r"^\s*(?:организация|компания|company|organization)\s*:\s*(.+)$", re.I)
_ORG_FORM = re.compile(
    r"^\s*((?:ООО|АО|ПАО|ЗАО|ОАО|ИП|ГУП|МУП|ФГУП|ГБУ|МБУ|НКО|АНО)\s+.+)$", re.IGNORECASE
)
_NAME_LINE = re.compile(r"^[^\W\d_][^\W\d_.'-]*(?:[ '-][^\W\d_][^\W\d_.'-]*\.?){1,3}$")
_ROBOT_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply")


def automatic(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    """Why `mail` came from a robot (never answered, never a ticket), or None.

    RFC 3834 `Auto-Submitted`, `Precedence: bulk|list|junk`, `X-Autoreply`/`X-Autorespond`,
    mailing lists (`List-Id`, `List-Unsubscribe`), bounces (an empty `Return-Path`,
    `multipart/report`, `X-Failed-Recipients`, MAILER-DAEMON), our own address (a loop).
    """
    h = mail.headers
    submitted = h.get("auto-submitted", "").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = h.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in h:
            return f"{name}: {h[name]}"
    if "list-id" in h or "list-unsubscribe" in h:
        return "a mailing list"
    if h.get("return-path", "").strip() == "<>" or "x-failed-recipients" in h:
        return "a bounce"
    if h.get("content-type", "").lower().startswith("multipart/report"):
        return "a delivery report"
    if mail.from_addr:
        local = mail.from_addr.rpartition("@")[0].lower()
        if local in _ROBOT_SENDERS:
            return f"sent by {mail.from_addr}"
        if mail.from_addr.lower() in own_addresses:
            return "sent by the hotline itself"
    return None


def uin_in_subject(subject: str, digits: int) -> str | None:
    """`[#00000208]` or the short `[#208]` -> "00000208"; None without one (or with a
    number no UIN can be), by the one rule of every UIN lookup (`core.uin`)."""
    found = _UIN_IN_SUBJECT.search(subject)
    if found is None:
        return None
    try:
        return canonical_uin(found.group(1), digits)
    except InvalidUin:
        return None


def clean_subject(subject: str) -> str:
    return _REPLY_PREFIX.sub("", _UIN_IN_SUBJECT.sub("", subject)).strip()


@dataclass(frozen=True)
class Sender:
    """Who is asking, as far as the message (and earlier tickets) tell."""

    name: str | None
    org_name: str | None
    org_inn: str | None
    inn_given: str | None  # an INN written in the message, valid or not


def sender_from_text(mail: ParsedMail) -> Sender:
    """Name, organisation and INN from the From header, the signature and the text."""
    name = mail.from_name if mail.from_name and _LETTER.search(mail.from_name) else None
    signature_lines = [line.strip() for line in mail.signature.split("\n") if line.strip()]
    if name is None and signature_lines and _NAME_LINE.match(signature_lines[0]):
        name = signature_lines[0]
    org = None
    for line in signature_lines + mail.text.split("\n"):
        labelled = _ORG_LABEL.match(line) or _ORG_FORM.match(line)
        if labelled:
            org = labelled.group(1).strip()[:300]
            break
    inn_given = inn = None
    found = _INN.search(mail.signature + "\n" + mail.text)
    if found:
        inn_given = re.sub(r"\D", "", found.group(1))
        try:
            inn = validate_inn(inn_given)
        except ValueError:
            inn = None
    return Sender(name[:200] if name else None, org, inn, inn_given)


def question_letters(mail: ParsedMail) -> int:
    return len(_LETTER.findall(mail.text + " " + clean_subject(mail.subject)))


def missing_information(mail: ParsedMail, sender: Sender) -> list[str]:
    """The reasons (codes of REASON_TEXT) the message cannot be registered; [] if it can."""
    reasons = []
    if question_letters(mail) < MIN_QUESTION_LETTERS:
        reasons.append(NO_QUESTION)
    if not sender.name:
        reasons.append(NO_NAME)
    if sender.inn_given and not sender.org_inn:
        reasons.append(BAD_INN)
    return reasons
