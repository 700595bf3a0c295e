#!/bin/sh
# Run the image fuzzer (PNG and JPEG decoding, --resize) for a bounded time
# on seeds made here: small PNG and JPEG files of several kinds (grey,
# RGB, RGBA, palette, 16-bit, progressive, EXIF-oriented) from skimage's
# pictures, written by Debian's Python (PIL); no seeds without it.
# usage: tests/fuzz/run-image.sh FUZZER SECONDS
set -eu
fuzzer=$1 secs=${2:-60}
corpus=build/fuzz/image-corpus
mkdir -p "$corpus"
/usr/bin/python3 - "$corpus" <<'PY' || echo "run-image.sh: no seeds (python3-pil, python3-skimage)"
import sys
import numpy as np
import skimage.data as sd
from PIL import Image
out = sys.argv[1]
im = Image.fromarray(sd.chelsea()).resize((24, 16))
kinds = {"rgb": im, "grey": im.convert("L"), "rgba": im.convert("RGBA"), "pal": im.convert("P"),
         "i16": Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257)}
for n, k in kinds.items():
	for sel in (0, 1, 2, 4 | 8 | 16):
		with open("%s/%s-%d.png" % (out, n, sel), "wb") as f:
			f.write(bytes([sel])); k.save(f, "PNG")
for n, kw in (("base", {}), ("prog", {"progressive": True}), ("q20", {"quality": 20})):
	for src in (im, im.convert("L")):
		for sel in (0, 1, 2, 4 | 16 | 64):
			with open("%s/%s-%s-%d.jpg" % (out, n, src.mode, sel), "wb") as f:
				f.write(bytes([sel])); src.save(f, "JPEG", **kw)
ex = im.getexif(); ex[0x0112] = 6
with open("%s/exif.jpg" % out, "wb") as f:
	f.write(b"\0"); im.save(f, "JPEG", exif=ex)
PY
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2560 -malloc_limit_mb=2048 -max_len=65536 \
	-timeout=10 -print_final_stats=1 "$corpus"
