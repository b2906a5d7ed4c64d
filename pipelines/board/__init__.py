"""The board workbook (outputs.md, "Board workbook"): the marts, formatted for the HSCB board.

One module per sheet (``overview``, ``summary``, ``priority``, ``charts``, ``data_quality``,
``definitions``); ``marts`` reads the marts once and decides once what each figure may show;
``suppression`` is the small-number rule (primary and secondary); ``layout`` the cells, tables
and print set-up; ``workbook`` puts the sheets together.
"""

from pipelines.board.workbook import write_workbook

__all__ = ["write_workbook"]
