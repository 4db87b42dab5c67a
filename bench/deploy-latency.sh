#!/usr/bin/env bash
# bench/deploy-latency.sh — how long failure detection and rollback take.
#
#   bench/deploy-latency.sh [RUNS]        (default 5 runs per failure case)
#
# On a real Docker engine (start dockerd first; see .ci/run) and a throwaway
# PostgreSQL 15, the Docker tier's stack (tests/lib/dockerstack.sh) is
# deployed service by service for the failure cases — a wrong password, a
# superuser-only call, a crash 10 s after start, a migration that fails as
# the new owner — RUNS times each.  dsnflip prints, for every automatic
# rollback, how long after the failure (the failing log line's docker
# timestamp, or the container's FinishedAt) it noticed, and how long after
# that the service was running (healthy) again on its old DSN.  This script
# collects those and prints per case: mean / max of detection, of
# rollback-to-healthy, and of failure-to-healthy.  Output also goes to
# bench/out/deploy-latency.txt.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-5}
. tests/lib/pgcluster.sh
. tests/lib/dockerstack.sh
ds_engine || { echo "deploy-latency: $DS_SKIP_REASON" >&2; exit 2; }
trap ds_cleanup EXIT
ds_setup || exit 1
mkdir -p bench/out
res=bench/out/deploy-latency.txt
: >"$res.raw"
for case in wrongpw superneed badmigrate crashy; do
	for n in $(seq 1 "$RUNS"); do
		ds_dsnflip deploy "$case" --window 12s >"$DS_TMP/out" 2>&1
		line=$(sed -n 's/.*detected \([0-9.]*\) s after the failure, healthy again \([0-9.]*\) s after detection (\([0-9.]*\) s in all).*/\1 \2 \3/p' "$DS_TMP/out")
		if [ -z "$line" ]; then
			echo "deploy-latency: $case run $n did not roll back:" >&2
			tail -5 "$DS_TMP/out" >&2
			continue
		fi
		echo "$case $line" >>"$res.raw"
	done
done
{
	echo "deploy failure detection and rollback latency ($DS_COMPOSE, $(docker version -f '{{.Server.Version}}' 2>/dev/null) engine, $RUNS runs per case)"
	printf '%-12s %4s  %-19s %-19s %-19s\n' case runs "detect mean/max s" "rollback mean/max s" "total mean/max s"
	awk '{ n[$1]++; d[$1] += $2; r[$1] += $3; t[$1] += $4
	       if ($2 > md[$1]) md[$1] = $2; if ($3 > mr[$1]) mr[$1] = $3; if ($4 > mt[$1]) mt[$1] = $4 }
	     END { for (c in n) printf "%-12s %4d  %6.2f / %-10.2f %6.2f / %-10.2f %6.2f / %-10.2f\n", c, n[c],
	           d[c]/n[c], md[c], r[c]/n[c], mr[c], t[c]/n[c], mt[c] }' "$res.raw" | sort
} | tee "$res"
