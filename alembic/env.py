"""Alembic environment: the models give the metadata, the settings give the URL."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import fleet_dashboard.models  # noqa: F401  (registers every table on the metadata)
from fleet_dashboard.core.db import database_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata
WHATSMEOW_PREFIX = "whatsmeow_"


def include_name(name, type_, parent_names) -> bool:
    """Leave whatsmeow's own tables (the WhatsApp store, in the same database) to whatsmeow."""
    return not (type_ == "table" and name and name.startswith(WHATSMEOW_PREFIX))


def _url() -> str:
    return config.attributes.get("database_url") or database_url()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = create_engine(_url(), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
