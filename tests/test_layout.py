"""The service stands on its own: nothing under `service/` imports the workers, their client or
the demo, so the service installs and runs (and can be imaged) without them. The one exception
is the `demo` command, which imports the demo package inside the command itself."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OTHERS = ("scraper_worker", "nlp_worker", "queue_client", "demo")


def imports(path: Path) -> list[tuple[str, int, str | None]]:
    """(module, line, the function it is imported in, or None at module level)."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inside = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inside = child.name
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, inside) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.append((child.module, child.lineno, inside))
            visit(child, inside)

    visit(ast.parse(path.read_text()), None)
    return found


def test_the_service_imports_no_worker_code():
    offending = []
    for path in sorted((ROOT / "service").rglob("*.py")):
        for module, line, function in imports(path):
            top = module.split(".")[0]
            if top not in OTHERS:
                continue
            allowed = path.name == "cli.py" and function == "demo" and top == "demo"
            if not allowed:
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offending == []


def test_the_demo_is_a_package_of_its_own_and_is_installed():
    assert (ROOT / "demo" / "__init__.py").is_file()
    assert not (ROOT / "service" / "demo.py").exists()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"demo*"' in pyproject
    assert "COPY demo ./demo" in (ROOT / "Dockerfile").read_text()
