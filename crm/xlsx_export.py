"""The reports as .xlsx (`format=xlsx`): the CSV exports' rows written into one sheet.

xlsxwriter in `constant_memory` mode writes each row to a temporary file as it comes, so
a large export is never held in memory; the finished workbook (a zip, complete only at
the end) is then streamed from disk. Texts stay texts: a caller name starting with `=`
is never taken for a formula (nor a URL or a number). A sheet holds at most 1,048,576
rows: an export that reaches it ends with a row saying so.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import xlsxwriter

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_048_576
CHUNK_BYTES = 256 * 1024


class XlsxRows:
    """Rows into a sheet: `piece(rows)` writes them (and returns "", as `CsvRows.piece`
    returns their text), `bytes()` closes the workbook and gives its bytes in pieces."""

    def __init__(self, sheet: str) -> None:
        self._file = tempfile.TemporaryFile()
        self._book = xlsxwriter.Workbook(
            self._file,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self._sheet = self._book.add_worksheet(sheet[:31])
        self.rows = 0
        self.cut = False

    @staticmethod
    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return int(value)
        return value

    def piece(self, rows: Iterable[Iterable[Any]]) -> str:
        for row in rows:
            if self.rows >= MAX_ROWS - 1:
                if not self.cut:
                    self._sheet.write_row(self.rows, 0, ["(cut: a sheet holds 1,048,576 rows)"])
                    self.cut = True
                return ""
            self._sheet.write_row(self.rows, 0, [self.cell(v) for v in row])
            self.rows += 1
        return ""

    def bytes(self) -> Iterator[bytes]:
        self._book.close()
        self._file.seek(0)
        try:
            while chunk := self._file.read(CHUNK_BYTES):
                yield chunk
        finally:
            self._file.close()


async def xlsx_from(
    rows: XlsxRows, header: list[str], pieces: Iterator[str]
) -> AsyncIterator[bytes]:
    """The workbook of `header` and what a CSV exporter writes through `rows` (run in a
    thread: writing is CPU work), then its bytes."""

    def write() -> None:
        rows.piece([header])
        for _ in pieces:
            pass

    await asyncio.to_thread(write)
    for chunk in rows.bytes():
        yield chunk


async def xlsx_from_async(
    rows: XlsxRows, header: list[str], pieces: AsyncIterator[str]
) -> AsyncIterator[bytes]:
    """As `xlsx_from`, for an exporter that reads the database as it goes."""
    rows.piece([header])
    async for _ in pieces:
        pass
    for chunk in rows.bytes():
        yield chunk
