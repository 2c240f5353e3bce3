"""Stand-in generators by name, and the cache that holds their output."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mbench.errors import did_you_mean
from mbench.paths import cache_dir

__all__ = ["GENERATORS", "generate_standin"]

log = logging.getLogger(__name__)


def _brats2018(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.brats2018 import generate_brats2018

    return generate_brats2018(root, **params)


def _pannuke(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.pannuke import generate_pannuke

    return generate_pannuke(root, **params)


def _camus(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.camus import generate_camus

    return generate_camus(root, **params)


def _kvasir_seg(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.kvasir import generate_kvasir_seg

    return generate_kvasir_seg(root, **params)


def _kvasir_instrument(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.kvasir import generate_kvasir_instrument

    return generate_kvasir_instrument(root, **params)


def _busi(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.busi import generate_busi

    return generate_busi(root, **params)


def _lits(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.liver import generate_lits

    return generate_lits(root, **params)


def _chaos_t2spir(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.liver import generate_chaos_t2spir

    return generate_chaos_t2spir(root, **params)


def _dlds(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.liver import generate_dlds

    return generate_dlds(root, **params)


def _lung_grosspath(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.lung_grosspath import generate_lung_grosspath

    return generate_lung_grosspath(root, **params)


GENERATORS: dict[str, Callable[..., list[str]]] = {"brats2018": _brats2018, "pannuke": _pannuke, "camus": _camus,
                                                   "kvasir_seg": _kvasir_seg, "kvasir_instrument": _kvasir_instrument,
                                                   "busi": _busi, "lits": _lits, "chaos_t2spir": _chaos_t2spir,
                                                   "dlds": _dlds,
                                                   "lung_grosspath": _lung_grosspath}


def generate_standin(generator: str, params: dict[str, Any], root: Path | None = None) -> Path:
    """Return the folder holding the stand-in, generating it (atomically) on first use.

    The folder is ``<cache>/standin/<generator>-<hash of params>``; a finished generation is marked
    by ``.complete``, so an interrupted one is redone rather than half-read.
    """
    if generator not in GENERATORS:
        raise did_you_mean("stand-in generator", generator, GENERATORS)
    key = hashlib.sha256(json.dumps({"g": generator, "p": params}, sort_keys=True).encode()).hexdigest()[:12]
    target = Path(root) if root is not None else cache_dir() / "standin" / f"{generator}-{key}"
    if (target / ".complete").exists():
        return target
    log.info("generating the %s stand-in into %s", generator, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        GENERATORS[generator](staging, **params)
        (staging / ".complete").write_text(json.dumps({"generator": generator, "params": params}, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
