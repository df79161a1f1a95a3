"""Fail fast, with advice, when the test services are not reachable."""

import socket
import sys
from urllib.parse import urlparse


def reachable(url: str, default_port: int) -> bool:
    parts = urlparse(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, timeout=3):
            return True
    except OSError:
        return False


def main(database_url: str, broker_url: str) -> int:
    services = (("PostgreSQL", database_url, 5432), ("Redis", broker_url, 6379))
    missing = [name for name, url, port in services if not reachable(url, port)]
    if missing:
        print(
            f"The tests need {' and '.join(missing)} ({database_url}, {broker_url}). Start them "
            "(e.g. `docker compose up -d postgres redis`, or your system services) or point "
            "TEST_DATABASE_URL / TEST_BROKER_URL at running ones.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
