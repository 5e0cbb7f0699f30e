# The reference implementations' verdicts on a folder of files, one JSON line per file (sorted by
# name), for the fuzz suites (test/python-oracle.ts): NumPy's np.load for .npy, Pillow (libpng,
# libjpeg) for PNG and JPEG. A refusal is {"ok": false}; a read gives what was read, or with a
# third argument "ok-only" only that it was read.
import base64
import hashlib
import json
import os
import sys
import warnings

kind, folder = sys.argv[1], sys.argv[2]
ok_only = sys.argv[3:] == ['ok-only']
warnings.simplefilter('ignore')

if kind == 'npy':
    import numpy as np

    def verdict(path):
        a = np.load(path, allow_pickle=False)
        return {'descr': a.dtype.str, 'fortran': bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                'shape': list(a.shape), 'sha256': hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()}
else:
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = 64 * 2**20  # our decoder's limit: past it Pillow warns (an error here)
    warnings.simplefilter('error', Image.DecompressionBombWarning)

    from PIL import ImageFile

    def verdict(path):
        with Image.open(path) as im:
            damaged = False
            try:
                im.load()
            except OSError:
                # libjpeg found the coded data damaged (a marker, or the end of the data, before the
                # last block) and Pillow gives up; decoded as far as libjpeg goes, the frame still
                # says what the image is, so a lenient decoder's read is compared on that
                if im.format != 'JPEG' or ok_only:  # ok-only asks whether Pillow reads it: it does not
                    raise
                ImageFile.LOAD_TRUNCATED_IMAGES, damaged = True, True
                try:
                    im.load()
                finally:
                    ImageFile.LOAD_TRUNCATED_IMAGES = False
            rgb = im.convert('RGB')
            return {'format': im.format, 'width': im.width, 'height': im.height, 'damaged': damaged, 'rgb': base64.b64encode(rgb.tobytes()).decode()}

for name in sorted(os.listdir(folder)):
    try:
        read = verdict(os.path.join(folder, name))
        out = {'ok': True, **({} if ok_only else read)}
    except Exception as e:  # every refusal counts the same; its kind is for a person reading a failure
        out = {'ok': False, 'error': f'{type(e).__name__}: {e}'[:200]}
    print(json.dumps({'file': name, **out}), flush=True)
