#!/bin/sh
# Regenerates docs/regime-coinbase-btcusd-1h.svg and docs/regime-btc-perp-1m.svg
# and prints the figures quoted in docs/regime-real-data.md: the regime share
# (by MAP state) in windows around known market episodes, as markdown tables.
# Run from the repository root:
#
#   sh examples/regime/regime-real-data.sh [BUILD_DIR [SUMMARY_DIR]]
#
# BUILD_DIR (default build) holds examples/regime/cscalp-regime-bars; with
# SUMMARY_DIR the per-bar CSVs and the summary JSONs are kept there. The data
# come from ../shared/data (CSCALP_SHARED_DATA overrides it).
set -eu

build=${1:-build}
bin=$build/examples/regime/cscalp-regime-bars
data=${CSCALP_SHARED_DATA:-../shared/data}
if [ $# -ge 2 ]; then
    out=$2
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi

"$bin" "$data/bars/Coinbase_BTCUSD_1h.csv" \
    --title "BTCUSD 1h (Coinbase), 2017-07 to 2019-10: regime path" \
    --mark '2017-12-17T11:00=ATH $19.8k (Dec 17)' --mark '2018-02-06T07:00=$5.9k (Feb 6)' \
    --mark '2018-11-14T16:00=$6k broken (Nov 14)' --mark '2018-12-15T15:00=$3.1k low (Dec 15)' \
    --mark '2019-04-02T04:00=+20% (Apr 2)' --mark '2019-06-26T19:00=$13.8k (Jun 26)' \
    --svg docs/regime-coinbase-btcusd-1h.svg > "$out/coinbase-1h.csv" 2> "$out/coinbase-1h.json"

"$bin" "$data/bars/btc-perp-20211231-20220201_1m.csv.gz" \
    --title "BTC-PERP 1-minute bars, 2021-12-31 to 2022-02-01: regime path" \
    --mark '2022-01-05T19:00=FOMC minutes' --mark '2022-01-20T21:00=sell-off begins' \
    --mark '2022-01-24T13:00=low $32.8k' --mark '2022-01-26T19:00=FOMC' \
    --svg docs/regime-btc-perp-1m.svg > "$out/btc-perp-1m.csv" 2> "$out/btc-perp-1m.json"

# Share of the bars in [from, to) whose MAP state is 0, 1, 2 (the last
# column of the CSV); times compare as ISO-8601 strings.
windows() {
    csv=$1
    shift
    echo "| window | bars | calm | normal | violent | close |"
    echo "|---|---|---|---|---|---|"
    while [ $# -ge 3 ]; do
        awk -F, -v from="$1" -v to="$2" -v label="$3" '
            NR > 1 && $1 >= from && $1 < to {
                n++; c[$NF]++
                if (n == 1) first = $2
                last = $2
            }
            END {
                if (n == 0) { printf "| %s | 0 | | | | |\n", label; exit }
                printf "| %s | %d | %.2f | %.2f | %.2f | %s → %s |\n", label, n,
                       c[0] / n, c[1] / n, c[2] / n, first, last
            }' "$csv"
        shift 3
    done
}

echo "## Coinbase BTCUSD 1h"
windows "$out/coinbase-1h.csv" \
    2017-10-01 2017-11-01 "Oct 2017 (climb 4.3k → 6.4k)" \
    2017-11-01 2017-12-18 "late-2017 run-up, Nov 1 – Dec 17" \
    2017-12-01 2017-12-18 "  of which Dec 1 – 17" \
    2017-12-15 2017-12-19 "  Dec 15 – 18 (peak Dec 17 11:00)" \
    2017-12-18 2018-01-16 "after the peak, Dec 18 – Jan 15" \
    2018-01-16 2018-02-07 "Jan–Feb 2018 crash, Jan 16 – Feb 6" \
    2018-02-07 2018-11-14 "2018 slow decline, Feb 7 – Nov 13" \
    2018-05-01 2018-11-01 "  of which May – Oct 2018" \
    2018-11-14 2018-12-16 "drop below \$4k, Nov 14 – Dec 15 2018" \
    2019-03-01 2019-04-01 "Mar 2019 (flat near \$4k)" \
    2019-04-01 2019-06-27 "Apr–Jun 2019 rally, Apr 1 – Jun 26" \
    2019-06-27 2019-08-01 "after the 2019 top, Jun 27 – Jul 31"
echo
echo "## BTC-PERP 1m"
windows "$out/btc-perp-1m.csv" \
    2022-01-02 2022-01-05 "Jan 2 – 4" \
    2022-01-05 2022-01-06 "Jan 5 (FOMC minutes 19:00)" \
    2022-01-05T18 2022-01-06T06 "  Jan 5 18:00 – Jan 6 06:00" \
    2022-01-06 2022-01-11 "Jan 6 – 10" \
    2022-01-11 2022-01-21 "Jan 11 – 20" \
    2022-01-15 2022-01-17 "  Jan 15 – 16 (weekend)" \
    2022-01-20T18 2022-01-21 "Jan 20 18:00 – 24:00 (first leg down)" \
    2022-01-21 2022-01-25 "Jan 21 – 24 sell-off" \
    2022-01-25 2022-01-29 "Jan 25 – 28 (FOMC Jan 26)" \
    2022-01-29 2022-02-02 "Jan 29 – Feb 1"
