"""Driven adapter for PostgreSQL: tables, mappers, repositories, unit of work, encryption.

Entry points (import them from their modules; nothing is built at import time):

- ``calhub.storage.migrate``: ``upgrade_to_head(url)``, ``current_revision(url)``,
  ``downgrade_to_base(url)`` (also installs Procrastinate's schema).
- ``calhub.storage.database``: ``create_engine(url)``, ``check_database(engine)``.
- ``calhub.storage.crypto``: ``key_provider_from(master_key, key_file)``, ``Keyring(provider)``.
- ``calhub.storage.unit_of_work``: ``UnitOfWorkFactory(engine, keyring)``; ``async with
  factory() as uow`` gives ``uow.tenants``, ``api_keys``, ``connections``, ``calendars``,
  ``events``, ``occurrences``, ``task_effects``, ``data_keys`` and ``commit()``.
- ``calhub.storage.rotation``: ``rotate_keys``, ``rewrap_data_keys``, ``rotate_data_keys``.

Sensitive content (event subject, body, location, organizer, attendees; calendar owner, name,
provider id and sync cursor; connection credentials) is stored only as AES-256-GCM ciphertext
bound to tenant, table, column and row; addresses are looked up through blind indexes.
"""
