"""A keyring backend that keeps passwords in this process's memory only.

For tests, and for the browser journey's app process
(``PYTHON_KEYRING_BACKEND=tests.memory_keyring.MemoryKeyring``): sign-in goes
through the real KeyringStore code path, yet nothing touches the machine's
keyring or any file, so a test can then search the disk for the token.
"""

from __future__ import annotations

from typing import ClassVar

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]
    # Shared by every instance in the process, like a real keyring daemon.
    vault: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.vault.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.vault[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.vault.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")
