#!/bin/sh
# Installs what the build and the tests need (only what is missing), then
# runs the whole suite, the engine's tests again under Thread Sanitizer,
# and each libFuzzer harness for FUZZ_SECONDS (default 40) seconds.
# Needs root and /dev/fuse (the mount tests say so and skip without it).
# With arguments (e.g. `--filter LoadTests`) only `swift test ARGS` runs.
set -eu
cd "$(dirname "$0")/.."
. scripts/packages.sh
require_swift
ensure_packages $BUILD_PACKAGES $TEST_PACKAGES
# Every test is XCTest; --disable-swift-testing keeps the empty Swift
# Testing run from closing the output.
if [ $# -gt 0 ]; then
    exec swift test --disable-swift-testing "$@"
fi
swift test --disable-swift-testing

# The engine and FuseServer's session loop under Thread Sanitizer (its own
# build directory, so the normal build stays as it is). MountTests and
# the end-to-end tests are left out for time: they take most of the
# suite's six minutes without the sanitizer.
echo "== Thread Sanitizer: APCoreTests VFIOMigrationTests SysfsTests EventsTests FuseServerTests"
swift test --disable-swift-testing --sanitize=thread --scratch-path .build/tsan \
    --filter 'APCoreTests|VFIOMigrationTests|SysfsTests|EventsTests|FuseServerTests'

echo "== fuzzing"
fuzz/run.sh "${FUZZ_SECONDS:-40}"
