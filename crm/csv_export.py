"""CSV exports of the reports, streamed: UTF-8 with a BOM (a spreadsheet then reads
Cyrillic right), `;` between fields and a decimal comma by default, as Russian
spreadsheets expect; `sep=,` gives a decimal point, `sep=tab` tabs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

BOM = "\ufeff"
SEPARATORS = {";": ";", ",": ",", "tab": "\t"}
MEDIA_TYPE = "text/csv; charset=utf-8"


class CsvRows:
    """Rows to CSV text in pieces: `piece(rows)` gives the text of those rows."""

    def __init__(self, sep: str = ";") -> None:
        self.delimiter = SEPARATORS[sep]
        self.decimal_comma = self.delimiter == ";"

    def cell(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float) and self.decimal_comma:
            return repr(value).replace(".", ",")
        return value

    def piece(self, rows: Iterable[Iterable[Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator="\r\n")
        for row in rows:
            writer.writerow([self.cell(v) for v in row])
        return buffer.getvalue()


def with_bom(header: list[str], pieces: Iterator[str], rows: CsvRows) -> Iterator[str]:
    yield BOM + rows.piece([header])
    yield from pieces
