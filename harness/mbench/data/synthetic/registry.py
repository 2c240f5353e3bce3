"""Stand-in generators by name, and the cache that holds their output."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mbench.data.atomic import atomic_folder
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


def _covid_qu_ex(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.covid_qu_ex import generate_covid_qu_ex

    return generate_covid_qu_ex(root, **params)


def _shoulder_implant(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.shoulder_implant import generate_shoulder_implant

    return generate_shoulder_implant(root, **params)


def _gmdb(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.gmdb import generate_gmdb

    return generate_gmdb(root, **params)


def _wmh_stroke(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.wmh_stroke import generate_wmh_stroke

    return generate_wmh_stroke(root, **params)


def _msd_brain(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.msd_brain import generate_msd_brain

    return generate_msd_brain(root, **params)


def _hecktor2021(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.hecktor import generate_hecktor2021

    return generate_hecktor2021(root, **params)


def _lasc2018(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.lasc2018 import generate_lasc2018

    return generate_lasc2018(root, **params)


def _fundus(name: str) -> Callable[..., list[str]]:
    def generate(root: Path, **params: Any) -> list[str]:
        from mbench.data.synthetic import fundus

        return getattr(fundus, f"generate_{name}")(root, **params)

    return generate


def _lidc_idri(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.lidc import generate_lidc

    return generate_lidc(root, **params)


def _hn_mri2spr(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.hn_mri2spr import generate_hn_mri2spr

    return generate_hn_mri2spr(root, **params)


def _midog2021(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.midog import generate_midog

    return generate_midog(root, **params)


GENERATORS: dict[str, Callable[..., list[str]]] = {"midog2021": _midog2021, "lidc_idri": _lidc_idri, "hn_mri2spr": _hn_mri2spr,
                                                   "covid_qu_ex": _covid_qu_ex, "shoulder_implant": _shoulder_implant,
                                                   "gmdb": _gmdb,
                                                   "brats2018": _brats2018, "pannuke": _pannuke, "camus": _camus,
                                                   "kvasir_seg": _kvasir_seg, "kvasir_instrument": _kvasir_instrument,
                                                   "busi": _busi, "lits": _lits, "chaos_t2spir": _chaos_t2spir,
                                                   "dlds": _dlds,
                                                   "lung_grosspath": _lung_grosspath, "hecktor2021": _hecktor2021, "lasc2018": _lasc2018,
                                                   "wmh_stroke": _wmh_stroke, "msd_brain": _msd_brain}


GENERATORS.update({name: _fundus(name) for name in ("aptos2019", "ichallenge_amd", "origa")})


def _mednode(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.mednode import generate_mednode

    return generate_mednode(root, **params)


GENERATORS["mednode"] = _mednode


def _eeg(name: str) -> Callable[..., list[str]]:
    def generate(root: Path, **params: Any) -> list[str]:
        from mbench.data.synthetic import eeg

        return getattr(eeg, f"generate_{name}")(root, **params)

    return generate


GENERATORS.update({"nmed": _eeg("nmed"), "seed_eeg": _eeg("seed")})



def _trauma_thompson(root: Path, **params: Any) -> list[str]:
    from mbench.data.synthetic.trauma_thompson import generate_trauma_thompson

    return generate_trauma_thompson(root, **params)


GENERATORS["trauma_thompson"] = _trauma_thompson


def _registration(name: str) -> Callable[..., list[str]]:
    def make(root: Path, **params: Any) -> list[str]:
        if name == "maldi_mri":
            from mbench.data.synthetic.maldi_mri import generate_maldi_mri

            return generate_maldi_mri(root, **params)
        from mbench.data.synthetic import abdomen_registration

        return getattr(abdomen_registration, f"generate_{name}")(root, **params)

    return make


GENERATORS.update({name: _registration(name) for name in ("maldi_mri", "learn2reg", "amos")})

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
    with atomic_folder(target) as staging:
        GENERATORS[generator](staging, **params)
        (staging / ".complete").write_text(json.dumps({"generator": generator, "params": params}, sort_keys=True))
    return target
