"""`format=xlsx` on the history, the call log and the agent report: a workbook with the
CSV's rows (read back from its sheet's XML), texts never taken for formulas."""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

import pytest

from tests.conftest import auth
from tests.reports.test_agent_report import RANGE as DAY_RANGE
from tests.reports.test_agent_report import record as record_day
from tests.reports.test_call_log import client, record  # noqa: F401 (the fixture)

pytestmark = pytest.mark.redis
NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _column(reference: str) -> int:
    """0 for A1, 1 for B7, 26 for AA3."""
    letters = re.match(r"[A-Z]+", reference).group()
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def _sheet(reply) -> list[list[str]]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == XLSX
    with zipfile.ZipFile(io.BytesIO(reply.content)) as book:
        root = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.itertext()) for t in strings.findall("x:si", NS)]
    rows = []
    for row in root.iter(f"{{{NS['x']}}}row"):
        cells: list[str] = []
        for cell in row.findall("x:c", NS):
            column = _column(cell.get("r"))
            cells += [""] * (column - len(cells))  # an empty cell is not written
            kind = cell.get("t")
            if kind == "inlineStr":
                cells.append("".join(cell.find("x:is", NS).itertext()))
            elif kind == "s":
                cells.append(shared[int(cell.find("x:v", NS).text)])
            else:
                value = cell.find("x:v", NS)
                assert cell.find("x:f", NS) is None, "no formulas"
                cells.append("" if value is None else value.text)
        rows.append(cells)
    return rows


async def test_call_log_xlsx(client, settings) -> None:  # noqa: F811
    await record(settings)
    reply = await client.get("/api/calls", params={"format": "xlsx"}, headers=auth("supervisor"))
    rows = _sheet(reply)
    header, calls = rows[0], rows[1:]
    assert header[0] == "linkedid" or "linkedid" in header
    at = header.index("linkedid")
    assert [c[at] for c in calls] == ["1.5", "1.4", "1.3", "1.2", "1.1"]


async def test_history_xlsx(client, settings) -> None:  # noqa: F811
    await record(settings)
    params = {"from": "2026-03-02T12:00:00+03:00", "to": "2026-03-02T14:00:00+03:00"}
    csv_reply = await client.get(
        "/api/metrics/service-level", params=params | {"format": "csv"}, headers=auth("supervisor")
    )
    reply = await client.get(
        "/api/metrics/service-level", params=params | {"format": "xlsx"}, headers=auth("supervisor")
    )
    rows = _sheet(reply)
    csv_lines = csv_reply.content.decode("utf-8-sig").strip().splitlines()
    assert len(rows) == len(csv_lines)
    assert rows[0] == csv_lines[0].split(";")
    offered = rows[0].index("offered")
    assert [r[offered] for r in rows[1:]] == [line.split(";")[offered] for line in csv_lines[1:]]


async def test_agent_report_xlsx(client, settings) -> None:  # noqa: F811
    await record_day(settings)
    reply = await client.get(
        "/api/reports/agents",
        params=DAY_RANGE | {"interval": "hour", "format": "xlsx"},
        headers=auth("supervisor"),
    )
    rows = _sheet(reply)
    header = rows[0]
    a1_total = next(r for r in rows if r[header.index("agent")] == "a1" and r[0] == "total")
    assert float(a1_total[header.index("talk_s")]) == 654.5
    assert float(a1_total[header.index("paused_lunch_s")]) == 2700.0
    assert re.fullmatch(r"2026-03-02T12:00:00\+03:00", a1_total[1])


class _Reply:
    status_code = 200
    text = ""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.headers = {"content-type": XLSX}


def test_texts_stay_texts() -> None:
    from crm.xlsx_export import XlsxRows

    sheet = XlsxRows("t")
    sheet.piece([["=1+1", "http://x", "007", None, True, 2.5]])
    rows = _sheet(_Reply(b"".join(sheet.bytes())))
    assert rows == [["=1+1", "http://x", "007", "", "1", "2.5"]]
