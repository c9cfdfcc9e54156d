#!/usr/bin/env bash
# Installs what is missing, builds every test executable and runs the suite.
# Ends with one line, "N passed, M failed" (doctest test cases over all executables);
# exits non-zero when anything failed. Extra Meson options: MESON_ARGS="-Dsanitize=true".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install_deps.sh" || exit 1
build=${TANDEM_BUILD_DIR:-$root/build}
# With OpenMPI installed (install_deps.sh installs it), the data-parallel tests run too,
# as 2 ranks under mpirun.
options=(-Dtests=true)
command -v mpicxx >/dev/null && command -v mpirun >/dev/null && options+=(-Dmpi=true)
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root" "${options[@]}" ${MESON_ARGS:-} || exit 1
else
    for option in "${options[@]}"; do
        name=${option#-D}
        name=${name%%=*}
        meson introspect "$build" --buildoptions |
            python3 -c 'import json, sys; sys.exit(not any(o["name"] == sys.argv[1] and o["value"] for o in json.load(sys.stdin)))' "$name" ||
            meson configure "$build" "$option" || exit 1
    done
fi
ninja -C "$build" || { echo "0 passed, 1 failed"; exit 1; }
meson test -C "$build" --print-errorlogs --timeout-multiplier 4
status=$?
/usr/bin/env python3 "$root/tools/summarize_tests.py" "$build/meson-logs/testlog.json" || status=1
exit $status
