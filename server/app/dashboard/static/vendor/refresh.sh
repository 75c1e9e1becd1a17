#!/usr/bin/env bash
# Refresh the vendored API-docs assets (Swagger UI and ReDoc) from the npm registry.
#
# The server never needs Node or the network at run time: these files are committed and
# shipped as package data. Run this only to move to a new pinned version:
#   bash server/app/dashboard/static/vendor/refresh.sh
# then review the diff, run the dashboard browser tests and commit.
set -euo pipefail

SWAGGER_UI_VERSION="5.35.0"
REDOC_VERSION="2.5.0"

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
# npm pack checks each tarball against the registry's integrity hash.
npm pack --silent "swagger-ui-dist@${SWAGGER_UI_VERSION}" "redoc@${REDOC_VERSION}" >/dev/null
mkdir swagger redoc
tar xzf "swagger-ui-dist-${SWAGGER_UI_VERSION}.tgz" -C swagger
tar xzf "redoc-${REDOC_VERSION}.tgz" -C redoc

rm -rf "$here/swagger-ui" "$here/redoc"
mkdir -p "$here/swagger-ui" "$here/redoc"
cp swagger/package/{swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,LICENSE} \
   "$here/swagger-ui/"
cp swagger/package/swagger-ui-bundle.js.LICENSE.txt "$here/swagger-ui/"
cp redoc/package/bundles/redoc.standalone.js "$here/redoc/"
cp redoc/package/bundles/redoc.standalone.js.LICENSE.txt redoc/package/LICENSE "$here/redoc/"
# Source maps are not shipped; drop the comment that points at them (no 404 in the log).
sed -i '/^\/\/# sourceMappingURL=/d' "$here/swagger-ui/swagger-ui-bundle.js" \
    "$here/redoc/redoc.standalone.js"
sed -i '/^\/\*# sourceMappingURL=/d' "$here/swagger-ui/swagger-ui.css"
# ReDoc's sidebar loads its maker's logo from a CDN; an empty data: URL fails to decode, and
# ReDoc's own error handler then hides the image. Nothing else in either bundle fetches.
sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#"data:,"#' "$here/redoc/redoc.standalone.js"
grep -q 'cdn.redoc.ly' "$here/redoc/redoc.standalone.js" && { echo "redoc still names its CDN" >&2; exit 1; }
printf 'swagger-ui-dist %s\nredoc %s\n' "$SWAGGER_UI_VERSION" "$REDOC_VERSION" \
    > "$here/VERSIONS"
echo "vendored swagger-ui-dist ${SWAGGER_UI_VERSION} and redoc ${REDOC_VERSION} into $here"
