"""The scale benchmark's steps (scripts/bench-scale.sh), over keep-alive connections, no
third-party packages. Latencies are wall-clock milliseconds per request, as a client sees them.

    scale.py users FILE FIRST COUNT           # JSON Lines for `identity-service user import`
    scale.py lookup BASE KEY USERS            # p50 of Okta's userName lookup over USERS users
    scale.py page BASE KEY START_INDEX        # one page of 100 at START_INDEX, not reached by a
                                              # walk: the first answer and the p50 of 15 more
    scale.py walk BASE KEY IDS_FILE KEEP      # every page of 100 in order, as Okta imports;
                                              # writes the first KEEP ids to IDS_FILE (the last
                                              # 3,000 of them to IDS_FILE.others)
    scale.py group BASE KEY IDS_FILE          # a group with every id of IDS_FILE as members
    scale.py patch BASE KEY GROUP IDS_FILE N  # PATCH +100 into GROUP vs an empty group, N times,
                                              # with users of IDS_FILE (none in GROUP)
    scale.py group-get BASE KEY GROUP PID...  # GET the group: time and peak RSS growth per PID
    scale.py rss PID                          # resident memory: all, heap, mapped files
"""
import http.client
import json
import statistics
import sys
import time
from urllib.parse import quote, urlsplit

NAME = "scale-{:07d}@example.com"


class Scim:
    def __init__(self, base, key):
        url = urlsplit(base)
        self.path = url.path
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        self.headers = {"Authorization": "Bearer " + key, "Content-Type": "application/scim+json"}

    def call(self, method, path, body=None, expected=200):
        """(seconds, parsed body) of one request; exits on an unexpected status."""
        started = time.perf_counter()
        self.conn.request(method, self.path + path, body and json.dumps(body), self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - started
        if response.status != expected:
            sys.exit(f"{method} {path}: {response.status}: {raw[:300]!r}")
        return elapsed, (json.loads(raw) if raw else None)


def ms(seconds):
    return f"{seconds * 1000:.2f}"


def users(path, first, count):
    with open(path, "w") as out:
        for n in range(first, first + count):
            name = NAME.format(n)
            out.write(json.dumps({
                "userName": name, "givenName": "Scale", "familyName": f"User {n}",
                "emails": [{"value": name, "type": "work", "primary": True}],
            }) + "\n")


def lookup(scim, count):
    times = []
    for i in range(400):
        n = (i * 7919) % count
        name = NAME.format(n).upper() if i % 2 else NAME.format(n)
        elapsed, body = scim.call("GET", "/Users?filter=" + quote(f'userName eq "{name}"')
                                  + "&startIndex=1&count=100")
        assert body["totalResults"] == 1, body
        times.append(elapsed)
    print(ms(statistics.median(times)))


def page(scim, start):
    """The first answer (nothing remembered: the list is counted) and the p50 of 15 more."""
    times = []
    for _ in range(16):
        elapsed, body = scim.call("GET", f"/Users?startIndex={start}&count=100")
        assert len(body["Resources"]) == 100, len(body["Resources"])
        times.append(elapsed)
    print(ms(times[0]), ms(statistics.median(times[1:])))


def walk(scim, ids_file, keep):
    started = time.perf_counter()
    times, ids, seen, start, total = [], [], 0, 1, None
    while total is None or start <= total:
        elapsed, body = scim.call("GET", f"/Users?startIndex={start}&count=100")
        times.append(elapsed)
        total = body["totalResults"]
        resources = body["Resources"]
        if not resources:
            break
        seen += len(resources)
        if len(ids) < keep:
            ids.extend(user["id"] for user in resources[: keep - len(ids)])
        start += len(resources)
    took = time.perf_counter() - started
    with open(ids_file, "w") as out:
        out.write("\n".join(ids[:keep - 3000]) + "\n")
    with open(ids_file + ".others", "w") as out:
        out.write("\n".join(ids[keep - 3000:]) + "\n")
    assert seen == total, (seen, total)
    first = statistics.median(times[:10])
    deep = statistics.median(times[-10:])
    print(f"{len(times)} pages, {seen} users in {took:.1f} s; "
          f"first pages p50 {ms(first)} ms, last pages p50 {ms(deep)} ms ({deep / first:.2f}x)")


def group(scim, ids_file):
    ids = open(ids_file).read().split()
    started = time.perf_counter()
    _, created = scim.call("POST", "/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"},
        expected=201)
    for at in range(0, len(ids), 100):
        scim.call("PATCH", f"/Groups/{created['id']}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members",
                            "value": [{"value": i} for i in ids[at:at + 100]]}]},
            expected=204)
    print(created["id"], f"{time.perf_counter() - started:.1f}")


