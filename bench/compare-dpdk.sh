#!/usr/bin/env bash
# Side by side with DPDK's lookup libraries (issue 8), on the same data and the same core.
#
#   bench/compare-dpdk.sh [--core N] [--mem hugepages|no-huge] [--full] [--only set1,set2,...] [--out DIR] [--no-build]
#
# 1. installs libdpdk-dev, pkg-config and build-essential with apt-get if DPDK is missing (this
#    script only; CI does not run it);
# 2. builds bench/dpdk (C, against the system DPDK 22.11) and bench/MetalAgent.Benchmarks (Release);
# 3. exports the inputs of our benchmarks to files (`MetalAgent.Benchmarks -- export-data DIR`);
# 4. runs the DPDK harness, then our runner (`-- compare-dpdk DIR`), each pinned with taskset to the
#    same core, one after the other;
# 5. prints one table: operation | DPDK ns/op | MetalAgent ns/op | ratio.
#
# Memory for DPDK: with --mem hugepages (the default when run as root) the script mounts hugetlbfs
# in a temporary directory, reserves 2 MB pages and gives both back on exit; --mem no-huge runs
# DPDK on 4 KiB pages, as our side always is. --full also builds rte_lpm with the 1M-route set,
# which takes about 80 s of CPU (rte_lpm_add is linear in the rules of the same length); without
# it that set runs through rte_fib only (the same DIR-24-8 lookup structure).
#
# --no-build skips step 2 (both sides already built). Times are on-CPU time of the measuring
# thread (best of 7 rounds), which leaves out other processes' time slices on a shared machine;
# the wall times are in the raw files.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORE=1
MEM=auto
FULL=0
ONLY=""
OUT=""
BUILD=1
HUGEPAGES=1024 # 2 GB

while [ $# -gt 0 ]; do
    case "$1" in
        --core) CORE=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --full) FULL=1; shift ;;
        --only) ONLY=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

OUT=${OUT:-$(mktemp -d /tmp/compare-dpdk.XXXXXX)}
DATA=$OUT/data
mkdir -p "$DATA"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# 1. DPDK development files.
if ! pkg-config --exists libdpdk 2>/dev/null || ! command -v cc >/dev/null; then
    echo "== installing libdpdk-dev pkg-config build-essential" >&2
    $SUDO apt-get install -y --no-install-recommends libdpdk-dev pkg-config build-essential >&2
fi

# 2. Build both sides.
if [ "$BUILD" -eq 1 ]; then
    echo "== building" >&2
    make -s -C "$ROOT/bench/dpdk" >&2
    dotnet build -c Release -v q -nologo "$ROOT/bench/MetalAgent.Benchmarks" >&2
fi
BENCH="$ROOT/bench/MetalAgent.Benchmarks/bin/Release/net10.0/MetalAgent.Benchmarks.dll"

# 3. Export the benchmarks' data.
echo "== exporting data to $DATA" >&2
dotnet "$BENCH" export-data "$DATA" >&2

# 4a. DPDK memory.
HUGEDIR=""
OLD_HUGEPAGES=""
NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
cleanup() {
    if [ -n "$HUGEDIR" ]; then
        $SUDO umount "$HUGEDIR" 2>/dev/null || true
        rmdir "$HUGEDIR" 2>/dev/null || true
    fi
    if [ -n "$OLD_HUGEPAGES" ]; then
        echo "$OLD_HUGEPAGES" | $SUDO tee "$NR" >/dev/null || true
    fi
}
trap cleanup EXIT
if [ "$MEM" = auto ]; then
    if [ -w "$NR" ] || [ -n "$SUDO" ]; then MEM=hugepages; else MEM=no-huge; fi
fi
EAL_MEM=(--no-huge -m 3072 --no-shconf)
if [ "$MEM" = hugepages ]; then
    OLD_HUGEPAGES=$(cat "$NR")
    echo $((OLD_HUGEPAGES + HUGEPAGES)) | $SUDO tee "$NR" >/dev/null
    GOT=$(( $(cat "$NR") - OLD_HUGEPAGES ))
    HUGEDIR=$(mktemp -d /tmp/compare-dpdk-huge.XXXXXX)
    if [ "$GOT" -ge "$HUGEPAGES" ] && $SUDO mount -t hugetlbfs -o pagesize=2M nodev "$HUGEDIR"; then
        EAL_MEM=(--huge-dir "$HUGEDIR" --in-memory)
    else
        echo "== could not reserve $HUGEPAGES hugepages (got $GOT): running DPDK with --no-huge" >&2
        MEM=no-huge
    fi
