"""The demo's files as agencies send them: one file per LA, trust or service, messily formatted.

Messiness (all valid per the contract): LA extracts come one file per LA (``--E06000001``),
police force-wide, A&E one file per trust (NTHFT = Hartlepool + Stockton, STHFT = Middlesbrough
+ Redcar, synthetic LAs in pairs ``TR01``...), treatment one file. Redcar (and every 4th
synthetic LA) and health send XLSX, with report title rows or leading blank rows, real Excel
date cells or text. CSVs are UTF-8, UTF-8 with BOM or Windows-1252 (police incidents always,
with a ``Notes`` column holding ``£`` and ``–``). Header spellings vary (``incident_id``,
``Incident ID``, ``INCIDENT_ID``, `` Incident Id ``), columns are shuffled, extra columns
added; dates are ISO or UK, datetimes with or without seconds; optional blanks are ``""``,
``N/A``, ``NULL``, ``NA`` or ``-``; codes and person ids come in lower case or padded; keys and
LA codes padded; NHS numbers sometimes spaced; notes hold quotes, commas and newlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.contract import Column, Extract, get_extract
from pipelines.demo.plant import MISSING_TOKENS, ExtractFile
from pipelines.demo.world import World
from pipelines.demo.xlsx import write_xlsx

SENDERS = {"NTHFT": "North Tees and Hartlepool NHS FT", "STHFT": "South Tees Hospitals NHS FT",
           "force": "Cleveland Police", "all": "Tees adult treatment services"}


@dataclass(frozen=True)
class Style:
    """How one file is formatted: drawn for each file and period by :func:`_style_for`."""

    is_xlsx: bool
    encoding: str = "utf-8"
    newline: str = "\n"
    header: str = "snake"  # snake | title | upper | padded
    shuffle: bool = False
    extras: tuple[str, ...] = ()
    dates: str = "iso"  # iso | uk | mixed
    seconds_share: float = 0.0
    excel_dates: float = 0.0  # share of date cells written as real Excel dates (XLSX)
    layout: str = "plain"  # plain | titled | blank_rows (XLSX)
    mess: float = 0.0  # share of code / id cells in lower case or padded
    tokens: tuple[str, ...] = ("",)
    nhs_spaced: float = 0.0


_ACRONYMS = {"id", "nhs", "dob", "la", "rhi", "dash", "marac", "vemt"}
_NOTES = ["Seen by duty team", "Referred to MASH, strategy discussion held", "Mum says \"fine\", no concerns",
          "Call from school,\nfollow-up booked", "Damage to property – approx £200", "Café staff raised concern",
          "Father’s address not known", "Joint visit with police, 2 officers", "Carer notified"]
_TEAMS = ["North", "South", "Central", "Locality 2", "Out of hours"]


def files_for(w: World, name: str, rows: pd.DataFrame, k: int) -> list[tuple[str, ExtractFile, Style]]:
    """The period's files of one extract, in name order: (file name, content, style)."""
    extract, files = get_extract(name), []
    for label, part in rows.groupby("_la", sort=True):
        f = ExtractFile(extract, str(label), {c: _as_array(part[c]) for c in part.columns}, len(part))
        style = _style_for(w, extract, str(label), k)
        files.append((f"{_file_label(name, str(label))}.{'xlsx' if style.is_xlsx else 'csv'}", f, style))
    return sorted(files, key=lambda item: item[0])


def write_file(w: World, path: Path, f: ExtractFile, style: Style, k: int) -> int:
    """Write one file; return its header's row number."""
    header, cells = _render(f, style, w.rng("render", k, f.extract.name, f.label))
    if style.is_xlsx:
        sender = {la.code: la.name for la in w.las}.get(f.label) or SENDERS.get(f.label, f"Trust {f.label}")
        at = _header_row(style)
        titles = [(1, [f"{sender} – {f.extract.title}"]), (2, [f"Period: {w.quarter(k).label}"])]
        rows = (titles if style.layout == "titled" else []) + [(at, header)]
        write_xlsx(path, rows + [(at + 1 + i, list(r)) for i, r in enumerate(zip(*[c.tolist() for c in cells]))])
    else:
        _write_csv(path, header, cells, style)
    return _header_row(style)


def _file_label(name: str, label: str) -> str:
    return name if label in ("", "all", "force") else f"{name}--{label}"


