"""The workbook's small-number rule (pipelines/board/suppression.py): primary and secondary.

The secondary rule is checked two ways: against the suppression a person works out by hand
(DfE/ONS practice: suppress the next-smallest cell of a row or column through a suppressed
cell, never a zero), and against brute force — every completion of the hidden cells that a
reader could find consistent with the shown cells must leave each suppressed cell undecided.
"""

from __future__ import annotations

import pytest

from pipelines.board.suppression import (
    SECONDARY,
    FigureCounts,
    Relation,
    protect,
    protect_data_quality,
    protect_figures,
    shown_count,
    suppress,
)

# --- primary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "unit", "expected"),
    [
        (0, 100, "percent", (0, 100, False)),
        (1, 100, "percent", ("<5", 100, True)),
        (3, 40, "percent", ("<5", 40, True)),
        (4, 100, "percent", ("<5", 100, True)),
        (5, 100, "percent", (5, 100, False)),
        (0, 5, "percent", (0, 5, False)),
        (0, 3, "percent", (0, "<5", True)),  # a percentage of a small denominator
        (2, 2, "percent", ("<5", "<5", True)),
        (0, 0, "percent", (0, 0, False)),  # the marts give no value; nothing to hide
        (3, 20_000, "per_10000", ("<5", 20_000, True)),
        (12, 20_000, "per_10000", (12, 20_000, False)),
        (6, 4, "per_10000", (6, "<5", False)),  # a small population is shown <5; the rate is not from it
        (None, None, "percent", (None, None, True)),  # counts unknown: never show the value
        (None, 100, "per_10000", (None, 100, True)),
    ],
)
def test_primary_rule_for_one_value(numerator, denominator, unit, expected):
    shown = suppress(numerator, denominator, unit, below=5)
    assert (shown.numerator, shown.denominator, shown.is_value_hidden) == expected


def test_threshold_comes_from_settings():
    assert suppress(7, 100, "percent", below=10).numerator == "<10"
    assert suppress(7, 100, "percent", below=10).is_value_hidden
    assert shown_count(10, below=10) == 10


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="negative"):
        shown_count(-1, below=5)
    with pytest.raises(ValueError, match="negative"):
        protect({"a": -2}, [], below=5)
    with pytest.raises(ValueError, match="unit"):
        suppress(1, 2, "per_1000", below=5)


# --- brute force: what a reader can work out ---------------------------------------------------


def feasible_values(counts, relations, shown, display, *, below=5, ceiling=None):
    """For every cell the reader cannot read, the values consistent with everything shown.

    The reader knows the shown numbers, that ``<5`` means 1-4, that every count is a whole
    number ≥ 0 no larger than the largest shown total, and the relations.
    """
    ceiling = ceiling or max(value for value in counts.values() if value is not None)
    hidden = [key for key in counts if key not in shown or isinstance(display(key), str)]
    domains = {}
    for key in hidden:
        if key in shown and display(key) == f"<{below}":
            domains[key] = range(1, below)
        else:
            domains[key] = range(0, ceiling + 1)
    known = {key: counts[key] for key in counts if key not in hidden}
    usable = [relation for relation in relations if relation.holds(counts)]
    found = {key: set() for key in hidden}

    def consistent(values, complete):
        for relation in usable:
            cells = relation.cells
            if all(cell in values for cell in cells):
                if sum(values[cell] for cell in relation.whole) != sum(values[cell] for cell in relation.parts):
                    return False
        return True

    def search(index, values):
        if not consistent(values, index == len(hidden)):
            return
        if index == len(hidden):
            for key in hidden:
                found[key].add(values[key])
            return
        key = hidden[index]
        for value in domains[key]:
            values[key] = value
            search(index + 1, values)
        del values[key]

    search(0, dict(known))
    return found


def assert_nothing_recoverable(counts, relations, protection, shown=None, **kwargs):
    shown = set(counts) if shown is None else set(shown)
    found = feasible_values(counts, relations, shown, protection.display, **kwargs)
    assert all(found[key] for key in found), "the true counts must be feasible"
    for key in protection.primary | protection.secondary:
        assert counts[key] in found[key]
        assert len(found[key]) > 1, f"{key!r} can be worked out: {sorted(found[key])}"


