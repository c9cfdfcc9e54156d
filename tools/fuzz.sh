#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, leak checks on) and
# runs each for SECONDS (default 60), FUZZ_JOBS (default 2) at a time, from a seed
# corpus made by tests/fuzz/make_corpus.py. Any crash, leak, timeout, out-of-memory or
# exception other than tandem::Error fails the run; its input is kept in
# $TANDEM_FUZZ_DIR/artifacts/<target>/ and becomes a regression test in the ordinary suite.
# Ends with one line per target: executions and coverage.
# Usage: tools/fuzz.sh [SECONDS]    (TANDEM_FUZZ_DIR, default build-fuzz/)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
out=${TANDEM_FUZZ_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}
"$root/tools/install_deps.sh" clang libclang-rt-14-dev || exit 1

targets=(tokenizer_json tokenizer_files safetensors config preprocessor_config image)
declare -A dict=([tokenizer_json]=tokenizer [tokenizer_files]=tokenizer [safetensors]=safetensors
                 [config]=config [preprocessor_config]=preprocessor_config)
# Inputs as long as the cut-down seeds (T5's tokenizer.json keeps its 240 kB charsmap).
declare -A max_len=([tokenizer_json]=400000 [tokenizer_files]=65536 [safetensors]=16384
                    [config]=16384 [preprocessor_config]=4096 [image]=65536)

mkdir -p "$out/bin" "$out/logs"
packages="nlohmann_json libutf8proc stb libjpeg libwebp xtensor"
# -O1 and no OpenMP: the same code paths, single-threaded so that a report is reproducible.
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Wno-unknown-pragmas -I"$root/include" $(pkg-config --cflags $packages))
libs=($(pkg-config --libs $packages))
build() {
    clang++ "${flags[@]}" "$root/tests/fuzz/fuzz_$1.cpp" -o "$out/bin/fuzz_$1" "${libs[@]}" \
        >"$out/logs/build_$1.log" 2>&1 || { cat "$out/logs/build_$1.log"; echo "fuzz_$1: build failed"; }
}
# At most $jobs background jobs at once.
throttle() { while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done; }
rm -f "$out"/bin/fuzz_*
for t in "${targets[@]}"; do throttle; build "$t" & done
wait
for t in "${targets[@]}"; do [ -x "$out/bin/fuzz_$t" ] || exit 1; done

python3 "$root/tests/fuzz/make_corpus.py" "$out/seeds" >/dev/null || exit 1
rm -rf "$out/artifacts"  # what is there afterwards is this run's findings
run() {
    local t=$1
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -max_len="${max_len[$t]}"
                -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/")
    [ -n "${dict[$t]:-}" ] && args+=(-dict="$root/tests/fuzz/${dict[$t]}.dict")
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$out/bin/fuzz_$t" "${args[@]}" "$out/corpus/$t" "$out/seeds/$t" >"$out/logs/$t.log" 2>&1
}
failed=0
for t in "${targets[@]}"; do throttle; run "$t" & done
wait

for t in "${targets[@]}"; do
    log=$out/logs/$t.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    if ! grep -q 'Done [0-9]* runs' "$log" || grep -q 'ERROR: libFuzzer\|==ERROR\|runtime error:' "$log"; then
        echo "fuzz_$t: FAILED (see $log and $out/artifacts/$t/)"
        grep -m3 'ERROR\|runtime error\|terminate' "$log"
        failed=1
    else
        echo "fuzz_$t: ${execs:-0} executions in ${seconds} s, $cov, corpus $(ls "$out/corpus/$t" | wc -l) inputs"
    fi
done
exit $failed
