"""Runs the third-party SCIM conformance checker scim2-tester against a running gateway.

Usage: python scripts/scim-conformance.py BASE_URL   (the SCIM key in SCIM_KEY)
Fails (exit 1) on any failed check: ERROR or CRITICAL. Checks the server legitimately opts out
of (e.g. searching several resource types at once, answered 501) are reported as SKIPPED.
"""

import os
import sys
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base_url = sys.argv[1]
    key = os.environ["SCIM_KEY"]
    client = SyncSCIMClient(Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}))
    results = check_server(client)
    counts = Counter(result.status.name for result in results)
    for result in results:
        if result.status in FAILED or result.status == Status.SKIPPED:
            print(f"{result.status.name} {result.title} [{result.resource_type}]: {result.reason}")
    print(f"scim2-tester: {len(results)} checks, " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if not results or any(result.status in FAILED for result in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