# --- secondary: received = staged + quarantined ------------------------------------------------

FILES = [
    {"extract": "police", "rows_received": 20, "rows_staged": 17, "rows_quarantined": 3},
    {"extract": "la", "rows_received": 12, "rows_staged": 12, "rows_quarantined": 0},
]


def _file_relations():
    """The same relations the Data quality sheet has: rows, column totals, the totals row."""
    columns = ("rows_received", "rows_staged", "rows_quarantined")
    counts, relations = {}, []
    for index, file in enumerate(FILES):
        for column in columns:
            counts[("file", index, column)] = file[column]
        relations.append(Relation((("file", index, "rows_received"),),
                                  (("file", index, "rows_staged"), ("file", index, "rows_quarantined"))))
    for column in columns:
        counts[("total", column)] = sum(file[column] for file in FILES)
        relations.append(Relation((("total", column),), tuple(("file", index, column) for index in range(len(FILES)))))
    relations.append(Relation((("total", "rows_received"),), (("total", "rows_staged"), ("total", "rows_quarantined"))))
    return counts, relations


def test_primary_alone_would_let_a_small_count_be_subtracted_out():
    # The problem the secondary rule solves: 3 shown as <5, but 20 - 17 = 3.
    counts, relations = _file_relations()
    primary_only = {key: shown_count(value, 5) for key, value in counts.items()}
    assert primary_only[("file", 0, "rows_quarantined")] == "<5"
    assert primary_only[("file", 0, "rows_received")] - primary_only[("file", 0, "rows_staged")] == 3


def test_staged_received_quarantined_cannot_be_differenced():
    protection = protect_data_quality(FILES, [], below=5)
    shown = {key: protection.display(key) for key in protection.counts}
    # By hand: police's 3 quarantined is <5 (and so is the quarantined total, 3). Its row needs a
    # second hidden cell: the next-smallest, staged 17. The staged column then needs one: la's 12
    # would not do (la's row, 12 = staged + 0, gives it back), so the column's total 29 goes.
    # The totals row, 32 = c + <5, then holds two hidden cells. la's row and received stay.
    assert shown == {
        ("file", 0, "rows_received"): 20, ("file", 0, "rows_staged"): SECONDARY,
        ("file", 0, "rows_quarantined"): "<5",
        ("file", 1, "rows_received"): 12, ("file", 1, "rows_staged"): 12, ("file", 1, "rows_quarantined"): 0,
        ("total", "rows_received"): 32, ("total", "rows_staged"): SECONDARY, ("total", "rows_quarantined"): "<5",
    }
    counts, relations = _file_relations()
    assert_nothing_recoverable(counts, relations, protection)


def test_rule_counts_are_tied_to_the_files_quarantined_rows():
    files = [{"extract": "police", "rows_received": 30, "rows_staged": 20, "rows_quarantined": 10}]
    rules = [{"extract": "police", "rule": "unknown code", "rows_quarantined": 2},
             {"extract": "police", "rule": "bad date", "rows_quarantined": 8}]
    protection = protect_data_quality(files, rules, below=5)
    # 10 - 8 = 2: the 8 must go (the next-smallest cell of the extract's rules), and the rules'
    # total 10 (= the file's 10) then still shows, as two rule counts are hidden.
    assert protection.display(("rule", 0)) == "<5"
    assert protection.display(("rule", 1)) == SECONDARY
    assert protection.display(("file", 0, "rows_quarantined")) == 10


def test_nothing_is_suppressed_without_a_small_count_and_zeros_stay():
    files = [{"extract": "a", "rows_received": 20, "rows_staged": 20, "rows_quarantined": 0},
             {"extract": "b", "rows_received": 0, "rows_staged": 0, "rows_quarantined": 0}]
    protection = protect_data_quality(files, [], below=5)
    assert not protection.primary and not protection.secondary
    assert protection.display(("file", 0, "rows_quarantined")) == 0


def test_a_row_with_two_small_cells_needs_nothing_more():
    counts = {"total": 7, "a": 3, "b": 4}
    relations = [Relation(("total",), ("a", "b"))]
    protection = protect(counts, relations, below=5)
    assert protection.primary == {"a", "b"} and not protection.secondary
    assert_nothing_recoverable(counts, relations, protection)


