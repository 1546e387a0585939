"""Reading real-world mail and the intake's rules, without a database."""

from __future__ import annotations

from crm.mail import rules
from crm.mail.imap import messages_of
from crm.mail.parse import parse_mail, trim_history
from tests.mail.messages import QUESTION, mail


def test_quoted_history_and_signature_are_not_the_question() -> None:
    text = (
        "Ошибка осталась.\n\n-- \nИван Петров\n\n"
        "Ср, 25 нояб. 2026 г. в 10:05, Горячая линия <hotline@example.ru>:\n"
        "> Ваше обращение зарегистрировано\n"
    )
    assert trim_history(text) == ("Ошибка осталась.", "Иван Петров")
    outlook = "Да, так.\n\n-----Original Message-----\nFrom: hotline\nSubject: x\n"
    assert trim_history(outlook)[0] == "Да, так."
    russian = "Спасибо\n\n-------- Исходное сообщение --------\nОт: hotline\n"
    assert trim_history(russian)[0] == "Спасибо"
    inline = "Ответ ниже\n> старый текст\nещё ответ"
    assert trim_history(inline)[0] == "Ответ ниже\nещё ответ"


def test_sender_name_organisation_and_inn_come_from_the_signature() -> None:
    parsed = parse_mail(mail(sender="ivan@romashka.ru"))  # no display name
    sender = rules.sender_from_text(parsed)
    assert sender == rules.Sender("Иван Петров", "ООО Ромашка", "7707083893", "7707083893")
    labelled = parse_mail(
        mail(text=f"{QUESTION}\nОрганизация: Завод «Прогресс»\nИНН: 500100732259\n")
    )
    found = rules.sender_from_text(labelled)
    assert (found.org_name, found.org_inn) == ("Завод «Прогресс»", "500100732259")


def test_the_rule_for_enough_information() -> None:
    good = parse_mail(mail())
    assert rules.missing_information(good, rules.sender_from_text(good)) == []
    subject_only = parse_mail(mail(subject="Не работает вход в личный кабинет", text=""))
    assert rules.missing_information(subject_only, rules.sender_from_text(subject_only)) == []
    short = parse_mail(mail(subject="Re: Помогите", text="срочно!"))
    assert rules.missing_information(short, rules.sender_from_text(short)) == ["no_question"]
    anonymous = parse_mail(mail(sender="x123@example.ru", text=QUESTION))
    assert rules.missing_information(anonymous, rules.sender_from_text(anonymous)) == ["no_name"]


def test_the_uin_in_a_subject_long_or_short() -> None:
    assert rules.uin_in_subject("Re: [#00000208] отчёт", 8) == "00000208"
    assert rules.uin_in_subject("Fwd: [# 208 ] отчёт", 8) == "00000208"
    assert rules.uin_in_subject("[#123456789] too long", 8) is None
    assert rules.uin_in_subject("Обращение 208", 8) is None
    assert rules.clean_subject("RE: Fwd: [#00000208] Не формируется отчёт") == (
        "Не формируется отчёт"
    )


def test_robots_are_told_apart_from_people() -> None:
    own = frozenset({"hotline@example.ru"})
    person = parse_mail(mail(headers={"Auto-Submitted": "no"}))
    assert rules.automatic(person, own) is None
    report = parse_mail(
        b"From: MAILER-DAEMON@mx.example.ru\r\nSubject: Undelivered\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--x--\r\n"
    )
    assert rules.automatic(report, own) is not None
    assert rules.automatic(parse_mail(mail(sender="no-reply@bank.ru")), own) is not None


def test_charsets_and_transfer_encodings() -> None:
    for charset in ("utf-8", "koi8-r", "cp1251"):
        for cte in ("quoted-printable", "base64", "8bit"):
            parsed = parse_mail(mail(charset=charset, cte=cte))
            assert parsed.text == QUESTION, (charset, cte)
            assert parsed.subject == "Не формируется отчёт"
    lying = (
        b"From: a@b.ru\r\nSubject: x\r\nContent-Type: text/plain; charset=x-unknown\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    ) + QUESTION.encode("cp1251")
    assert parse_mail(lying).text == QUESTION


def test_a_fetch_response_is_split_into_messages() -> None:
    lines = [
        b"1 FETCH (UID 7 BODY[] {5}",
        bytearray(b"first"),
        b")",
        b"2 FETCH (BODY[] {6}",
        bytearray(b"second"),
        b" UID 9)",
        b"Fetch completed.",
    ]
    assert messages_of(lines) == [("7", b"first"), ("9", b"second")]
