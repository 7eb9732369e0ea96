# Small persistent records (JSON) on the board's file system, replaced atomically:
# write "<name>.tmp", then rename over "<name>". A power cut leaves either the old or the new file.
import json
import os


def _join(root, name):
    return root + "/" + name if root else name


def load(root, name, default=None):
    try:
        with open(_join(root, name)) as f:
            return json.load(f)
    except OSError:
        return default


def save(root, name, obj):
    path = _join(root, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
    os.rename(tmp, path)