def test_a_generic_two_way_table_is_protected():
    # 2 x 3 table with row and column totals; one small cell.
    cells = {("r1", "c1"): 10, ("r1", "c2"): 2, ("r1", "c3"): 9, ("r2", "c1"): 8, ("r2", "c2"): 7, ("r2", "c3"): 6}
    counts = dict(cells)
    relations = []
    for row in ("r1", "r2"):
        counts[(row, "total")] = sum(value for (r, _), value in cells.items() if r == row)
        relations.append(Relation(((row, "total"),), tuple(key for key in cells if key[0] == row)))
    for column in ("c1", "c2", "c3"):
        counts[("total", column)] = sum(value for (_, c), value in cells.items() if c == column)
        relations.append(Relation((("total", column),), tuple(key for key in cells if key[1] == column)))
    protection = protect(counts, relations, below=5)
    # By hand: 2 is <5. No single other cell protects it (its row or its column gives it back),
    # so the textbook rectangle: its column's next-smallest 7, its row's next-smallest 9, and
    # the corner 6 that closes the rectangle. Totals and the 10 stay shown.
    assert protection.display(("r1", "c2")) == "<5"
    assert protection.display(("r1", "c3")) == SECONDARY
    assert protection.display(("r2", "c2")) == SECONDARY
    assert protection.display(("r2", "c3")) == SECONDARY
    assert protection.display(("r1", "c1")) == 10 and protection.display(("total", "c2")) == 9
    assert_nothing_recoverable(counts, relations, protection, ceiling=30)


# --- indicator figures -------------------------------------------------------------------------


def test_a_percentage_close_to_100_gives_away_its_small_rest():
    # 38 of 41 referred: 3 not referred. The numerator is suppressed (c), and so the value.
    shown = suppress(38, 41, "percent", below=5)
    assert (shown.numerator, shown.denominator, shown.is_value_hidden) == (SECONDARY, 41, True)


def test_tees_sum_cannot_give_away_the_one_suppressed_la():
    # Rates: each shown rate gives its numerator (populations are public), and the Tees rate the
    # sum. Hartlepool's 3 would be 153 - 40 - 50 - 60: the next-smallest LA (40) is hidden too.
    areas = {"E06000001": FigureCounts(3, 20_000), "E06000002": FigureCounts(40, 30_000),
             "E06000003": FigureCounts(50, 30_000), "E06000004": FigureCounts(60, 40_000),
             "Tees": FigureCounts(153, 120_000)}
    shown = protect_figures("per_10000", areas, below=5, counts_shown_for={"E06000001"}, total="Tees")
    assert shown["E06000001"].numerator == "<5" and shown["E06000001"].is_value_hidden
    assert shown["E06000002"].is_value_hidden  # the complementary suppression
    assert not shown["E06000003"].is_value_hidden and not shown["E06000004"].is_value_hidden
    assert not shown["Tees"].is_value_hidden
    # The reader's view: numerators of the areas whose rate is shown, and the sum relation.
    counts = {area: figure.numerator for area, figure in areas.items()}
    relations = [Relation(("Tees",), ("E06000001", "E06000002", "E06000003", "E06000004"))]
    visible = {area for area, figure in shown.items() if not figure.is_value_hidden} | {"E06000001"}
    display = {area: ("<5" if area == "E06000001" else (SECONDARY if shown[area].is_value_hidden else counts[area]))
               for area in counts}
    found = feasible_values(counts, relations, visible, display.__getitem__, ceiling=160)
    assert len(found["E06000001"]) > 1 and len(found["E06000002"]) > 1


def test_percentages_of_other_las_do_not_trigger_complements():
    # Only the board's counts are printed: other LAs' percentages alone do not give counts.
    areas = {"E06000001": FigureCounts(30, 100), "E06000002": FigureCounts(3, 50), "Tees": FigureCounts(33, 150)}
    shown = protect_figures("percent", areas, below=5, counts_shown_for={"E06000001"}, total="Tees")
    assert shown["E06000002"].is_value_hidden  # primary: a small numerator
    assert not shown["E06000001"].is_value_hidden and not shown["Tees"].is_value_hidden


