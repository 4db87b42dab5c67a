#!/usr/bin/env bash
# bench/swarm-latency.sh — failure-to-rollback latency of the swarm driver.
#
#   bench/swarm-latency.sh [RUNS]        (default 3 runs)
#
# On a real single-node swarm (tests/lib/swarmstack.sh: initialised for the
# run and left again when the engine was in none) and a throwaway
# PostgreSQL 15, the Swarm tier's stack is deployed and its 2-replica
# `superneed` service (a superuser-only call at start) is switched RUNS
# times: each time its first new task fails, Swarm rolls the update back
# (failure_action rollback) and dsnflip verifies every task healthy on the
# old DSN.  dsnflip prints how long after the failure (the failed task's
# timestamp) it was detected (Swarm started its rollback), and how long
# after that the service was verified healthy again on the old DSN.  Lines "swarm:superneed DETECT ROLLBACK TOTAL" go
# to bench/out/deploy-latency.txt.raw (beside the compose driver's cases,
# for bench/run's table), the summary to bench/out/swarm-latency.txt.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-3}
. tests/lib/pgcluster.sh
. tests/lib/swarmstack.sh
sw_engine || { echo "swarm-latency: $SW_SKIP_REASON" >&2; exit 2; }
trap sw_cleanup EXIT
sw_setup || exit 1
mkdir -p bench/out
raw=bench/out/deploy-latency.txt.raw
: >"$SW_TMP/raw"
for n in $(seq 1 "$RUNS"); do
	sw_dsn deploy superneed --window 3s >"$SW_TMP/out" 2>&1
	line=$(sed -n 's/.*detected \([0-9.]*\) s after the failure, healthy again \([0-9.]*\) s after detection (\([0-9.]*\) s in all).*/\1 \2 \3/p' "$SW_TMP/out")
	if [ -z "$line" ]; then
		echo "swarm-latency: run $n did not roll back:" >&2
		tail -5 "$SW_TMP/out" >&2
		continue
	fi
	echo "swarm:superneed $line" >>"$SW_TMP/raw"
done
cat "$SW_TMP/raw" >>"$raw"
{
	echo "swarm driver: failure to rollback (docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null), $RUNS runs)"
	printf '%-16s %4s  %-19s %-19s %-19s\n' case runs "detect mean/max s" "rollback mean/max s" "total mean/max s"
	awk '{ n[$1]++; d[$1] += $2; r[$1] += $3; t[$1] += $4
	       if ($2 > md[$1]) md[$1] = $2; if ($3 > mr[$1]) mr[$1] = $3; if ($4 > mt[$1]) mt[$1] = $4 }
	     END { for (c in n) printf "%-16s %4d  %6.2f / %-12.2f %6.2f / %-10.2f %6.2f / %-10.2f\n", c, n[c],
	           d[c]/n[c], md[c], r[c]/n[c], mr[c], t[c]/n[c], mt[c] }' "$SW_TMP/raw"
} | tee bench/out/swarm-latency.txt
[ -s "$SW_TMP/raw" ]
