#!/usr/bin/env bash
# Screenshots of the built site in a headless Chromium that cannot reach the
# network: the pages must look whole with nothing fetched.
#
#   docs/_tools/screenshot.sh [site] [out]
#
# site: the built HTML (docs/_build/html), out: where the PNGs go
# (docs/_build/screenshots). Needs Debian's chromium. Pages are opened as
# file:// URLs inside a network namespace of their own (unshare -n, when the
# user may make one) and Chromium is told to resolve no host and to send
# everything to a closed proxy port, so any external request fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
site=$(realpath "${1:-docs/_build/html}")
out=${2:-docs/_build/screenshots}
mkdir -p "$out"
out=$(realpath "$out")

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "no chromium on PATH (apt-get install chromium)" >&2
    exit 1
fi
offline=()
if unshare -n true 2>/dev/null; then
    offline=(unshare -n)
fi

first() {  # the first page matching a glob, relative to the site
    local match
    match=$(cd "$site" && ls $1 2>/dev/null | grep -v '/index.html$' | sort | head -n 1 || true)
    echo "${match:-$2}"
}

# when the examples ran (plot_gallery=1): the gallery page whose first figure
# comes earliest, so that the screenshot shows one
gallery=$(cd "$site" && for f in auto_examples/plot_*.html; do
    offset=$(grep -b -o 'class *= *"sphx-glr-\(single\|multi\)-img' "$f" | head -n 1 | cut -d: -f1)
    [ -n "$offset" ] && echo "$offset $f"
done 2>/dev/null | sort -n | head -n 1 | cut -d' ' -f2 || true)
pages=(
    "index:index.html:1600"
    "api_LateFusionClassifier:api/generated/skfusion.fusion.LateFusionClassifier.html:1600"
    "user_guide:$(first 'user_guide/*.html' user_guide/index.html):1600"
    "gallery:${gallery:-$(first 'auto_examples/plot_*.html' auto_examples/index.html)}:3200"
)

for entry in "${pages[@]}"; do
    IFS=: read -r name page height <<<"$entry"
    if [ ! -f "$site/$page" ]; then
        echo "skip $name: $page is not in the site" >&2
        continue
    fi
    "${offline[@]}" "$chromium" --headless --no-sandbox --disable-gpu \
        --disable-dev-shm-usage --hide-scrollbars --no-first-run \
        --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
        --window-size=1280,"$height" --virtual-time-budget=3000 \
        --screenshot="$out/$name.png" "file://$site/$page" 2>/dev/null
    echo "$out/$name.png <- $page"
done
