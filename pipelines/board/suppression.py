"""Small numbers in the board workbook: the primary rule and secondary (complementary) suppression.

Primary (outputs.md, "Small numbers"): a count from 1 to ``below - 1`` is shown as ``<5``; a
value computed from such a count is shown as ``c``; 0 is shown as 0. The marts keep the exact
figures.

Secondary: no shown figure may let a suppressed count be worked out from other shown figures.
Figures in a table are tied by additive relations (rows received = staged + quarantined; a
total = the sum of its parts; a percentage's denominator = numerator + the rest; the Tees
count = the sum of the four LAs' counts). As in official statistics (complementary
suppression: DfE, ONS; the "relations" of the US Census Bureau's cell-suppression software),
whenever a suppressed cell can be recovered from the shown cells through those relations, the
next-smallest non-zero shown cell of a relation through it is suppressed as well (shown ``c``),
and the check repeats until no suppressed cell can be recovered. "Recovered" is checked
exactly, by linear algebra over all the relations at once (a hidden cell is determined when
its unit vector lies in the row space of the relations restricted to the hidden cells: the
Gaussian-elimination test of Statistics Norway's GaussSuppression), not only row by row.
Zero counts are never suppressed (unless nothing else can protect a cell).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

PRIMARY_PREFIX = "<"
SECONDARY = "c"  # also the symbol for a value computed from a suppressed count
UNITS = ("percent", "per_10000")

Key = Hashable


def shown_count(count: int | None, below: int) -> int | str | None:
    """A count under the primary rule alone: 1 to ``below - 1`` becomes ``<below``; 0 stays 0."""
    if count is None:
        return None
    count = int(count)
    if count < 0:
        raise ValueError(f"a count cannot be negative, got {count}")
    return f"{PRIMARY_PREFIX}{below}" if 1 <= count < below else count


def is_small(count: int | None, below: int) -> bool:
    return count is not None and 1 <= int(count) < below


@dataclass(frozen=True)
class Relation:
    """``sum(whole) == sum(parts)``: a fact a reader can use to difference shown figures."""

    whole: tuple[Key, ...]
    parts: tuple[Key, ...]

    @property
    def cells(self) -> tuple[Key, ...]:
        return (*self.whole, *self.parts)

    def holds(self, counts: Mapping[Key, int | None]) -> bool:
        values = [counts.get(key) for key in self.cells]
        if any(value is None for value in values):
            return False
        return sum(counts[key] for key in self.whole) == sum(counts[key] for key in self.parts)


@dataclass
class Protection:
    """Which cells of one set of related counts the workbook may show."""

    counts: dict[Key, int | None]
    below: int
    primary: set[Key] = field(default_factory=set)
    secondary: set[Key] = field(default_factory=set)

    def is_hidden(self, key: Key) -> bool:
        return key in self.primary or key in self.secondary

    def display(self, key: Key) -> int | str | None:
        """The count as shown: the number, ``<5`` (primary), ``c`` (secondary) or None."""
        if key in self.primary:
            return f"{PRIMARY_PREFIX}{self.below}"
        if key in self.secondary:
            return SECONDARY
        count = self.counts.get(key)
        return None if count is None else int(count)


class _System:
    """The relations as a matrix over every cell (rows: relations; +1 whole, -1 parts), built once,
    and the pseudo-inverse of its restriction to the hidden cells of the moment.

    ``protect`` hides one cell at a time: the pseudo-inverse of the restriction to one more
    column follows from the last one by Greville's column-append formula (O(rows x columns),
    where a singular value decomposition is O(rows x columns^2): ~200 of those were most of a
    region's data-quality sheet). Each pass of ``protect`` starts from an exact decomposition
    (``exact=True``), so the pass that finds nothing left to protect is judged on one."""

    def __init__(self, cells: Sequence[Key], relations: Sequence[Relation]) -> None:
        self.position = {key: index for index, key in enumerate(cells)}
        self.cells = list(cells)
        self.matrix = np.zeros((len(relations), len(cells)))
        for row, relation in enumerate(relations):
            for key in relation.whole:
                self.matrix[row, self.position[key]] += 1
            for key in relation.parts:
                self.matrix[row, self.position[key]] -= 1
        self._last: tuple[tuple[int, ...], np.ndarray, bool] | None = None  # columns, pseudo-inverse, from an SVD?
        self.relations = list(relations)
        self.touching: dict[Key, list[int]] = {}  # cell -> the relations through it (their positions)
        for number, relation in enumerate(self.relations):
            for key in dict.fromkeys(relation.cells):
                self.touching.setdefault(key, []).append(number)

    def determined(self, unknown: Collection[Key], *, exact: bool = False) -> set[Key]:
        """The ``unknown`` cells that the shown cells and the relations fix.

        Restricted to the unknown cells the relations are a linear system M x = b (b from the
        shown cells). A cell x_i is fixed exactly when the unit vector e_i lies in M's row space,
        that is, when the orthogonal projection onto that row space, M⁺M, keeps all of e_i's
        length: (M⁺M)_ii = 1. ``exact``: from a fresh singular value decomposition."""
        columns = [self.position[key] for key in self.cells if key in unknown]
        if not columns:
            return set()
        inverse = self.pseudo_inverse(columns, exact=exact)
        kept = np.einsum("ij,ji->i", inverse, self.matrix[:, columns])  # diag(M⁺M)
        free = 1.0 - kept > 1e-9
        return {self.cells[column] for column, is_free in zip(columns, free, strict=True) if not is_free}

    def pseudo_inverse(self, columns: list[int], *, exact: bool = False) -> np.ndarray:
        """The Moore-Penrose pseudo-inverse of the relations restricted to ``columns`` (sorted; all
        rows: those that do not touch the columns are zero, and so are their columns of the
        inverse). The last one is kept: asked again for the same columns, or for one more."""
        key = tuple(columns)
        last = self._last
        if last is not None and last[0] == key and (last[2] or not exact):
            return last[1]
        if last is not None and not exact and len(key) == len(last[0]) + 1 and set(last[0]) < set(key):
            added = (set(key) - set(last[0])).pop()
            inverse = self._appended(last[0], last[1], added)
            self._last = (key, inverse, False)
            return inverse
        inverse = self._from_svd(columns)
        self._last = (key, inverse, True)
        return inverse

    def _from_svd(self, columns: list[int]) -> np.ndarray:
        inverse = np.zeros((len(columns), len(self.matrix)))
        matrix = self.matrix[:, columns]
        rows = np.flatnonzero(np.abs(matrix).sum(axis=1) > 0)
        if len(rows):
            matrix = matrix[rows]
            # The reduced decomposition is enough (half the time of the full one); rank by numpy's
            # ``matrix_rank`` tolerance.
            u, singular, vt = np.linalg.svd(matrix, full_matrices=False)
            tolerance = singular.max() * max(matrix.shape) * np.finfo(float).eps
            rank = int((singular > tolerance).sum())
            inverse[:, rows] = (vt[:rank].T / singular[:rank]) @ u[:, :rank].T
        return inverse

    def _appended(self, columns: tuple[int, ...], inverse: np.ndarray, added: int) -> np.ndarray:
        """Greville: with A⁺ known and column c appended, d = A⁺c and r = c - Ad; b = r / (r·r) when
        c is outside A's column space (r is not 0), else b = A⁺ᵀd / (1 + d·d); then
        [A c]⁺ = [A⁺ - d bᵀ; bᵀ] (the new row placed where the column is, in sorted order)."""
        matrix = self.matrix[:, list(columns)]
        column = self.matrix[:, added]
        d = inverse @ column
        r = column - matrix @ d
        if np.abs(r).max(initial=0.0) > 1e-7:
            b = r / (r @ r)
        else:
            b = (inverse.T @ d) / (1.0 + d @ d)
        at = int(np.searchsorted(np.asarray(columns), added))
        return np.insert(inverse - np.outer(d, b), at, b, axis=0)


def protect(
    counts: Mapping[Key, int | None],
    relations: Sequence[Relation],
    *,
    below: int,
    shown: Collection[Key] | None = None,
) -> Protection:
    """Primary and secondary suppression of ``counts`` tied by ``relations``.

    ``shown`` are the cells the workbook displays (default: all). The others (e.g. a
    percentage's "rest", denominator − numerator) are never displayed but still take part in
    the relations, and are protected when small. Relations that do not hold for the exact
    counts (or involve an unknown count) are ignored: a reader cannot use them.
    """
    counts = dict(counts)
    for key, count in counts.items():
        if count is not None and int(count) < 0:
            raise ValueError(f"a count cannot be negative, got {count} for {key!r}")
    shown_cells = list(counts) if shown is None else [key for key in counts if key in set(shown)]
    order = {key: position for position, key in enumerate(counts)}
    usable = [relation for relation in relations if relation.holds(counts)]
    result = Protection(counts=counts, below=below)
    result.primary = {key for key, count in counts.items() if is_small(count, below)}
    shown_set = set(shown_cells)
    system = _System(list(counts), usable)
    while True:
        unknown = {key for key in counts if key not in shown_set or result.is_hidden(key) or counts[key] is None}
        determined = system.determined(unknown, exact=True)
        leaked = sorted((key for key in result.primary | result.secondary if key in determined), key=order.__getitem__)
        if not leaked:
            return result
        # Protect every cell found leaking in this pass (each complement chosen with those before
        # it in place), then look again: one decomposition per pass rather than per cell.
        for number, key in enumerate(leaked):
            if number:  # an earlier complement of this pass may already protect it
                unknown = {cell for cell in counts if cell not in shown_set or result.is_hidden(cell) or counts[cell] is None}
                if key not in system.determined(unknown):
                    continue
            result.secondary.add(_complement_for(key, counts, shown_set, result, order, system))


def _complement_for(leaked: Key, counts: Mapping[Key, int | None], shown: set[Key], result: Protection,
                    order: Mapping[Key, int], system: _System) -> Key:
    """The cell to suppress next so that ``leaked`` can no longer be worked out.

    The next-smallest non-zero shown cell of a relation through ``leaked`` that protects it on
    its own; failing that, one of the relations of its hidden neighbours (a chain of
    differences); failing that, the smallest cell of its own relations (and the search goes on).
    Zeros are taken only when nothing else is left.
    """
    def rank(key: Key) -> tuple:
        return (counts[key] == 0, counts[key], order[key])

    unknown = [cell for cell in system.cells if cell not in shown or result.is_hidden(cell) or counts[cell] is None]
    columns = [system.position[cell] for cell in unknown]
    known_part = system.matrix[:, columns]
    inverse = system.pseudo_inverse(columns)
    at = unknown.index(leaked)

    def protecting(keys: list[Key]) -> list[bool]:
        """For each of ``keys``: would hiding it too leave ``leaked`` open? With A the relations over
        the hidden cells and c the column of the key, the new null vectors are (x, 1) with
        A x = -c: they exist when c is in A's column space, and free ``leaked`` when x is not 0
        there (null(A) is 0 at ``leaked``, as it is fixed now, so every such x agrees there).
        All keys at once: one product with the pseudo-inverse."""
        if not keys:
            return []
        candidate_columns = system.matrix[:, [system.position[key] for key in keys]]
        x = -inverse @ candidate_columns
        residual = np.abs(known_part @ x + candidate_columns).max(axis=0, initial=0)
        return list((residual < 1e-7) & (np.abs(x[at]) > 1e-7))

    reached, frontier, seen = {leaked}, [leaked], set()
    first_level: list[Key] = []
    while frontier:
        # The relations not yet looked at through any frontier cell (in their order).
        nearby_numbers = sorted({number for key in frontier for number in system.touching.get(key, ())} - seen)
        seen.update(nearby_numbers)
        nearby = [system.relations[number] for number in nearby_numbers]
        cells = list(dict.fromkeys(key for relation in nearby for key in relation.cells))
        candidates = sorted((key for key in cells if key in shown and not result.is_hidden(key)
                             and counts[key] is not None), key=rank)
        if not first_level:
            first_level = candidates
        for key, is_protecting in zip(candidates, protecting(candidates), strict=True):
            if is_protecting:
                return key
        frontier = [key for key in cells if key not in reached and (key not in shown or result.is_hidden(key))]
        reached.update(frontier)
    if first_level:
        return first_level[0]
    raise RuntimeError(f"cannot protect {leaked!r}: no shown cell left to suppress")  # a bug, not bad data


# --- indicator figures -------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureCounts:
    """One indicator value's counts (numerator, denominator) for one area."""

    numerator: int | None
    denominator: int | None


@dataclass(frozen=True)
class ShownFigure:
    """What the workbook may show of one value and the counts behind it."""

    numerator: int | str | None
    denominator: int | str | None
    is_value_hidden: bool


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")


def protect_figures(
    unit: str,
    areas: Mapping[Key, FigureCounts],
    *,
    below: int,
    counts_shown_for: Collection[Key] = (),
    total: Key | None = None,
) -> dict[Key, ShownFigure]:
    """Suppression for one indicator and quarter across areas (LAs, and the Tees figure).

    ``counts_shown_for``: areas whose numerator and denominator the workbook prints (the
    board's LA); for the others only the value is shown. A rate's population is public, so a
    shown rate gives away its numerator; a percentage's value does so only with its
    denominator. ``total``: the area whose counts are the sums of all the others' (Tees).
    A value is hidden (``c``) when its numerator, or for a percentage its denominator, is
    suppressed, or when its numerator is unknown (the workbook cannot show that it is safe).
    """
    _check_unit(unit)
    counts: dict[Key, int | None] = {}
    shown: set[Key] = set()
    relations: list[Relation] = []
    for area, figure in areas.items():
        counts[("numerator", area)] = figure.numerator
        counts[("denominator", area)] = figure.denominator
        if area in counts_shown_for:
            shown.update({("numerator", area), ("denominator", area)})
        elif unit == "per_10000":
            shown.add(("numerator", area))  # value × public population / 10,000
        if unit == "percent":
            rest = None
            if figure.numerator is not None and figure.denominator is not None:
                rest = max(int(figure.denominator) - int(figure.numerator), 0)
            counts[("rest", area)] = rest
            relations.append(Relation((("denominator", area),), (("numerator", area), ("rest", area))))
    if total is not None and total in areas:
        members = [area for area in areas if area != total]
        relations.append(Relation((("numerator", total),), tuple(("numerator", area) for area in members)))
        if unit == "percent":
            relations.append(Relation((("denominator", total),), tuple(("denominator", area) for area in members)))
    protection = protect(counts, relations, below=below, shown=shown)
    figures = {}
    for area, figure in areas.items():
        numerator, denominator = ("numerator", area), ("denominator", area)
        hidden = (
            figure.numerator is None
            or protection.is_hidden(numerator)
            or (unit == "percent" and protection.is_hidden(denominator))
        )  # a rate's small population is shown <5, but the rate does not come from a small count
        figures[area] = ShownFigure(protection.display(numerator), protection.display(denominator), hidden)
    return figures


def suppress(numerator: int | None, denominator: int | None, unit: str, *, below: int) -> ShownFigure:
    """One value on its own (its numerator and denominator shown beside it)."""
    return protect_figures(unit, {"area": FigureCounts(numerator, denominator)}, below=below,
                           counts_shown_for={"area"})["area"]


# --- data quality -----------------------------------------------------------------------------

FILE_COUNTS = ("rows_received", "rows_staged", "rows_quarantined")


def protect_data_quality(files: Sequence[Mapping], rules: Sequence[Mapping], *, below: int) -> Protection:
    """The Data quality sheet's counts: per file received = staged + quarantined; the totals
    row; quarantined rows by extract and rule, their total, and per extract the rule counts
    against the files' quarantined rows.

    Keys: ``("file", i, column)``, ``("total", column)``, ``("rule", j)``, ``("rules total",)``.
    """
    counts: dict[Key, int | None] = {}
    relations: list[Relation] = []
    for index, file in enumerate(files):
        for column in FILE_COUNTS:
            counts[("file", index, column)] = file[column]
        relations.append(Relation((("file", index, "rows_received"),),
                                  (("file", index, "rows_staged"), ("file", index, "rows_quarantined"))))
    for column in FILE_COUNTS:
        counts[("total", column)] = sum(file[column] or 0 for file in files)
        relations.append(Relation((("total", column),), tuple(("file", index, column) for index in range(len(files)))))
    relations.append(Relation((("total", "rows_received"),), (("total", "rows_staged"), ("total", "rows_quarantined"))))
    for index, rule in enumerate(rules):
        counts[("rule", index)] = rule["rows_quarantined"]
    if rules:
        counts[("rules total",)] = sum(rule["rows_quarantined"] for rule in rules)
        relations.append(Relation((("rules total",),), tuple(("rule", index) for index in range(len(rules)))))
        relations.append(Relation((("total", "rows_quarantined"),), (("rules total",),)))
        for extract in dict.fromkeys(rule["extract"] for rule in rules):
            relations.append(Relation(
                tuple(("file", index, "rows_quarantined") for index, file in enumerate(files)
                      if file["extract"] == extract),
                tuple(("rule", index) for index, rule in enumerate(rules) if rule["extract"] == extract),
            ))
    return protect(counts, relations, below=below)


__all__ = [
    "SECONDARY",
    "FigureCounts",
    "Protection",
    "Relation",
    "ShownFigure",
    "is_small",
    "protect",
    "protect_data_quality",
    "protect_figures",
    "shown_count",
    "suppress",
]
