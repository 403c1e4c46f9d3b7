#!/usr/bin/env bash
# How long a burst of new Subscriptions holds up the matcher (docs/PERFORMANCE.md, subscription
# delivery): a throwaway PostgreSQL and `fovea serve --auth off` (scripts/lib/bench-env.sh), N
# task-status Subscriptions POSTed one after another over one keep-alive connection, then one Task
# write that matches the last of them; reported: the time from the last POST until the change log
# holds nothing unmatched (the Task's event waits behind the Subscriptions' in the matcher).
#
#   scripts/bench-subscription-burst.sh                 # N = 1000 and 2000
#   COUNTS="500 1000" FOVEA_BIN=/tmp/old/fovea SKIP_BUILD=1 scripts/bench-subscription-burst.sh
#
# To compare two builds, run it once with each FOVEA_BIN.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
COUNTS=${COUNTS:-1000 2000}
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
FOVEA_BIN=${FOVEA_BIN:-$BUILD_DIR/bin/fovea}

log() { echo "bench-subscription-burst: $*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$BUILD_DIR" -j"$JOBS" --target fovea >&2
fi
[[ -x "$FOVEA_BIN" ]] || { log "missing $FOVEA_BIN"; exit 1; }
FOVEA_BIN=$(realpath "$FOVEA_BIN")

# shellcheck source=lib/bench-env.sh
source "$repo/scripts/lib/bench-env.sh"

echo "| subscriptions in the burst | POSTed in | all matched after the last POST |"
echo "|---:|---:|---:|"
for n in $COUNTS; do
  bench_start_environment subscription-burst
  python3 - "$port" "$dsn" "$n" <<'PY'
import http.client, json, subprocess, sys, time

port, dsn, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"


def request(method, path, body):
    conn.request(method, "/fhir/R4/" + path, json.dumps(body),
                 {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
    r = conn.getresponse()
    r.read()
    if r.status not in (200, 201):
        sys.exit(f"{method} {path}: HTTP {r.status}")


def subscription(i):
    return {"resourceType": "Subscription", "status": "active", "reason": "burst",
            "criteria": "https://fovea.health/fhir/SubscriptionTopic/task-status",
            "_criteria": {"extension": [{"url": BACKPORT + "backport-filter-criteria",
                                         "valueString": f"Task?encounter=Encounter/burst-{i}"}]},
            "channel": {"type": "websocket", "payload": "application/fhir+json",
                        "_payload": {"extension": [{"url": BACKPORT + "backport-payload-content",
                                                    "valueCode": "id-only"}]}}}


def unmatched():
    out = subprocess.run(["psql", dsn, "-Atc", "SELECT count(*) FROM event WHERE NOT matched"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


started = time.monotonic()
for i in range(n):
    request("POST", "Subscription", subscription(i))
posted = time.monotonic()
request("PUT", "Task/burst-task", {"resourceType": "Task", "id": "burst-task", "status": "ready",
                                   "intent": "order", "encounter": {"reference": f"Encounter/burst-{n - 1}"}})
while unmatched() > 0:
    if time.monotonic() - posted > 600:
        sys.exit("not matched within 600 s")
    time.sleep(0.05)
done = time.monotonic()
print(f"| {n:,} | {posted - started:.2f} s | {done - posted:.2f} s |")
PY
  bench_cleanup
  trap - EXIT
done
