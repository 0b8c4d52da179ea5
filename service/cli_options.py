"""Options of the `review-queue` commands: each setting's environment variable is its flag's
name under REVIEW_QUEUE_ (--lease-seconds: REVIEW_QUEUE_LEASE_SECONDS), MongoDB's are the
driver's usual MONGODB_URI and MONGODB_DB."""

import click

from service.settings import DEFAULT_DB

ENV_PREFIX = "REVIEW_QUEUE_"


def env_name(flag: str) -> str:
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def hint(flag: str) -> str:
    """How a bad value is named in an error: both ways of giving it."""
    return f"{flag} / {env_name(flag)}"


def setting(flag: str, **options):
    """A setting: the flag, its environment variable (shown in --help), and its default
    (shown too, when it has one)."""
    options.setdefault(
        "show_default", options.get("default") is not None and not options.get("is_flag")
    )
    return click.option(flag, envvar=env_name(flag), show_envvar=True, **options)


def mongodb_uri_option(help: str):
    return click.option("--mongodb-uri", envvar="MONGODB_URI", show_envvar=True, help=help)


mongodb_db_option = click.option(
    "--mongodb-db",
    envvar="MONGODB_DB",
    show_envvar=True,
    default=DEFAULT_DB,
    show_default=True,
    help="Database name.",
)
