"""Drives the SCIM gateway over one keep-alive connection (no third-party packages).

    scim_requests.py seed BASE_URL KEY COUNT IDS_FILE    # POST COUNT users, write their ids
    scim_requests.py get  BASE_URL KEY COUNT IDS_FILE    # GET /Users/{id}, cycling the ids
    scim_requests.py lookup BASE_URL KEY COUNT IDS_FILE  # Okta's userName lookup of seeded users
    scim_requests.py post BASE_URL KEY COUNT TAG         # POST COUNT users named after TAG
"""
import http.client
import json
import sys
from urllib.parse import quote, urlsplit


def user(name):
    return json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Bench", "familyName": "User"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "active": True,
        "password": "placeholder",
    })


def main():
    mode, base, key, count, extra = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/scim+json"}
    ids = open(extra).read().split() if mode in ("get", "lookup") else []
    created = []
    for i in range(count):
        if mode == "get":
            conn.request("GET", f"{url.path}/Users/{ids[i % len(ids)]}", headers=headers)
            expected = 200
        elif mode == "lookup":
            name = quote(f'userName eq "seed-{i % len(ids):06d}@example.com"')
            conn.request("GET", f"{url.path}/Users?filter={name}&startIndex=1&count=100", headers=headers)
            expected = 200
        else:
            tag = "seed" if mode == "seed" else extra
            conn.request("POST", f"{url.path}/Users", user(f"{tag}-{i:06d}@example.com"), headers)
            expected = 201
        response = conn.getresponse()
        body = response.read()
        if response.status != expected:
            sys.exit(f"{response.status}: {body[:300]!r}")
        if mode == "seed":
            created.append(json.loads(body)["id"])
    if mode == "seed":
        open(extra, "w").write("\n".join(created) + "\n")


main()
