"""XLSX workbooks for every list and ledger, laid out as a village office prints them.

A sheet has a title row (merged across the table), optional lines under it (the supermarket,
the date range), a bold header row that repeats on every printed page, the rows, and optional
sign-off lines at the foot (经办人 / 审核人 / 监督小组). Money columns hold yuan with two decimals
computed from integer fen (never floats in the books: the conversion is for display only).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def yuan(fen: int) -> Decimal:
    """Integer fen as an exact yuan amount for a money cell (12345 → 123.45)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


@dataclass
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    subtitle: Sequence[str] = ()
    footer: Sequence[str] = ()
    widths: Sequence[int] = ()
    # Indexes of columns holding yuan amounts (formatted 0.00).
    money_columns: Sequence[int] = field(default_factory=tuple)
    name: str = ""  # the worksheet tab's name (defaults to the title)


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file for these sheets."""
    from openpyxl import Workbook  # (imported on first use: the kiosk starts without it)

    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the empty sheet a new workbook starts with
    for sheet in sheets:
        _write_sheet(wb, sheet)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_sheet(wb: Any, sheet: Sheet) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    name = (sheet.name or sheet.title)[:31]
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    ws = wb.create_sheet(name)
    ncols = max(len(sheet.headers), 1)
    ws.append([sheet.title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(1, 1).font = Font(bold=True, size=16)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    for line in sheet.subtitle:
        ws.append([line])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=ncols)
    ws.append(list(sheet.headers))
    header_row = ws.max_row
    for col in range(1, ncols + 1):
        cell = ws.cell(header_row, col)
        cell.font = Font(bold=True)
        cell.border = box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    money = set(sheet.money_columns)
    for row in sheet.rows:
        ws.append(list(row))
        r = ws.max_row
        for col in range(1, ncols + 1):
            cell = ws.cell(r, col)
            cell.border = box
            if col - 1 in money:
                cell.number_format = "0.00"
    if sheet.footer:
        ws.append([])
        for line in sheet.footer:
            ws.append([line])
    for i, width in enumerate(sheet.widths or [14] * ncols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if ncols > 7 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.freeze_panes = ws.cell(header_row + 1, 1)


def read_rows(data: bytes, sheet_index: int = 0) -> list[list[Any]]:
    """Every row of one sheet of an .xlsx file as plain values (tests and imports)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    ws = wb.worksheets[sheet_index]
    return [list(row) for row in ws.iter_rows(values_only=True)]
