"""Dockerfile, compose.yaml and .env.example: checked here without a Docker engine.

- `docker-compose config` (or `docker compose config`) renders compose.yaml, when installed.
- compose.yaml's structure, parsed with PyYAML: the replica set, health-gated start-up,
  scalable workers, a named volume, and no secret or undefaulted variable.
- Every command the Dockerfile and compose.yaml run is a console script of pyproject.toml whose
  click parser accepts the options given; the healthcheck one-liner works against /health.
- No package index URL in any tracked file, and no lock file.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"mongo", "service", "scraper-worker", "nlp-worker"}
WORKERS = ("scraper-worker", "nlp-worker")
SERVE = ["review-queue", "serve", "--host", "0.0.0.0", "--port", "8000"]
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ...
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?+])([^}]*))?\}")


# Reading the files


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    return instructions


def dockerfile(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile_instructions() if kw == keyword]


def exec_form(args: str) -> list[str]:
    import json

    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command() -> list[str]:
    (healthcheck,) = dockerfile("HEALTHCHECK")
    _, _, command = healthcheck.partition(" CMD ")
    return exec_form(command)


def yaml_module() -> Any:
    return pytest.importorskip("yaml", reason="PyYAML is not importable: cannot parse YAML")


def compose_file() -> dict:
    return yaml_module().safe_load(COMPOSE.read_text())


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def interpolate_defaults(value: str) -> str:
    """What compose makes of ${VAR:-default} with no .env and no such variable set."""
    return VARIABLE.sub(lambda m: m.group(3) or "", value)


def command_list(command: Any) -> list[str]:
    return command.split() if isinstance(command, str) else [str(part) for part in command]


# The rendered or parsed compose model, in either spelling compose tools write


def healthcheck_disabled(service: dict) -> bool:
    healthcheck = service.get("healthcheck") or {}
    return healthcheck.get("disable") is True or healthcheck.get("test") in (["NONE"], "NONE")


def published_ports(service: dict) -> list[Any]:
    return list(service.get("ports") or [])


def target_ports(service: dict) -> set[int]:
    targets = set()
    for port in published_ports(service):
        if isinstance(port, dict):
            targets.add(int(port["target"]))
        else:
            targets.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    return targets


def depends_on_healthy(service: dict, other: str) -> bool:
    depends = service.get("depends_on") or {}
    return isinstance(depends, dict) and depends.get(other, {}).get("condition") == (
        "service_healthy"
    )


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


def check_structure(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == SERVICES

    mongo = services["mongo"]
    image, _, tag = mongo["image"].partition(":")
    assert image == "mongo" and tag and int(tag.split(".")[0]) >= 7, mongo["image"]
    command = command_list(mongo["command"])
    assert command[command.index("--replSet") + 1] == "rs0" and "--bind_ip_all" in command
    volumes = [
        v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in mongo["volumes"]
    ]
    (data,) = [v for v in volumes if v.split(":")[1] == "/data/db"]
    assert data.split(":")[0] in (compose.get("volumes") or {}), "/data/db is not a named volume"
    mongo_check = " ".join(command_list(mongo["healthcheck"]["test"]))
    assert "rs.initiate" in mongo_check and "'rs0'" in mongo_check and "mongo:27017" in mongo_check

    service = services["service"]
    assert command_list(service["command"]) == SERVE
    assert "replicaSet=rs0" in environment(service)["MONGODB_URI"]
    assert depends_on_healthy(service, "mongo")
    assert 8000 in target_ports(service)
    assert not healthcheck_disabled(service)
    assert "/health" in " ".join(command_list(service["healthcheck"]["test"]))

    for name in WORKERS:
        worker = services[name]
        command = command_list(worker["command"])
        assert command[0] == name
        assert command[command.index("--api-url") + 1] == "http://service:8000"
        assert depends_on_healthy(worker, "service"), name
        assert published_ports(worker) == [], f"{name} publishes ports: it could not be scaled"
        assert "container_name" not in worker, f"{name} has a container_name: cannot scale"
        assert healthcheck_disabled(worker), f"{name} would inherit the service's healthcheck"
        assert worker["image"] == service["image"], "one image for the service and the workers"
        assert "build" in worker


# docker-compose config


def compose_cli() -> list[str] | None:
    if found := shutil.which("docker-compose"):
        return [found]
    if docker := shutil.which("docker"):
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=60
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    return None


def render_config(env_file: Path) -> subprocess.CompletedProcess:
    cli = compose_cli()
    if cli is None:
        pytest.skip(
            "docker-compose is not installed: `apt-get install -y docker-compose` "
            "(or Docker's compose plugin) to validate compose.yaml"
        )
    # No variable from this shell and no developer's .env: only the file given. (HOME and
    # DOCKER_CONFIG stay, for finding the compose plugin.)
    keep = ("PATH", "HOME", "DOCKER_CONFIG")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return subprocess.run(
        [*cli, "-f", str(COMPOSE), "--env-file", str(env_file), "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_config_accepts_the_file_without_a_dotenv(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    rendered = render_config(empty)
    assert rendered.returncode == 0, rendered.stderr
    assert "WARNING" not in rendered.stderr, rendered.stderr
    compose = yaml_module().safe_load(rendered.stdout)
    check_structure(compose)
    assert environment(compose["services"]["service"])["MONGODB_URI"] == (
        "mongodb://mongo:27017/?replicaSet=rs0"
    )
    with_example = render_config(ENV_EXAMPLE)
    assert with_example.returncode == 0, with_example.stderr
    assert with_example.stdout == rendered.stdout, ".env.example differs from compose's defaults"


# compose.yaml parsed


def test_compose_yaml_structure():
    compose = compose_file()
    assert "version" not in compose, "the Compose spec has no version key"
    check_structure(compose)


def test_compose_yaml_variables_all_have_defaults_and_match_env_example():
    text = COMPOSE.read_text()
    defaults = {}
    for match in VARIABLE.finditer(text):
        name, operator, default = match.groups()
        assert operator == ":-", f"${{{name}}} needs a default (${{{name}:-...}})"
        assert defaults.setdefault(name, default) == default, f"two defaults for {name}"
    assert defaults, "compose.yaml reads no settings from .env"
    assert env_example() == defaults, ".env.example should list exactly compose.yaml's defaults"


def test_no_secrets_in_compose_or_env_example():
    credentials = re.compile(r"mongodb(\+srv)?://[^/\s@]+:[^/\s@]+@")
    assert not credentials.search(COMPOSE.read_text())
    for name, value in env_example().items():
        assert not credentials.search(value), name
        assert not re.search(r"PASSWORD|SECRET|TOKEN", name) or not value, name
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


# The Dockerfile


def test_dockerfile_runs_the_service_as_a_non_root_user_with_a_healthcheck():
    (base,) = dockerfile("FROM")
    assert re.fullmatch(r"python:3\.(1[1-9]|[2-9]\d)(\.\d+)?-slim(-\w+)?", base), base
    assert exec_form(dockerfile("CMD")[-1]) == SERVE
    user = dockerfile("USER")[-1].split(":")[0]
    assert user not in ("root", "0"), "the container must not run as root"
    kinds = [kw for kw, _ in dockerfile_instructions()]
    assert "RUN" not in kinds[kinds.index("USER") :], "every RUN after USER runs as that user"
    assert dockerfile("STOPSIGNAL") == ["SIGTERM"]
    assert "8000" in " ".join(dockerfile("EXPOSE"))
    python, flag, code = healthcheck_command()
    assert (python, flag) == ("python", "-c") and "127.0.0.1:8000/health" in code
    runs = " ".join(dockerfile("RUN"))
    assert "pip install ." in runs
    assert not re.search(r"--(extra-)?index-url|\s-i\s|--trusted-host|--find-links", runs)
    assert (ROOT / ".dockerignore").is_file()


# The commands are the project's real entry points


def commands_run() -> dict[str, list[str]]:
    """Where it is run -> the command, ${VAR:-default} resolved to its default."""
    commands = {"Dockerfile CMD": exec_form(dockerfile("CMD")[-1])}
    for name, service in compose_file()["services"].items():
        if name != "mongo":
            commands[f"compose.yaml {name}"] = [
                interpolate_defaults(part) for part in command_list(service["command"])
            ]
    return commands


def parse_with_click(command: list[str]) -> None:
    """Parse `command` as its console script would, without running it."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    script, *args = command
    assert script in scripts, f"{script!r} is not a console script of pyproject.toml"
    module_name, _, attr = scripts[script].partition(":")
    try:
        entry = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{script}: its entry point {scripts[script]} cannot be loaded: {exc!r}")
    assert isinstance(entry, click.Command), f"{scripts[script]} is not a click command"
    name = script
    while isinstance(entry, click.Group):
        assert args, f"{script}: no subcommand given"
        sub, *args = args
        assert sub in entry.commands, f"{script} has no subcommand {sub!r}"
        name, entry = f"{name} {sub}", entry.commands[sub]
    try:
        entry.make_context(name, list(args))
    except click.ClickException as exc:
        pytest.fail(f"{' '.join(command)}: {exc.format_message()}")


