#!/usr/bin/env python3
"""Copy the needed dist files of npm packages (package-lock.json pins them) into maps/static/vendor/.

Run by `make` after `npm ci` (the copies are not committed). Leaflet itself comes from django-leaflet's
static files. Then the map page's bundle (`--bundle-only`: that step alone): Leaflet and django-leaflet's extras as
ONE script and Leaflet's two stylesheets as one (maps/static/vendor/map/), so that the page's first view waits for
fewer requests (issue 22). protomaps-leaflet stays its own file: the page runs it after its first view is drawn.
"""

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
DEST = TOP / "maps" / "static" / "vendor"
FILES = {
    "protomaps-leaflet": ["dist/protomaps-leaflet.js", "dist/protomaps-leaflet.js.map", "LICENSE"],
    "jsqr": ["dist/jsQR.js", "LICENSE"],  # QR labels scanned by the phone page (verification/)
}


BUNDLE = DEST / "map"
SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def _leaflet_static() -> Path:
    spec = importlib.util.find_spec("leaflet")  # django-leaflet, in the project's venv
    if spec is None or spec.origin is None:
        raise SystemExit("django-leaflet is not installed (run this with the venv's python)")
    return Path(spec.origin).parent / "static" / "leaflet"


def bundle() -> int:
    """map-vendor.js and map-vendor.css: what templates/maps/map.html loads instead of four files."""
    leaflet = _leaflet_static()
    scripts = [leaflet / "leaflet.js", leaflet / "leaflet.extras.js"]
    styles = [leaflet / "leaflet.css", leaflet / "leaflet.extras.css"]
    for source in scripts + styles:
        if not source.exists():
            print(f"missing {source}", file=sys.stderr)
            return 1
    BUNDLE.mkdir(parents=True, exist_ok=True)
    # each part as its own statement; source-map comments dropped (the maps would not match the bundle)
    js = "".join(f"/* {s.name} */\n{SOURCE_MAP.sub('', s.read_text(encoding='utf-8')).rstrip()}\n;\n" for s in scripts)
    (BUNDLE / "map-vendor.js").write_text(js, encoding="utf-8")
    # Leaflet's images stay where django-leaflet puts them: static/leaflet/images/
    css = "".join(f"/* {s.name} */\n{s.read_text(encoding='utf-8')}\n" for s in styles)
    css = re.sub(r"url\((['\"]?)images/", r"url(\1../../leaflet/images/", css)
    (BUNDLE / "map-vendor.css").write_text(css, encoding="utf-8")
    print(f"map bundle ({len(js):,} + {len(css):,} bytes) -> {BUNDLE.relative_to(TOP)}")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--bundle-only"]:
        return bundle()
    modules = TOP / "node_modules"
    for package, files in FILES.items():
        meta = json.loads((modules / package / "package.json").read_text())
        target = DEST / package
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            source = modules / package / name
            if not source.exists():
                print(f"missing {source} (run `npm ci` first)", file=sys.stderr)
                return 1
            shutil.copy2(source, target / Path(name).name)
        (target / "VERSION").write_text(meta["version"] + "\n")
        print(f"{package} {meta['version']} -> {target.relative_to(TOP)}")
    return bundle()


if __name__ == "__main__":
    sys.exit(main())
