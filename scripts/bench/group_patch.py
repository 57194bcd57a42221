"""Group PATCH cost: add 100 members to a 100k-member group vs to an empty one, then remove
them again, through the gateway. Prints p50/p99 of each (milliseconds).

Usage: python3 group_patch.py BASE_URL TRIALS   (SCIM_KEY in the environment; the groups
loadgen-big and loadgen-empty and the users extra-NNN@example.com made by the loadgen example)
"""

import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
trials = int(sys.argv[2])
headers = {
    "Authorization": "Bearer " + os.environ["SCIM_KEY"],
    "Content-Type": "application/scim+json",
}
connection = http.client.HTTPConnection(base.hostname, base.port)


def call(method, path, body=None):
    connection.request(method, base.path + path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)


def find(resource, filter_):
    query = urllib.parse.urlencode({"filter": filter_, "count": 1000, "excludedAttributes": "members"})
    status, body = call("GET", f"/{resource}?{query}")
    assert status == 200, body
    return [r["id"] for r in body["Resources"]]


big = find("Groups", 'displayName eq "loadgen-big"')[0]
empty = find("Groups", 'displayName eq "loadgen-empty"')[0]
extras = find("Users", 'userName sw "extra-"')
assert len(extras) == 100, len(extras)
members = [{"value": id_} for id_ in extras]


def patch(group, op):
    if op == "add":
        operations = [{"op": "add", "path": "members", "value": members}]
    else:
        operations = [{"op": "remove", "path": "members", "value": members}]
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}
    began = time.perf_counter()
    status, answer = call("PATCH", f"/Groups/{group}", body)
    elapsed = time.perf_counter() - began
    assert status == 204, (status, answer)
    return elapsed * 1000


results = {}
for name, group in [("into the 100k-member group", big), ("into the empty group", empty)]:
    latencies = []
    for _ in range(trials):
        latencies.append(patch(group, "add"))
        patch(group, "remove")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    results[name] = statistics.median(latencies)
    print(f"PATCH +100 members {name:<28} p50 {statistics.median(latencies):7.2f} ms  p99 {p99:7.2f} ms  ({trials} trials)")
ratio = results["into the 100k-member group"] / results["into the empty group"]
print(f"ratio 100k/empty (p50): {ratio:.2f}x (target <= 1.5x)")
