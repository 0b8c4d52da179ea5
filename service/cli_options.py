"""Options shared by the `review-queue` commands that reach MongoDB."""

import click

from service.settings import DEFAULT_DB


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
