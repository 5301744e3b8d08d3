"""Descriptions in ADF (Cloud) and wiki markup (Data Center): list, link and code block."""

from __future__ import annotations

from connectors.jira.adf import (
    adf_to_markdown,
    markdown_to_adf,
    markdown_to_wiki,
    normalize_markdown,
    wiki_to_markdown,
)

DESCRIPTION = """Read the [guide](https://example.com/guide) first.

- draft the outline
- ask `#team` for review

1. write
2. publish

```python
print("hello")
```"""


def test_markdown_becomes_adf_with_list_link_and_code_block() -> None:
    document = markdown_to_adf(DESCRIPTION)

    assert document["type"] == "doc" and document["version"] == 1
    paragraph, bullets, numbered, code = document["content"]
    assert paragraph == {
        "type": "paragraph",
        "content": [
            {"type": "text", "text": "Read the "},
            {
                "type": "text",
                "text": "guide",
                "marks": [{"type": "link", "attrs": {"href": "https://example.com/guide"}}],
            },
            {"type": "text", "text": " first."},
        ],
    }
    assert bullets["type"] == "bulletList"
    assert [item["type"] for item in bullets["content"]] == ["listItem", "listItem"]
    assert bullets["content"][1]["content"][0]["content"][1] == {
        "type": "text",
        "text": "#team",
        "marks": [{"type": "code"}],
    }
    assert numbered["type"] == "orderedList"
    assert code == {
        "type": "codeBlock",
        "attrs": {"language": "python"},
        "content": [{"type": "text", "text": 'print("hello")'}],
    }


def test_markdown_becomes_wiki_markup_with_list_link_and_code_block() -> None:
    assert markdown_to_wiki(DESCRIPTION) == (
        "Read the [guide|https://example.com/guide] first.\n\n"
        "* draft the outline\n* ask {{#team}} for review\n\n"
        "# write\n# publish\n\n"
        '{code:python}\nprint("hello")\n{code}'
    )


def test_both_formats_read_back_to_the_same_text() -> None:
    assert adf_to_markdown(markdown_to_adf(DESCRIPTION)) == DESCRIPTION
    assert wiki_to_markdown(markdown_to_wiki(DESCRIPTION)) == DESCRIPTION
    assert normalize_markdown(DESCRIPTION) == DESCRIPTION


def test_multi_line_paragraph_keeps_its_line_breaks() -> None:
    document = markdown_to_adf("first line\nsecond line")
    assert document["content"][0]["content"][1] == {"type": "hardBreak"}
    assert adf_to_markdown(document) == "first line\nsecond line"


def test_text_a_person_wrote_in_jira_survives_as_text() -> None:
    heading = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "heading",
                "attrs": {"level": 2},
                "content": [{"type": "text", "text": "Goal"}],
            }
        ],
    }
    assert adf_to_markdown(heading) == "Goal"
    assert wiki_to_markdown("h2. Goal\nsee [https://example.com]") == (
        "h2. Goal\nsee [https://example.com](https://example.com)"
    )


def test_empty_code_block_has_no_empty_text_node() -> None:
    assert markdown_to_adf("```\n```")["content"] == [
        {"type": "codeBlock", "attrs": {}, "content": []}
    ]
