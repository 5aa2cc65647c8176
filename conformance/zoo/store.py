"""Where built zoo models live: ``<zoo>/<name>/`` plus ``<name>.stamp`` (the build hash) and, for archived
models, ``<name>.tar.gz``. A model is fresh when its stamp equals the current build hash."""
from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from typing import Dict, Optional

from conformance.zoo.catalog import ZooModel


def model_dir(zoo_dir: str, model: ZooModel) -> str:
    return os.path.join(zoo_dir, model.name)


def stamp_path(zoo_dir: str, model: ZooModel) -> str:
    return os.path.join(zoo_dir, model.name + ".stamp")


def read_stamp(zoo_dir: str, model: ZooModel) -> Optional[Dict[str, str]]:
    try:
        with open(stamp_path(zoo_dir, model)) as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return None


def is_fresh(zoo_dir: str, model: ZooModel, build_hash: str) -> bool:
    stamp = read_stamp(zoo_dir, model)
    return bool(stamp and stamp.get("hash") == build_hash and os.path.isdir(model_dir(zoo_dir, model))
                and (not model.archive or os.path.isfile(archive_path(zoo_dir, model))))


def archive_path(zoo_dir: str, model: ZooModel) -> str:
    return os.path.join(zoo_dir, model.name + ".tar.gz")


def install(zoo_dir: str, model: ZooModel, built_dir: str, build_hash: str, info: Dict[str, str]) -> None:
    """Move a finished build into place; the stamp is written last, so a crash leaves the model stale."""
    target = model_dir(zoo_dir, model)
    if os.path.lexists(stamp_path(zoo_dir, model)):
        os.remove(stamp_path(zoo_dir, model))
    if os.path.exists(target):
        shutil.rmtree(target)
    os.rename(built_dir, target)
    if model.archive:
        fd, temporary = tempfile.mkstemp(dir=zoo_dir, suffix=".tar.gz.tmp")
        os.close(fd)
        with tarfile.open(temporary, "w:gz") as archive:
            for entry in sorted(os.listdir(target)):
                archive.add(os.path.join(target, entry), arcname=entry)
        os.replace(temporary, archive_path(zoo_dir, model))
    fd, temporary = tempfile.mkstemp(dir=zoo_dir, suffix=".stamp.tmp")
    with os.fdopen(fd, "w") as stream:
        json.dump(dict(info, hash=build_hash), stream, indent=1, sort_keys=True)
    os.replace(temporary, stamp_path(zoo_dir, model))
