#!/bin/sh
# Installs what the build and the tests need (only what is missing), then
# runs the whole suite. Needs root and /dev/fuse (the mount tests say so
# and skip without it).
set -eu
cd "$(dirname "$0")/.."
. scripts/packages.sh
require_swift
ensure_packages $BUILD_PACKAGES $TEST_PACKAGES
# Every test is XCTest; --disable-swift-testing keeps the empty Swift
# Testing run from closing the output.
exec swift test --disable-swift-testing "$@"
