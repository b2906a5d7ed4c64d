"""The validation site (GX Data Docs): built from the run's validation results, with no NHS number,
person id or date of birth on any page, not even an invalid one GX did not expect."""

from __future__ import annotations

import html.parser
import re
from pathlib import Path

import pytest

from extract_rows import rows_for, write_csv
from pipelines.contract import load_contract
from pipelines.datadocs import build_site, mask_result
from pipelines.intake import intake

EXTRACT = load_contract()["health_ae_attendances"]


def _item(kind: str, kwargs: dict, result: dict) -> dict:
    return {"success": False, "expectation_config": {"type": kind, "kwargs": kwargs, "meta": {}}, "result": result,
            "meta": {}, "exception_info": {"raised_exception": False}}


def test_mask_result_shows_identifiers_only_by_their_shape_and_keeps_everything_else():
    result = {
        "suite_name": "health_ae_attendances", "success": False, "statistics": {}, "meta": {},
        "results": [
            _item("expect_column_values_to_match_regex", {"column": "nhs_number", "regex": r"^\d{10}$"}, {
                "element_count": 10, "unexpected_count": 3,
                "partial_unexpected_list": ["12345", "94347X5919", "54321"],
                "partial_unexpected_counts": [{"value": "12345", "count": 2}, {"value": "94347X5919", "count": 1},
                                              {"value": "54321", "count": 1}],
                "partial_unexpected_index_list": [0, 4, 7],
                "unexpected_list": ["12345", "94347X5919", "12345", "54321"], "unexpected_index_list": [0, 4, 5, 7],
                "unexpected_index_query": "df.filter(items=[0, 4, 5, 7], axis=0)",
            }),
            _item("expect_column_values_to_match_strftime_format", {"column": "dob", "strftime_format": "%Y-%m-%d"}, {
                "element_count": 10, "unexpected_count": 1, "partial_unexpected_list": ["31/02/2005"],
                "partial_unexpected_counts": [{"value": "31/02/2005", "count": 1}], "unexpected_list": ["31/02/2005"],
            }),
            _item("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "arrived_at__day", "column_B": "dob__day"}, {
                "element_count": 10, "unexpected_count": 1,
                "partial_unexpected_list": [["2018-10-05", "2030-01-01"]],
                "partial_unexpected_counts": [{"value": ["2018-10-05", "2030-01-01"], "count": 1}],
            }),
            _item("expect_column_max_to_be_between", {"column": "dob__day"}, {"observed_value": "2030-01-01", "details": {"max": "2030-01-01"}}),
            _item("expect_column_values_to_be_in_set", {"column": "nhs_number__is_valid", "value_set": [True]}, {
                "element_count": 10, "unexpected_count": 1, "partial_unexpected_list": [False],
                "partial_unexpected_counts": [{"value": False, "count": 1}],
            }),
            _item("expect_column_values_to_be_in_set", {"column": "sex", "value_set": ["M", "F"]}, {
                "element_count": 10, "unexpected_count": 1, "partial_unexpected_list": ["Q"],
                "partial_unexpected_counts": [{"value": "Q", "count": 1}], "unexpected_list": ["Q"],
            }),
        ],
    }
    masked = mask_result(result, EXTRACT)
    nhs, dob, pair, maximum, check, sex = (item["result"] for item in masked["results"])
    assert nhs["partial_unexpected_list"] == ["99999", "99999X9999", "99999"]
    # Masking merges values of one shape: 12345 (2) and 54321 (1) are three of 99999.
    assert nhs["partial_unexpected_counts"] == [{"value": "99999", "count": 3}, {"value": "99999X9999", "count": 1}]
    assert nhs["partial_unexpected_index_list"] == [0, 4, 7] and nhs["unexpected_count"] == 3
    assert not {"unexpected_list", "unexpected_index_list", "unexpected_index_query"} & set(nhs)
    assert dob["partial_unexpected_list"] == ["99/99/9999"]
    assert pair["partial_unexpected_list"] == [["2018-10-05", "9999-99-99"]]  # the event date is no identifier
    assert pair["partial_unexpected_counts"] == [{"value": ["2018-10-05", "9999-99-99"], "count": 1}]
    assert maximum == {"observed_value": "9999-99-99", "details": {"max": "9999-99-99"}}
    assert check["partial_unexpected_list"] == [False]
    assert sex["partial_unexpected_list"] == ["Q"] and "unexpected_list" not in sex
    assert result["results"][0]["result"]["partial_unexpected_list"][0] == "12345", "the input is not changed"


