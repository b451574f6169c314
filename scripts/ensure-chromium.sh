#!/usr/bin/env bash
# Make sure the browser tests have Debian's headless Chromium (and CJK fonts, so the Chinese pages
# render in screenshots). Installs them with apt-get when missing; never downloads Playwright's
# own browser build. Exits non-zero when it cannot: the browser tests must fail, never be skipped.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi

echo "installing ${need[*]} for the browser tests" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo_cmd=(sudo -n); else
    echo "ERROR: ${need[*]} missing and not root; run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${need[@]}" \
  || { "${sudo_cmd[@]}" apt-get update && "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${need[@]}"; }
command -v chromium >/dev/null || { echo "ERROR: chromium is still missing" >&2; exit 1; }
