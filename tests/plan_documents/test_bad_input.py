"""Hostile and mistaken documents: a 4xx naming the place of each problem, and nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from app.services.plan_documents import yaml_reader
from app.services.plan_documents.places import DocumentInvalid
from tests.conftest import Tenant
from tests.plan_documents.documents import API, QUARTER, apply, listed


def _rejected(client: TestClient, tenant: Tenant, content: str | bytes, **kwargs: Any) -> Any:
    response = apply(client, tenant, content, **kwargs)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert listed(client, tenant, "plans") == [] and listed(client, tenant, "people") == []
    return response.json()


def _messages(problem: dict[str, Any]) -> list[str]:
    return [error["msg"] for error in problem["errors"]]


def test_a_misspelt_key_is_an_error_at_its_line_suggesting_the_right_one(
    client: TestClient, tenant: Tenant
) -> None:
    typo = QUARTER.replace(
        "        owner: grace@example.com\n", "        owenr: grace@example.com\n"
    )
    problem = _rejected(client, tenant, typo)
    assert _messages(problem) == [
        "line 28, column 9 ($.goals[0].items[1].owner): owner is required here.",
        "line 30, column 9 ($.goals[0].items[1].owenr): Unknown key 'owenr' "
        "(did you mean 'owner'?).",
    ]
    assert problem["errors"][1]["loc"] == ["body", "goals", 0, "items", 1, "owenr"]


def test_an_unknown_person_is_an_error_at_its_line(client: TestClient, tenant: Tenant) -> None:
    unknown = QUARTER.replace("owner: grace@example.com", "owner: linus@example.com")
    problem = _rejected(client, tenant, unknown)
    [message] = _messages(problem)
    assert message.startswith("line 30, column 9 ($.goals[0].items[1].owner): No person ")
    assert "'linus@example.com'" in message


def test_an_unknown_connection_is_an_error_naming_the_known_ones(
    client: TestClient, tenant: Tenant
) -> None:
    unknown = QUARTER.replace(
        "  end_date: 2027-03-31\n", "  end_date: 2027-03-31\n  connection: jira\n"
    )
    [message] = _messages(_rejected(client, tenant, unknown))
    assert message == (
        "line 7, column 3 ($.plan.connection): No connection named 'jira' in this workspace "
        "(connections: none yet)."
    )


def test_two_items_with_the_same_key_are_an_error(client: TestClient, tenant: Tenant) -> None:
    twice = QUARTER.replace("key: video", "key: guide")
    [message] = _messages(_rejected(client, tenant, twice))
    assert message == (
        "line 28, column 9 ($.goals[0].items[1].key): Two items keyed 'guide' "
        "(line 23, column 9 too)."
    )


@pytest.mark.parametrize("written", ["12/02/2027", "2027-2-12", "1800000000", "next friday"])
def test_a_date_in_another_format_is_an_error(
    client: TestClient, tenant: Tenant, written: str
) -> None:
    other = QUARTER.replace("due_date: 2027-02-12", f"due_date: {written}")
    [message] = _messages(_rejected(client, tenant, other))
    assert message == (
        "line 26, column 9 ($.goals[0].items[0].due_date): due_date: a date is written "
        "YYYY-MM-DD, e.g. 2027-02-12."
    )


def test_an_estimate_over_the_limit_is_an_error_asking_to_split_it(
    client: TestClient, tenant: Tenant
) -> None:
    big = QUARTER.replace("estimate_hours: 6", "estimate_hours: 24")
    [message] = _messages(_rejected(client, tenant, big))
    assert message == (
        "line 27, column 9 ($.goals[0].items[0].estimate_hours): An action item of 24 hours is "
        "too large: split it into steps of at most 16 hours each."
    )


def test_a_goal_without_a_title_is_an_error(client: TestClient, tenant: Tenant) -> None:
    untitled = QUARTER.replace("  - title: Fewer support tickets\n    owner", "  - owner")
    [message] = _messages(_rejected(client, tenant, untitled))
    assert message == "line 34, column 5 ($.goals[1].title): title is required here."


def test_a_document_over_the_body_limit_is_refused(client: TestClient, tenant: Tenant) -> None:
    huge = QUARTER + "#" * 5_000_000
    response = apply(client, tenant, huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert listed(client, tenant, "plans") == []


def test_a_yaml_anchor_bomb_is_refused_before_it_expands(
    client: TestClient, tenant: Tenant
) -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    [message] = _messages(_rejected(client, tenant, bomb))
    assert message == (
        "line 1, column 4 ($): YAML anchors and aliases (&name, *name) are not allowed in a "
        "plan document."
    )


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        ("[" * 100_000 + "]" * 100_000, "application/yaml"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
    ],
)
def test_deep_nesting_is_refused(
    client: TestClient, tenant: Tenant, content: str, media_type: str
) -> None:
    [message] = _messages(_rejected(client, tenant, content, media_type=media_type))
    assert "nests deeper than 12 levels" in message


def test_python_tags_are_refused(client: TestClient, tenant: Tenant) -> None:
    tagged = "plan: !!python/object/apply:os.system ['true']\n"
    [message] = _messages(_rejected(client, tenant, tagged))
    assert "The YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed" in message


def test_a_csv_without_a_required_column_is_an_error_at_its_header(
    client: TestClient, tenant: Tenant
) -> None:
    csv = (
        "plan,plan_start_date,plan_end_date,goal,goal_owner,title,owner,due_date\n"
        "Q1,2027-01-04,2027-03-31,Onboarding,ada@example.com,Guide,ada@example.com,2027-02-12\n"
    )
    [message] = _messages(_rejected(client, tenant, csv, media_type="text/csv"))
    assert message == "row 1 ($): The column 'estimate_hours' is missing."


def test_a_csv_row_that_breaks_a_rule_is_an_error_at_its_row_and_column(
    client: TestClient, tenant: Tenant
) -> None:
    csv = (
        "plan,plan_start_date,plan_end_date,goal,goal_owner,title,owner,due_date,estimate_hours\n"
        "Q1,2027-01-04,2027-03-31,Onboarding,ada@example.com,Guide,ada@example.com,2027-02-12,6\n"
        "Q1,2027-01-04,2027-03-31,Onboarding,ada@example.com,Video,ada@example.com,soon,6\n"
    )
    messages = _messages(_rejected(client, tenant, csv, media_type="text/csv"))
    assert (
        "row 3, column due_date ($.goals[0].items[1].due_date): due_date: a date is written "
        "YYYY-MM-DD, e.g. 2027-02-12." in messages
    )


def test_a_markdown_item_without_an_owner_is_an_error_at_its_line(
    client: TestClient, tenant: Tenant
) -> None:
    outline = (
        "# 2027 Q1 start:2027-01-04 end:2027-03-31\n"
        "person: Ada Lovelace <ada@example.com> 8h\n"
        "\n"
        "## Faster onboarding @ada@example.com\n"
        "\n"
        "- [ ] Write the onboarding guide due:2027-02-12 6h\n"
    )
    [message] = _messages(_rejected(client, tenant, outline, media_type="text/markdown"))
    assert message == "line 6, column 1 ($.goals[0].items[0].owner): owner is required here."


def test_a_misspelt_markdown_field_is_an_error_at_its_column(
    client: TestClient, tenant: Tenant
) -> None:
    outline = (
        "# 2027 Q1 start:2027-01-04 end:2027-03-31\n"
        "## Faster onboarding @ada@example.com\n"
        "- [ ] Write the guide @ada@example.com due:2027-02-12 6h stauts:done\n"
    )
    [message] = _messages(_rejected(client, tenant, outline, media_type="text/markdown"))
    assert message == "line 3, column 58 ($): Unknown field 'stauts' (did you mean 'status'?)."


@pytest.mark.parametrize(
    "media_type", ["application/yaml", "application/json", "text/csv", "text/markdown"]
)
@pytest.mark.parametrize(
    "content", [b"", b"\xff\xfe\x00garbage", b"plan: [unclosed", b"- just\n- a list\n"]
)
def test_garbage_is_a_422_never_a_500(
    client: TestClient, tenant: Tenant, content: bytes, media_type: str
) -> None:
    response = apply(client, tenant, content, media_type=media_type)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


def test_a_read_token_may_not_apply_a_document(client: TestClient, make_tenant: Any) -> None:
    from app.models import Scope

    reader = make_tenant("readers", Scope.read)
    response = apply(client, reader, QUARTER)
    assert response.status_code == 403
    assert client.get(f"{API}/plans", headers=reader.headers).json()["items"] == []


def test_the_yaml_parsers_own_nesting_limit_is_the_same_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyYAML 6.0.4 and later refuse 1,000 levels while scanning, before the reader's first
    event (as the 100,000 levels above do with it): the answer is still the nesting refusal."""
    mark = yaml.Mark("<document>", 1000, 0, 1000, None, None)

    def parser_refusing(*_: object, **__: object) -> Iterator[object]:
        raise yaml.scanner.ScannerError(
            "while scanning", mark, "exceeded maximum nesting depth", mark
        )
        yield  # a generator, as yaml.parse is

    monkeypatch.setattr(yaml_reader.yaml, "parse", parser_refusing)
    with pytest.raises(DocumentInvalid) as refused:
        yaml_reader.read_yaml("[" * 2000 + "]" * 2000)
    [problem] = refused.value.problems
    assert problem.code == "too_deep"
    assert "nests deeper than 12 levels" in problem.message
    assert (problem.line, problem.column) == (1, 1001)
