"""Reading one raw RFC 822 message: headers, the text (quoted history trimmed), attachments.

Real-world mail: MIME multipart, quoted-printable and base64, charsets such as UTF-8,
KOI8-R and CP1251 (decoded by the standard library's `email` with its default policy),
HTML-only mail turned into text (html2text).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime

import html2text

# Where a client starts quoting the message answered (Outlook, Thunderbird, Gmail, Yandex,
# Mail.ru, The Bat!, in Russian and English). Everything from such a line on is history.
_QUOTE_HEADS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение|"
        r"forwarded message)\s*-{2,}",
        r"^_{10,}$",  # Outlook's rule above "From: ..."
        r"^(on|в)\s.{0,200}(wrote|пишет|написал|написала|написал\(а\))\s*:\s*$",
        r"^.{0,200}(wrote|пишет|написал|написала)\s*:\s*$",
        r"^(from|от|отправлено|sent)\s*:\s.+",
    )
]
_SIGNATURE = re.compile(r"^(-- ?|—)$")
# A sign-off: the lines after it are the signature (a name, an organisation, an INN).
_SIGN_OFF = re.compile(
    r"^(с уважением|с наилучшими пожеланиями|всего доброго|best regards|kind regards|"
    r"regards|sincerely)\s*[,.!]?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class ParsedMail:
    """What the intake needs of one message; `raw` stays for its digest and size."""

    raw: bytes
    message_id: str | None
    from_addr: str | None
    from_name: str | None
    subject: str
    text: str  # the new text: quoted history and signature removed
    signature: str  # the signature block (a name, an organisation, an INN may be there)
    full_text: str  # the whole text part, as sent
    sent_at: datetime | None
    references: list[str]  # In-Reply-To then References, as Message-IDs
    headers: dict[str, str]  # lower-cased names of the headers the rules read
    attachments: list[Attachment] = field(default_factory=list)
    unreadable_parts: int = 0

    @property
    def key(self) -> str:
        """What makes it "the same message": its Message-ID, or a digest of all of it."""
        if self.message_id:
            return self.message_id[:300]
        return "sha256:" + hashlib.sha256(self.raw).hexdigest()


_RULE_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "content-type",
    "x-failed-recipients",
)


def parse_mail(raw: bytes) -> ParsedMail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    name, addr = _sender(message)
    full_text, attachments, unreadable = _body(message)
    text, signature = trim_history(full_text)
    headers = {h: _header(message, h) for h in _RULE_HEADERS if message.get(h) is not None}
    return ParsedMail(
        raw=raw,
        message_id=_msgid(_header(message, "message-id")),
        from_addr=addr,
        from_name=name,
        subject=" ".join(_header(message, "subject").split()),
        text=text,
        signature=signature,
        full_text=full_text,
        sent_at=_date(_header(message, "date")),
        references=_ids(_header(message, "in-reply-to")) + _ids(_header(message, "references")),
        headers=headers,
        attachments=attachments,
        unreadable_parts=unreadable,
    )


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header must not lose the message
        return ""
    return "" if value is None else str(value)


def _sender(message: Message) -> tuple[str | None, str | None]:
    for header in ("from", "sender", "reply-to"):
        raw = _header(message, header)
        if not raw:
            continue
        for name, addr in getaddresses([raw]):
            if "@" in addr:
                local, _, domain = addr.strip().rpartition("@")
                return (name.strip() or None), f"{local}@{domain.lower()}"
    return None, None


_MSGID = re.compile(r"<[^<>\s]+>")


def _msgid(value: str) -> str | None:
    found = _MSGID.search(value)
    return found.group(0) if found else (value.strip() or None)


def _ids(value: str) -> list[str]:
    return _MSGID.findall(value)


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _body(message: EmailMessage) -> tuple[str, list[Attachment], int]:
    """The text (plain preferred, else HTML as text), the attachments, unreadable parts."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    unreadable = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename or disposition == "attachment" or not content_type.startswith("text/"):
            if content_type.startswith("multipart/"):
                continue
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                Attachment(filename or f"part-{len(attachments) + 1}", content_type, payload)
            )
            continue
        try:
            text = _text_of(part)
        except (LookupError, UnicodeError, ValueError):
            unreadable += 1
            continue
        if content_type == "text/html":
            html.append(text)
        else:
            plain.append(text)
    if plain:
        body = "\n".join(plain)
    elif html:
        body = "\n".join(html_to_text(h) for h in html)
    else:
        body = ""
    return body.replace("\r\n", "\n").strip(), attachments, unreadable


def _text_of(part: Message) -> str:
    """A text part decoded by its charset; an unknown or lying charset falls back, not fails."""
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    aliases = {"cp-1251": "cp1251", "win-1251": "cp1251", "x-cp1251": "cp1251"}
    charset = aliases.get(charset.lower(), charset)
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        for fallback in ("utf-8", "cp1251"):
            try:
                return payload.decode(fallback)
            except UnicodeDecodeError:
                continue
    return payload.decode("utf-8", errors="replace")


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no re-wrapping
    converter.ignore_images = True
    converter.ignore_emphasis = True
    return converter.handle(html).strip()


def _quote_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def trim_history(text: str) -> tuple[str, str]:
    """(the new text, its signature): quoted lines and the answered message removed."""
    lines = text.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if any(p.match(stripped) for p in _QUOTE_HEADS):
            break
        if stripped.endswith(":") and _quote_follows(lines, index + 1):
            break  # the attribution line of any client: "<date>, <who> <addr>:" then "> ..."
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    signature: list[str] = []
    for index, line in enumerate(kept):
        if _SIGNATURE.match(line.strip()) or _SIGN_OFF.match(line.strip()):
            signature = kept[index + 1 :]
            kept = kept[:index]
            break
    return "\n".join(kept).strip(), "\n".join(signature).strip()
