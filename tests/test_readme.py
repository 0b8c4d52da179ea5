"""The README's lifecycle table is the one the code enforces."""

import re
from pathlib import Path

from service.domain import TRANSITIONS

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_transitions() -> set[tuple[str, str, str]]:
    text = README.read_text()
    table = text.split("<!-- lifecycle:start -->")[1].split("<!-- lifecycle:end -->")[0]
    rows = re.findall(r"^\| (\S+/\S+) \| (\S+/\S+) \| (\w+) \|", table, flags=re.M)
    return set(rows)


def test_the_readme_lifecycle_table_matches_the_domain_table():
    code = {(str(frm), str(to), str(event)) for (frm, to), event in TRANSITIONS.items()}
    assert readme_transitions() == code