# --- a large table: the kept pseudo-inverse --------------------------------------------------


def _exact_rank(rows: list[list[int]]) -> int:
    """Rank by Gaussian elimination over the rationals (no floating point)."""
    from fractions import Fraction

    matrix = [[Fraction(value) for value in row] for row in rows]
    rank, columns = 0, len(matrix[0]) if matrix else 0
    for column in range(columns):
        pivot = next((row for row in range(rank, len(matrix)) if matrix[row][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for row in range(len(matrix)):
            if row != rank and matrix[row][column] != 0:
                factor = matrix[row][column] / matrix[rank][column]
                matrix[row] = [a - factor * b for a, b in zip(matrix[row], matrix[rank], strict=True)]
        rank += 1
    return rank


def _two_way_table(n_rows: int, n_columns: int, seed: int):
    """A table with row totals, column totals and a grand total; about one cell in eight small."""
    import random

    rng = random.Random(seed)
    counts, relations = {}, []
    for r in range(n_rows):
        for c in range(n_columns):
            counts[(r, c)] = rng.choice([1, 2, 3, 4]) if rng.random() < 0.12 else rng.randint(5, 60)
    for r in range(n_rows):
        counts[(r, "total")] = sum(counts[(r, c)] for c in range(n_columns))
        relations.append(Relation(((r, "total"),), tuple((r, c) for c in range(n_columns))))
    for c in [*range(n_columns), "total"]:
        counts[("total", c)] = sum(counts[(r, c)] for r in range(n_rows))
        relations.append(Relation((("total", c),), tuple((r, c) for r in range(n_rows))))
    return counts, relations


def test_a_large_table_leaves_no_suppressed_count_recoverable():
    """A 16 x 10 table (~20 small cells, a dozen complements, most found with the pseudo-inverse
    updated one hidden cell at a time): afterwards no hidden cell can be worked out. Checked
    exactly, by rational arithmetic: a hidden cell is recoverable when its unit vector adds
    nothing to the rank of the relations over the hidden cells."""
    counts, relations = _two_way_table(16, 10, seed=3)
    protection = protect(counts, relations, below=5)
    hidden = [key for key in counts if protection.is_hidden(key)]
    assert len(protection.primary) >= 15 and len(protection.secondary) >= 10  # the case is a real one
    rows = []
    for relation in relations:
        row = [0] * len(hidden)
        for key in relation.whole:
            if key in hidden:
                row[hidden.index(key)] += 1
        for key in relation.parts:
            if key in hidden:
                row[hidden.index(key)] -= 1
        rows.append(row)
    rank = _exact_rank(rows)
    for position, key in enumerate(hidden):
        unit = [1 if column == position else 0 for column in range(len(hidden))]
        assert _exact_rank([*rows, unit]) == rank + 1, f"{key!r} can be worked out from the shown cells"


def test_the_kept_pseudo_inverse_follows_appended_columns():
    """``_System`` appends hidden cells one at a time (Greville's formula): after each, its
    pseudo-inverse equals numpy's ``pinv`` of the relations restricted to those cells, whether
    the new column lies in the others' column space or not."""
    import numpy as np

    from pipelines.board.suppression import _System

    counts, relations = _two_way_table(6, 5, seed=3)
    system = _System(list(counts), relations)
    order = [system.position[key] for key in [(0, 0), (0, 1), (1, 0), (1, 1), (0, "total"), ("total", 0), (2, 2), (2, 3), (3, 2)]]
    columns: list[int] = []
    in_space = outside = 0
    for column in order:
        before = system.matrix[:, sorted(columns)] if columns else np.zeros((len(system.matrix), 0))
        if columns:
            projection = before @ np.linalg.pinv(before) @ system.matrix[:, column]
            in_space += bool(np.allclose(projection, system.matrix[:, column]))
            outside += not np.allclose(projection, system.matrix[:, column])
        columns = sorted([*columns, column])
        kept = system.pseudo_inverse(columns)
        np.testing.assert_allclose(kept, np.linalg.pinv(system.matrix[:, columns]), atol=1e-9)
    assert in_space and outside  # both branches of the formula were taken
