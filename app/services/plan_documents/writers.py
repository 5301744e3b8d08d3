"""A plan document written in each format the readers read back."""

from __future__ import annotations

import json

from app.services.plan_documents.document import PlanDocument
from app.services.plan_documents.export import document_data
from app.services.plan_documents.importer import DocumentFormat

MEDIA_TYPES = {
    DocumentFormat.yaml: "application/yaml",
    DocumentFormat.json: "application/json",
    DocumentFormat.md: "text/markdown; charset=utf-8",
    DocumentFormat.csv: "text/csv; charset=utf-8",
}


def write_document(document: PlanDocument, fmt: DocumentFormat) -> str:
    from app.services.plan_documents.csv_writer import write_csv
    from app.services.plan_documents.markdown_writer import write_markdown
    from app.services.plan_documents.yaml_writer import write_yaml

    if fmt == DocumentFormat.json:
        return json.dumps(document_data(document), indent=2, ensure_ascii=False) + "\n"
    if fmt == DocumentFormat.md:
        return write_markdown(document)
    if fmt == DocumentFormat.csv:
        return write_csv(document)
    return write_yaml(document)