fi

# 4b. Run both sides on the same core, one after the other.
LPM_MAX=100000
[ "$FULL" -eq 1 ] && LPM_MAX=100000000
ONLY_DPDK=()
ONLY_OURS=()
if [ -n "$ONLY" ]; then ONLY_DPDK=(--only "$ONLY"); ONLY_OURS=("$ONLY"); fi

LOAD_BEFORE=$(uptime)
echo "== DPDK on core $CORE ($MEM)" >&2
taskset -c "$CORE" "$ROOT/bench/dpdk/build/dpdk-compare" -l "$CORE" "${EAL_MEM[@]}" --no-pci --no-telemetry \
    --log-level=lib.eal:warning --force-max-simd-bitwidth 512 \
    -- --data "$DATA" --rte-lpm-max-routes "$LPM_MAX" "${ONLY_DPDK[@]}" > "$OUT/dpdk.tsv"
LOAD_MIDDLE=$(uptime)
echo "== MetalAgent on core $CORE" >&2
# Tiered compilation off: every method is fully optimized before its first call, like the C side
# built with -O3 (with it on, the short rounds here can end before hot methods reach tier 1).
# Non-concurrent GC: all GC work happens on the measured thread, so on-CPU time counts it.
DOTNET_TieredCompilation=0 DOTNET_gcConcurrent=0 taskset -c "$CORE" dotnet "$BENCH" compare-dpdk "$DATA" "${ONLY_OURS[@]}" > "$OUT/metalagent.tsv"
LOAD_AFTER=$(uptime)

# 5. The table.
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs; core $CORE"
    echo "DPDK: $(grep -m1 '^INFO' "$OUT/dpdk.tsv" | cut -f2-)"
    echo "ours: $(grep -m1 '^INFO' "$OUT/metalagent.tsv" | cut -f2-)"
    echo "load: before DPDK:$(echo "$LOAD_BEFORE" | sed 's/.*load average//'); before ours:$(echo "$LOAD_MIDDLE" | sed 's/.*load average//'); after:$(echo "$LOAD_AFTER" | sed 's/.*load average//')"
    echo "raw results: $OUT/dpdk.tsv $OUT/metalagent.tsv"
    echo
}
awk -F'\t' '
    function fmt(ns, op) { return op ~ /\.build$/ ? sprintf("%.2f ms", ns / 1e6) : sprintf("%.1f", ns) }
    FNR == 1 { side++ }
    $1 != "RESULT" { next }
    side == 1 {
        if (!($2 in best) || $4 + 0 < best[$2] + 0) { best[$2] = $4; bestvar[$2] = $3 }
        check[$2] = $6
        next
    }
    {
        n++; op[n] = $2; var[n] = $3; ns[n] = $4; sum[n] = $6
    }
    END {
        print "| operation | DPDK ns/op (library) | MetalAgent ns/op (ours) | ratio ours/DPDK | same answers | goal |"
        print "|---|---:|---:|---:|---|---|"
        for (i = 1; i <= n; i++) {
            o = op[i]
            if (o in best) {
                d = fmt(best[o], o) " (" bestvar[o] ")"
                r = sprintf("%.2f", ns[i] / best[o])
            } else { d = "—"; r = "—" }
            same = o ~ /\.build$/ ? "—" : !(o in check) ? "—" : check[o] == sum[i] ? "yes" : "**NO**"
            goal = "—"
            if (r != "—" && o ~ /lookup/) goal = (ns[i] / best[o] <= 1.5) ? "within 1.5x: met" : "within 1.5x: **not met**"
            if (r != "—" && o ~ /(acl1|fw1|ipc1)_10k\.build/) goal = (ns[i] < best[o]) ? "faster build: met" : "faster build: **not met**"
            printf "| %s | %s | %s (%s) | %s | %s | %s |\n", o, d, fmt(ns[i], o), var[i], r, same, goal
        }
    }' "$OUT/dpdk.tsv" "$OUT/metalagent.tsv" | tee "$OUT/table.md"
