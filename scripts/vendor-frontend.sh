#!/bin/sh
# Re-fetch the pinned GOV.UK Frontend and MOJ Frontend from npm and rebuild what clearsite serves from
# src/clearsite/web/static/govuk/. Needs node and npm; run from the repository root. Nothing is fetched
# at run time: the built files are committed, and the package ships them.
#
# One stylesheet is compiled from both packages' Sass so that the service manual's rule for a service
# not on a GOV.UK domain holds: no GDS Transport typeface (the fallback stack, and no @font-face), no crown.
set -eu

GOVUK_FRONTEND=5.14.0
MOJ_FRONTEND=8.0.1      # the last MOJ Frontend line built against govuk-frontend 5
SASS=1.108.2
SWAGGER_UI=5.35.0     # the API documentation page (/api/docs), Apache-2.0
AXE_CORE=4.14.1        # test-only: vendored into tests/, never served to users

root=$(pwd)
dest="$root/src/clearsite/web/static/govuk"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts \
  "govuk-frontend@$GOVUK_FRONTEND" "@ministryofjustice/frontend@$MOJ_FRONTEND" "sass@$SASS" "axe-core@$AXE_CORE" "swagger-ui-dist@$SWAGGER_UI" >/dev/null

cat > clearsite.scss <<'SCSS'
@use "node_modules/govuk-frontend/dist/govuk/index" as govuk with (
  $govuk-font-family: (arial, sans-serif),
  $govuk-include-default-font-face: false,
  $govuk-assets-path: "/static/govuk/assets/"
);
@use "node_modules/@ministryofjustice/frontend/moj/all" as moj with (
  $moj-assets-path: "/static/govuk/moj/"
);
SCSS
./node_modules/.bin/sass --no-source-map --style=compressed --load-path=. --quiet-deps \
  --silence-deprecation=import,global-builtin,mixed-decls,color-functions,if-function clearsite.scss frontend.css 2>/dev/null
# MOJ Frontend configures its own copy of govuk-frontend's settings, so its rules keep the default stack.
sed -e 's/"GDS Transport",arial,sans-serif/arial,sans-serif/g' frontend.css > frontend.min.css
if grep -q "GDS Transport" frontend.min.css; then echo "GDS Transport still referenced" >&2; exit 1; fi

rm -rf "$dest"
mkdir -p "$dest/moj/images"
cp frontend.min.css "$dest/frontend.min.css"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$dest/govuk-frontend.min.js"
cp node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.js "$dest/moj-frontend.min.js"
# Neither npm package carries its licence file; both declare MIT ("license" in package.json), and the
# upstream repositories' LICENSE texts are kept here.
for pkg in govuk-frontend @ministryofjustice/frontend; do
  grep -q '"license": "MIT"' "node_modules/$pkg/package.json" || { echo "$pkg is no longer MIT: check" >&2; exit 1; }
done
cp "$root/scripts/frontend-LICENSE.txt" "$dest/LICENSE"
# Only the icons the stylesheet refers to; the MOJ crest and logotypes are not ours to show.
for icon in $(grep -o '/static/govuk/moj/images/[a-z0-9-]*\.svg' frontend.min.css | sort -u); do
  cp "node_modules/@ministryofjustice/frontend/moj/assets/images/$(basename "$icon")" "$dest/moj/images/"
done
cat > "$dest/VERSION" <<VERSION
govuk-frontend $GOVUK_FRONTEND (npm), MIT licence: LICENSE
@ministryofjustice/frontend $MOJ_FRONTEND (npm), MIT licence: LICENSE
frontend.min.css compiled with sass $SASS from both packages' Sass, font stack arial, sans-serif
rebuilt by scripts/vendor-frontend.sh
VERSION

swagger="$root/src/clearsite/web/static/swagger"
rm -rf "$swagger"
mkdir -p "$swagger"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  cp "node_modules/swagger-ui-dist/$f" "$swagger/"
done
echo "swagger-ui-dist $SWAGGER_UI (npm), Apache-2.0: LICENSE; rebuilt by scripts/vendor-frontend.sh" > "$swagger/VERSION"

mkdir -p "$root/tests/vendor"
cp node_modules/axe-core/axe.min.js "$root/tests/vendor/axe.min.js"
cp node_modules/axe-core/LICENSE "$root/tests/vendor/LICENSE-axe-core.txt"
echo "axe-core $AXE_CORE (npm), MPL-2.0: LICENSE-axe-core.txt; rebuilt by scripts/vendor-frontend.sh" > "$root/tests/vendor/VERSION"
echo "vendored govuk-frontend $GOVUK_FRONTEND, MOJ Frontend $MOJ_FRONTEND, swagger-ui $SWAGGER_UI, axe-core $AXE_CORE"
