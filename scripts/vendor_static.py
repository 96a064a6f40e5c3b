#!/usr/bin/env python3
"""Copy the needed dist files of npm packages (package-lock.json pins them) into maps/static/vendor/.

Run by `make` after `npm ci` (the copies are not committed). Leaflet itself comes from django-leaflet's
static files.
"""

import json
import shutil
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
DEST = TOP / "maps" / "static" / "vendor"
FILES = {
    "protomaps-leaflet": ["dist/protomaps-leaflet.js", "dist/protomaps-leaflet.js.map", "LICENSE"],
    "jsqr": ["dist/jsQR.js", "LICENSE"],  # QR labels scanned by the phone page (verification/)
}


def main() -> int:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