def patch(scim, big, ids_file, trials):
    """Okta's membership push: PATCH +100 members into the big group vs into an empty one
    (each trial removes them again), with users outside the big group."""
    ids = open(ids_file).read().split()
    _, empty = scim.call("POST", "/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Empty"},
        expected=201)
    times = {big: [], empty["id"]: []}
    for trial in range(trials):
        batch = [{"value": i} for i in ids[trial * 100:(trial + 1) * 100]]
        for group in times:
            elapsed, _ = scim.call("PATCH", f"/Groups/{group}", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": batch}]}, expected=204)
            times[group].append(elapsed)
            scim.call("PATCH", f"/Groups/{group}", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": "members", "value": batch}]}, expected=204)
    into_big = statistics.median(times[big])
    into_empty = statistics.median(times[empty["id"]])
    print(f"PATCH +100 p50: {ms(into_big)} ms into the big group, {ms(into_empty)} ms into an "
          f"empty one ({into_big / into_empty:.2f}x)")


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def group_get(scim, group_id, pids):
    """Peak RSS growth while the group is read: VmHWM (everything resident, including the pages
    of a memory-mapped SQLite file) and the peak of RssAnon (the heap), sampled every 2 ms."""
    import threading
    for pid in pids:  # reset each process's peak RSS to its current RSS
        with open(f"/proc/{pid}/clear_refs", "w") as out:
            out.write("5")
    before = {pid: (status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon")) for pid in pids}
    peak_anon = dict((pid, anon) for pid, (_, anon) in before.items())
    done = threading.Event()

    def sample():
        while not done.wait(0.002):
            for pid in pids:
                peak_anon[pid] = max(peak_anon[pid], status_kb(pid, "RssAnon"))
    sampler = threading.Thread(target=sample)
    sampler.start()
    elapsed, body = scim.call("GET", f"/Groups/{group_id}")
    done.set()
    sampler.join()
    members = len(body.get("members", []))
    growth = ", ".join(
        f"{(status_kb(pid, 'VmHWM') - before[pid][0]) / 1024:.1f} MB "
        f"(heap {(peak_anon[pid] - before[pid][1]) / 1024:.1f} MB)" for pid in pids)
    lean, body = scim.call("GET", f"/Groups/{group_id}?excludedAttributes=members")
    assert "members" not in body, body
    print(f"{members} members in {ms(elapsed)} ms, peak RSS growth {growth}; "
          f"excludedAttributes=members {ms(lean)} ms")


def rss(pid):
    print(f"{status_kb(pid, 'VmRSS') / 1024:.0f} MB (heap {status_kb(pid, 'RssAnon') / 1024:.0f} MB,"
          f" mapped files {status_kb(pid, 'RssFile') / 1024:.0f} MB)")


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "rss":
        return rss(args[0])
    if mode == "users":
        return users(args[0], int(args[1]), int(args[2]))
    scim = Scim(args[0], args[1])
    if mode == "lookup":
        lookup(scim, int(args[2]))
    elif mode == "page":
        page(scim, int(args[2]))
    elif mode == "walk":
        walk(scim, args[2], int(args[3]))
    elif mode == "group":
        group(scim, args[2])
    elif mode == "patch":
        patch(scim, args[2], args[3], int(args[4]))
    elif mode == "group-get":
        group_get(scim, args[2], args[3:])
    else:
        sys.exit(__doc__)


main()
