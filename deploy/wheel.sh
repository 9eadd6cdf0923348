#!/usr/bin/env bash
# The production install, in one place: CI checks it and deploy/Dockerfile runs it,
# so what is tested is what ships.
#
#   deploy/wheel.sh build DIST        build the wheel of this checkout into DIST
#   deploy/wheel.sh install DIST VENV fresh venv, the wheel alone (no extras, not editable)
#   deploy/wheel.sh smoke VENV        run the installed `digest` from a folder outside the
#                                     checkout: --version, config, demo; check what it wrote
#   deploy/wheel.sh check             all three in a temporary folder (what `make install-check` runs)
#
# The test extras pull in packages a plain install does not get (lxml's html-clean once
# hid a broken image this way), so only a venv holding nothing but the wheel tells
# whether `pip install ai-news-digest` works.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"

build() {
    local dist="$1"
    local src
    src="$(mktemp -d)"
    # What the image's build context holds (deploy/Dockerfile.dockerignore), copied out
    # so setuptools leaves no build/ or egg-info behind in the checkout.
    cp -r "$repo/pyproject.toml" "$repo/README.md" "$repo/pipeline" "$src"
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    mkdir -p "$dist"
    "$python" -m pip wheel --quiet --no-deps --wheel-dir "$dist" "$src"
    rm -rf "$src"
}

install() {
    local dist="$1" venv="$2" wheels=()
    wheels=("$dist"/ai_news_digest-*.whl)
    [ "${#wheels[@]}" -eq 1 ] || { echo "expected one wheel in $dist, found ${#wheels[@]}" >&2; exit 1; }
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${wheels[0]}"
}

smoke() {
    local venv out
    venv="$(cd "$1" && pwd)"
    out="$(mktemp -d)"
    # Outside the checkout, so nothing is imported from the source tree by accident.
    (
        cd "$out"
        "$venv/bin/digest" --version
        "$venv/bin/digest" config >/dev/null
        "$venv/bin/digest" demo --out "$out/demo" >/dev/null
    )
    local md json db
    md="$(find "$out/demo/digests" -name '*.md' | wc -l)"
    json="$(find "$out/demo/digests" -name '*.json' | wc -l)"
    db="$(find "$out/demo" -maxdepth 1 -name '*.db' -size +0 | wc -l)"
    if [ "$md" -eq 0 ] || [ "$json" -eq 0 ] || [ "$db" -eq 0 ] || [ ! -s "$out/demo/site/index.html" ]; then
        echo "install check: the demo left $md Markdown and $json JSON digests, $db database(s) and" \
            "site/index.html $( [ -s "$out/demo/site/index.html" ] && echo present || echo missing)" >&2
        exit 1
    fi
    echo "install check: $md Markdown and $json JSON digests, the site and the database written"
    rm -rf "$out"
}

case "${1:-}" in
    build) build "$2" ;;
    install) install "$2" "$3" ;;
    smoke) smoke "$2" ;;
    check)
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' EXIT
        build "$tmp/dist"
        install "$tmp/dist" "$tmp/venv"
        smoke "$tmp/venv"
        ;;
    *) echo "usage: $0 build DIST | install DIST VENV | smoke VENV | check" >&2; exit 2 ;;
esac