# Invalid identifiers as agencies send them: NHS numbers failing the modulus-11 check or of the
# wrong shape, and dates of birth in the future, before 1900, or not real dates.
BAD_NHS = ["1234567890", "9434765918", "943476591", "94347659190", "94347X5919", "4010232138"]
BAD_DOB = ["2031-05-17", "1890-02-03", "31/02/2009", "2009-13-01", "2030-01-01", "2019-02-30"]
BAD_IDS = ["ZZ900417", "P-77Q-ab", "007QX", "X"]


def _leaky_inputs(raw: Path) -> set[str]:
    folder = raw / "2018-19-Q3"
    identifiers: set[str] = set()
    ae = rows_for("health_ae_attendances", 20)
    for row, nhs, dob in zip(ae, BAD_NHS, BAD_DOB, strict=False):
        row["nhs_number"], row["dob"] = nhs, dob
    write_csv(folder / "health_ae_attendances.csv", ae)
    incidents = rows_for("police_da_incidents", 1)
    incidents[0]["incident_id"] = "I1"
    write_csv(folder / "police_da_incidents.csv", incidents)
    children = rows_for("police_da_children", 20)
    for index, row in enumerate(children):
        row["person_id"] = BAD_IDS[index % len(BAD_IDS)] if index < len(BAD_IDS) else row["person_id"]
        row["nhs_number"] = BAD_NHS[index % len(BAD_NHS)]
        row["dob"] = BAD_DOB[index % len(BAD_DOB)]
    children[-1]["person_id"] = children[0]["person_id"]  # a repeated key, to make GX list the id column
    write_csv(folder / "police_da_children.csv", children)
    plans = rows_for("la_cp_plans", 10)
    for row, dob in zip(plans, BAD_DOB, strict=False):
        row["dob"], row["child_id"] = dob, "C" + dob.replace("-", "").replace("/", "")
        identifiers.add(row["child_id"])
    plans[0]["nhs_number"] = BAD_NHS[0]
    write_csv(folder / "la_cp_plans.csv", plans)
    return identifiers | set(BAD_NHS) | set(BAD_DOB) | {i for i in BAD_IDS if len(i) >= 4}


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.links += [value for name, value in attrs if name == "href" and value]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from pipelines.cli import prefect_environment  # noqa: F401  (conftest set GX quiet)
    import duckdb

    root = tmp_path_factory.mktemp("datadocs")
    identifiers = _leaky_inputs(root / "raw")
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as work")
        result = intake(root / "raw", con, progress=lambda message: None)
    index = build_site(result.validation_results, root / "site", run_name="pmf-refresh-test")
    return {"index": index, "root": root / "site", "identifiers": identifiers, "result": result}


def test_the_site_has_every_suite_and_a_page_per_validation_result(site):
    # GX's index lists suites and results in a table it fills from data in the page's script.
    links = set(re.findall(r"""(?:href="|'_table_row_link_path': ')([^"']+)""", site["index"].read_text(encoding="utf-8")))
    suites = {name for name in load_contract()}
    assert {link for link in links if link.startswith("expectations/")} == {f"expectations/{name}.html" for name in suites}
    validated = {re.match(r"validations/([^/]+)/", link)[1] for link in links if link.startswith("validations/")}
    assert validated == {"health_ae_attendances", "police_da_incidents", "police_da_children", "la_cp_plans"}
    for link in links:
        if not link.startswith(("http", "#", "mailto")):
            assert (site["root"] / link).is_file(), link


def test_no_identifier_appears_on_any_page_even_the_unexpected_values(site):
    pages = sorted(site["root"].rglob("*.html"))
    assert len(pages) >= 10 + 4 + 1
    shapes_seen = 0
    for page in pages:
        raw_html = page.read_text(encoding="utf-8")
        parsed = _Page()
        parsed.feed(raw_html)
        found = {value for value in site["identifiers"] if value in raw_html}
        assert not found, f"{page.relative_to(site['root'])} shows {sorted(found)}"
        shapes_seen += raw_html.count("9999999999") + raw_html.count("99/99/9999") + raw_html.count("9999-99-99")
    assert shapes_seen > 0, "the pages show the masked unexpected values (so the scan looked at them)"


def test_the_results_collected_are_the_runs_own(site):
    result = site["result"]
    suites = sorted(r["suite_name"] for r in result.validation_results)
    assert suites == ["health_ae_attendances", "la_cp_plans", "police_da_children", "police_da_incidents"]
    by_suite = {r["suite_name"]: r for r in result.validation_results}
    counts = {item["expectation_config"]["kwargs"].get("column"): item["result"].get("element_count")
              for item in by_suite["health_ae_attendances"]["results"]}
    assert counts["nhs_number"] == 20  # the 20 rows written above