@pytest.mark.parametrize(
    "where", ["Dockerfile CMD", *(f"compose.yaml {name}" for name in ("service", *WORKERS))]
)
def test_each_command_is_a_console_script_that_accepts_its_options(where):
    commands = commands_run()
    assert where in commands
    parse_with_click(commands[where])


# The healthcheck one-liner, run as the container would run it


class HealthHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/health" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: Any) -> None:
        pass


def run_healthcheck(code: str, port: int) -> int:
    code = code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode


@pytest.mark.parametrize("source", ["Dockerfile", "compose.yaml"])
def test_the_healthcheck_passes_on_200_and_fails_on_503_or_no_answer(source):
    if source == "Dockerfile":
        code = healthcheck_command()[2]
    else:
        test = command_list(compose_file()["services"]["service"]["healthcheck"]["test"])
        assert test[:3] == ["CMD", "python", "-c"], test
        code = test[3]

    results = {}
    for status in (200, 503):
        handler = type("Handler", (HealthHandler,), {"status": status})
        server = HTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            results[status] = run_healthcheck(code, server.server_port)
        finally:
            server.shutdown()
            server.server_close()
    results["closed"] = run_healthcheck(code, server.server_port)
    assert results[200] == 0 and results[503] != 0 and results["closed"] != 0, results