def _as_array(series: pd.Series) -> np.ndarray:
    """A writable numpy copy: datetimes as datetime64[s], text with None for missing."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.to_numpy().astype("datetime64[s]")
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy().copy()
    values = series.to_numpy(dtype=object).copy()
    values[pd.isna(values)] = None
    return values


def _header_name(name: str, kind: str) -> str:
    words = name.split("_")
    if kind == "title":
        return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in words)
    if kind == "upper":
        return name.upper()
    if kind == "padded":
        return " " + " ".join(w.capitalize() for w in words) + " "
    return name


def _style_for(w: World, extract: Extract, label: str, k: int) -> Style:
    rng = w.rng("style", k, extract.name, label)
    common = dict(header=str(rng.choice(["snake", "title", "upper", "padded"])), shuffle=bool(rng.random() < 0.3),
                  dates=str(rng.choice(["iso", "uk", "mixed"])), seconds_share=float(rng.choice([0, 0, 0.5, 1])),
                  mess=float(rng.choice([0, 0.02, 0.06])), nhs_spaced=float(rng.choice([0, 0.1, 0.5])),
                  tokens=tuple(rng.choice(MISSING_TOKENS, size=int(rng.integers(1, 4)), replace=False)))
    extras = [(), (), ("Notes",), ("Team",), ("Notes", "Team"), ("Worker",)][int(rng.integers(6))]
    la = next((x for x in w.las if x.code == label), None)
    if extract.source == "health" or (la is not None and la.sends_xlsx):
        layout = str(rng.choice(["plain", "titled", "blank_rows"]))
        if extract.name == "health_treatment_episodes":
            layout = "blank_rows"
        elif label == "NTHFT":
            layout = "titled"
        excel = 1.0 if label == "NTHFT" else float(rng.choice([0, 1, 1, 0.6]))
        return Style(True, layout=layout, excel_dates=excel, extras=extras, **common)
    if extract.name == "police_da_incidents" or (la is not None and la.index % 4 == 3):
        return Style(False, "cp1252", "\r\n", extras=("Notes", "Team")[: 1 + int(rng.random() < 0.5)], **common)
    encoding = "utf-8-sig" if (la.index % 4 == 0 if la else extract.name == "police_missing_reports") else "utf-8"
    return Style(False, encoding, str(rng.choice(["\n", "\r\n"])), extras=extras, **common)


def _format_dates(values: np.ndarray, column: Column, style: Style, rng: np.random.Generator) -> np.ndarray:
    index = pd.DatetimeIndex(values)
    iso, uk = "%Y-%m-%d", "%d/%m/%Y"
    if column.type == "datetime":
        with_seconds = rng.random(len(values)) < style.seconds_share
        iso_t = np.where(with_seconds, index.strftime(iso + " %H:%M:%S"), index.strftime(iso + " %H:%M"))
        uk_t = np.where(with_seconds, index.strftime(uk + " %H:%M:%S"), index.strftime(uk + " %H:%M"))
    else:
        iso_t, uk_t = np.asarray(index.strftime(iso)), np.asarray(index.strftime(uk))
    use_uk = {"iso": 0.0, "uk": 1.0, "mixed": 0.5}[style.dates]
    text = np.where(rng.random(len(values)) < use_uk, uk_t, iso_t).astype(object)
    if style.excel_dates:
        excel = rng.random(len(values)) < style.excel_dates
        as_python = np.array([None if pd.isna(d) else d.date() if column.type == "date" else d
                              for d in index.to_pydatetime()], dtype=object)
        text[excel] = as_python[excel]
    return text


def _mess(values: np.ndarray, share: float, rng: np.random.Generator, lower: bool) -> np.ndarray:
    out = values.copy()
    hit = np.flatnonzero((rng.random(len(out)) < share) & np.array([v is not None for v in out]))
    for i in hit.tolist():
        text = str(out[i])
        out[i] = (text.lower() if lower and rng.random() < 0.6 else text) + (" " if rng.random() < 0.5 else "")
        out[i] = (" " if rng.random() < 0.4 else "") + out[i]
    return out


def _render(f: ExtractFile, style: Style, rng: np.random.Generator) -> tuple[list[str], list[np.ndarray]]:
    """Contract columns (plus extras) as cell values, in the file's column order."""
    out: dict[str, np.ndarray] = {}
    for column in f.extract.columns:
        values = f.cols[column.name]
        if column.type in ("date", "datetime"):
            cells = _format_dates(values, column, style, rng)
            missing = np.isnat(values)
        else:
            cells = values.astype(object).copy()
            missing = np.array([v is None for v in cells], dtype=bool)
            if column.name == "nhs_number":
                spaced = (rng.random(f.n) < style.nhs_spaced) & ~missing
                cells[spaced] = [f"{v[:3]} {v[3:6]} {v[6:]}" for v in cells[spaced]]
            elif column.type == "code" or column.identifier == "person_id":
                cells = _mess(cells, style.mess, rng, lower=True)
            elif column.type == "la_code" or column.name in f.extract.key:
                cells = _mess(cells, style.mess / 2, rng, lower=False)
        token = np.array(style.tokens, dtype=object)[rng.integers(0, len(style.tokens), f.n)]
        if style.is_xlsx:
            token[token == ""] = None
        cells[missing] = token[missing]
        out[column.name] = cells
    for (i, name), text in f.overrides.items():
        out[name][i] = None if (style.is_xlsx and text == "") else text
    for extra in style.extras:
        choices = np.array(_NOTES if extra == "Notes" else _TEAMS, dtype=object)
        out[extra] = choices[rng.integers(0, len(choices), f.n)]
        if extra == "Notes":
            out[extra][rng.random(f.n) < 0.6] = ""
            out[extra][:1] = _NOTES[4]  # one non-ASCII value in every file with notes
    names = list(out)
    if style.shuffle:
        names = [names[i] for i in rng.permutation(len(names))]
    header = [_header_name(n, style.header) if n in f.cols else n for n in names]
    return header, [out[n] for n in names]


def _write_csv(path: Path, header: list[str], cells: list[np.ndarray], style: Style) -> None:
    frame = pd.DataFrame(dict(enumerate(cells)))
    frame.columns = header
    frame.to_csv(path, index=False, encoding=style.encoding, lineterminator=style.newline)

def _header_row(style: Style) -> int:
    return {"plain": 1, "titled": 4, "blank_rows": 3}[style.layout] if style.is_xlsx else 1
