#!/usr/bin/env bash
# Refresh the vendored Apache ECharts that the HTML report inlines.
#
#   report/html/assets/update-echarts.sh [VERSION]     (default: the one in VERSION)
#
# It asks the npm registry for the `echarts` package with `npm pack` (npm
# checks the tarball against the registry's integrity hash), and copies out
# dist/echarts.min.js, LICENSE and NOTICE. No CDN is involved, and the
# report never loads anything at view time: the file is embedded with
# go:embed and inlined into every page. After a refresh run
#   go test ./report/html            (the golden test does not depend on it)
#   PCAPX_CHROMIUM=1 go test -run TestChromium -v ./report/html
# and look at the screenshot it logs: a new major version of ECharts may
# read the options that go-echarts builds differently.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:-$(cat "$here/VERSION")}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "echarts@$version" >/dev/null)
tgz="$tmp/echarts-$version.tgz"
test -s "$tgz" || { echo "npm pack did not produce $tgz" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE package/package.json
grep -q "\"version\": \"$version\"" "$tmp/package/package.json" || { echo "package.json does not say version $version" >&2; exit 1; }
integrity="$(cd "$tmp" && npm view "echarts@$version" dist.integrity)"

cp "$tmp/package/dist/echarts.min.js" "$here/echarts.min.js"
cp "$tmp/package/LICENSE" "$here/LICENSE"
printf '%s\n' "$version" > "$here/VERSION"
{
  echo "Apache ECharts $version, dist/echarts.min.js of the npm package echarts@$version"
  echo "(registry integrity $integrity),"
  echo "vendored here unmodified and inlined into pcapx's HTML report."
  echo "Licence: Apache-2.0, in LICENSE beside this file."
  echo "Refresh: report/html/assets/update-echarts.sh [VERSION]"
  echo
  echo "The NOTICE of Apache ECharts follows."
  echo
  cat "$tmp/package/NOTICE"
} > "$here/NOTICE"
echo "vendored echarts $version ($(wc -c < "$here/echarts.min.js") bytes)"