def test_the_service_answers_get_health():
    from service.app import create_app
    from service.settings import Settings

    paths = {route.path for route in create_app(Settings()).routes}
    assert "/health" in paths


# No package index, no lock file


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    return [ROOT / name for name in listed.stdout.split("\0") if name]


def test_no_package_index_urls_and_no_lock_files():
    index = re.compile(
        r"--(extra-)?index-url|(extra-)?index-url\s*=|/simple/?[\s\"']|--trusted-host"
        r"|\[\[tool\.(uv\.index|poetry\.source)\]\]|PIP_(EXTRA_)?INDEX_URL|UV_(EXTRA_)?INDEX"
    )
    this_file = Path(__file__).resolve()
    offenders = []
    for path in tracked_files():
        if path.resolve() == this_file or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in index.finditer(text)]
    assert offenders == [], "a package index is named in the repository"

    locks = {"uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pip.conf", ".pypirc"}
    present = [name for name in locks if (ROOT / name).exists()]
    present += [str(p.relative_to(ROOT)) for p in tracked_files() if p.name in locks]
    assert present == [], "dependencies come from pyproject.toml alone"


# The README's section matches the files


def test_the_readme_section_names_real_services_and_files():
    readme = (ROOT / "README.md").read_text()
    assert "## Run it for real" in readme
    section = readme.split("## Run it for real", 1)[1].split("\n## ", 1)[0]
    assert "cp .env.example .env" in section and ENV_EXAMPLE.is_file()
    assert "docker compose up --build" in section
    scaled = re.findall(r"--scale ([\w-]+)=\d+", section)
    assert scaled and set(scaled) <= set(WORKERS), scaled
    assert "TEST_MONGODB_URI=" in section
