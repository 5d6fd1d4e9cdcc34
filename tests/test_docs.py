"""The project's documents are in the repository, and citations of them can be followed.

Code and documents cite `docs/architecture.md §N` and `docs/domain.md §N`. Two rules, checked
on the files themselves (no database):

- no file cites a design, style, performance or domain document other than the two in `docs/`
  (notes kept outside the repository cannot be followed by whoever picks the project up);
- every `docs/architecture.md §N` / `docs/domain.md §N` names a section that exists: a heading
  of that document numbered N (`## 3. …`, `### 3.2 …`). Only the first section after the file
  name is checked (`docs/domain.md §2.2` in "docs/domain.md §2.2 and §3").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("architecture", "domain")

# Where citations live: the code, the benchmarks, the tests, pages and scripts, the documents.
SCANNED_TREES = ("geogrid", "bench", "tests", "templates", "static/js", "gis_data", "deploy")
SCANNED_FILES = ("README.md", "Makefile", "static/vendor/README.md")
SKIPPED_SUFFIXES = {".mo", ".png", ".jpg", ".gpkg", ".geojson", ".csv", ".pyc"}

# A document name with the path written before it ("docs/", "../../docs/", "shared/", none).
MENTION = re.compile(r"([\w./-]*)\b(design|style|performance|domain)\.md\b")
# A citation may wrap onto the next line, behind a comment marker (#, //, *).
CITATION = re.compile(r"docs/(architecture|domain)\.md`?[\s#*/]*§\s*(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def scanned_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES]
    files += sorted((ROOT / "docs").glob("*.md"))
    for tree in SCANNED_TREES:
        files += sorted(
            p
            for p in (ROOT / tree).rglob("*")
            if p.is_file() and p.suffix not in SKIPPED_SUFFIXES and "__pycache__" not in p.parts
        )
    return [p for p in files if p.exists()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def foreign_mentions(text: str) -> list[str]:
    """Mentions of a design/style/performance/domain document that is not docs/domain.md."""
    return [
        match.group(0)
        for match in MENTION.finditer(text)
        if not (match.group(2) == "domain" and match.group(1).endswith("docs/"))
    ]


def sections(document: str) -> set[str]:
    return set(HEADING.findall((ROOT / "docs" / f"{document}.md").read_text(encoding="utf-8")))


def citations(text: str) -> list[tuple[int, str, str]]:
    """(line number of the file name, document, section) of each citation."""
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1), match.group(2))
        for match in CITATION.finditer(text)
    ]


def test_the_checks_find_what_they_look_for():
    # The names are assembled here, so that this file does not cite them itself.
    design, style, performance, domain = (
        f"{name}.md" for name in ("design", "style", "performance", "domain")
    )
    assert foreign_mentions(f"see {design} §5, ({style} §3.2), shared/{domain} §3") == [
        design,
        style,
        f"shared/{domain}",
    ]
    assert foreign_mentions(f"docs/{domain} §2 and ../../docs/{domain} §3.1") == []
    assert foreign_mentions(f"{performance}: ±30 %") == [performance]
    assert citations("(docs/architecture.md §4.1; docs/domain.md §2.2)") == [
        (1, "architecture", "4.1"),
        (1, "domain", "2.2"),
    ]
    assert citations("x\n`docs/domain.md` §3.3 (components)") == [(2, "domain", "3.3")]
    assert citations("(docs/architecture.md\n§4)") == [(1, "architecture", "4")]
    assert citations("# see docs/domain.md\n# §2.4.") == [(1, "domain", "2.4")]
    assert HEADING.findall("## 3. Where\n### 3.2 Views\n#### 10.1.2 Deep\n") == [
        "3",
        "3.2",
        "10.1.2",
    ]


def test_both_documents_exist_with_numbered_sections():
    for document in DOCUMENTS:
        numbers = sections(document)
        assert {"1", "2", "3"} <= numbers, f"docs/{document}.md lacks numbered sections"


def test_no_file_cites_a_document_outside_the_repository():
    found = []
    for path in scanned_files():
        text = text_of(path)
        if text is None:
            continue
        for line_number, line in enumerate(text.splitlines(), start=1):
            found += [
                f"{path.relative_to(ROOT)}:{line_number}: {mention}"
                for mention in foreign_mentions(line)
            ]
    assert not found, "cite docs/architecture.md or docs/domain.md instead:\n" + "\n".join(found)


def test_every_section_cited_exists():
    known = {document: sections(document) for document in DOCUMENTS}
    broken = []
    for path in scanned_files():
        text = text_of(path)
        if text is None:
            continue
        broken += [
            f"{path.relative_to(ROOT)}:{line_number}: docs/{document}.md §{number}"
            for line_number, document, number in citations(text)
            if number not in known[document]
        ]
    assert not broken, "no such section:\n" + "\n".join(broken)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_readme_links_the_document(document):
    assert f"docs/{document}.md" in (ROOT / "README.md").read_text(encoding="utf-8")
