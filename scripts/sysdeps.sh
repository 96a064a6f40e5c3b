#!/usr/bin/env bash
# Ensure the Debian/Ubuntu packages the project needs. As root: install what is missing with apt.
# Otherwise: print the exact apt line and stop.
set -euo pipefail
pg_major=15
packages=(
  "postgresql-$pg_major" "postgresql-$pg_major-postgis-3"  # the project-local database cluster
  pgbackrest                                              # make backup/restore and the backup drill (tests/test_backup.py)
  chromium                                                # browser tests (driven by Playwright's Python package)
  fonts-noto-cjk                                          # Chinese text in screenshots and the headless browser
  gettext                                                 # compilemessages (interface translations)
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0     # WeasyPrint: QR label sheets as PDF
  poppler-utils                                           # tests: PDF pages to PNG (pdftoppm) and text (pdftotext)
  gdal-bin                                                # make bench: ogr2ogr, the import's anchor (not the app's GDAL)
  nodejs npm                                              # front-end libraries pinned in package-lock.json
  redis-server                                            # tests: the shared cache on Redis (CACHE_URL), a private server
  pgbouncer                                               # tests: the register behind pgbouncer (DB_POOL_MODE), a private one
  nginx-light                                             # tests: deploy/nginx/assets.conf checked (nginx -t) and run in front of make serve
)
if [ -n "${DATABASE_URL:-}" ]; then packages=("${packages[@]:2}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere (e.g. nodesource): accept any node + npm on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages. Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
