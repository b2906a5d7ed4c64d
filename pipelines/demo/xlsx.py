"""One-sheet XLSX workbooks written directly: streamed, fast and the same bytes every time.

The demo's XLSX extracts and the intake benchmark's big XLSX files are both written by
:func:`write_xlsx`. The package is the smallest that Excel, LibreOffice, openpyxl and calamine
all open: one sheet named "Extract", cells as inline text or as numbers styled as dates, fixed
zip timestamps and no document properties (so no clock is read).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

_MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_PKG, _REL = "http://schemas.openxmlformats.org/package/2006", "http://schemas.openxmlformats.org/officeDocument/2006"
_PARTS = {  # everything but the sheet
    "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types"><Default Extension="rels" ContentType="'
    'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"'
    '/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
    f'Type="{_REL}/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook {_MAIN} xmlns:r="{_REL}/relationships"><sheets><sheet name="Extract" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" Type="'
    f'{_REL}/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/'
    'relationships/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": f'<styleSheet {_MAIN}><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
    '<numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm"/></numFmts><fonts count="1"><font><sz val="11"/><name '
    'val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
    '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0"'
    ' fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0"'
    ' xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>',
}
_EXCEL_EPOCH = datetime(1899, 12, 30)
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_LETTERS = [chr(65 + i) if i < 26 else "A" + chr(65 + i - 26) for i in range(52)]
_ROWS_PER_WRITE = 2_000


def write_xlsx(path: Path, rows: Iterable[tuple[int, Sequence[object]]], *, zip64: bool = False) -> None:
    """Write a one-sheet workbook from ``(sheet row number, cells)`` pairs, streaming the rows.

    Row numbers count from 1 and must increase (a gap leaves blank rows, e.g. under a title).
    Each cell is ``None`` (left empty), a ``datetime`` (an Excel date-time, shown dd/mm/yyyy
    hh:mm), a ``date`` (an Excel date, shown dd/mm/yyyy) or anything else, written as the text
    of ``str(value)``; at most 52 cells a row (columns A to AZ). ``rows`` may be a generator, so
    a sheet of millions of rows needs little memory; pass ``zip64=True`` for a sheet that may
    pass 2 GiB of XML. The same rows give the same bytes.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in _PARTS.items():
            data = (_DECLARATION + xml).encode()
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
        sheet = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=_ZIP_TIME)
        sheet.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(sheet, "w", force_zip64=zip64) as out:
            out.write(f"{_DECLARATION}<worksheet {_MAIN}><sheetData>".encode())
            batch: list[str] = []
            previous = 0
            for number, cells in rows:
                if number <= previous:
                    raise ValueError(f"sheet row {number} comes after row {previous}: row numbers must increase")
                batch.append(_row(number, cells))
                previous = number
                if len(batch) == _ROWS_PER_WRITE:
                    out.write("".join(batch).encode())
                    batch.clear()
            out.write(("".join(batch) + "</sheetData></worksheet>").encode())


def _row(number: int, cells: Sequence[object]) -> str:
    if len(cells) > len(_LETTERS):
        raise ValueError(f"row {number} has {len(cells)} cells; write_xlsx writes at most {len(_LETTERS)} (A to AZ)")
    return f'<row r="{number}">' + "".join(_cell(f"{_LETTERS[j]}{number}", v) for j, v in enumerate(cells)) + "</row>"


def _cell(ref: str, value: object) -> str:
    if value is None:
        return ""
    if type(value) is str:  # the common case first
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'
    if isinstance(value, datetime):  # a real Excel date-time: serial days, style 2
        delta = value - _EXCEL_EPOCH
        return f'<c r="{ref}" s="2"><v>{delta.days + delta.seconds / 86400!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="1"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'
