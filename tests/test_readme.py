"""The README's lifecycle table is the one the code enforces."""

from pathlib import Path

from service.domain import lifecycle_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_lifecycle_table_is_the_domain_table():
    text = README.read_text()
    table = text.split("<!-- lifecycle:start -->\n")[1].split("<!-- lifecycle:end -->")[0]
    assert table.strip() == lifecycle_markdown()
