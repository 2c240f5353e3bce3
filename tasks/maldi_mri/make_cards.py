"""Write paper 13's two MALDI-MRI registration cards (run from the repository root):

    python tasks/maldi_mri/make_cards.py

The synthetic-design card (Table 1) and the mouse-brain card (Table 2) share protocol, metrics and baselines, so
both come from this template (edit this file, not the cards, and re-run it; bump VERSION when a meaning changes).
"""

from pathlib import Path

import yaml

HERE = Path(__file__).parent
VERSION = "1.0.0"
PAPER = "A new similarity metric for deformable registration of MALDI-MS and MRI images (MIUA 2023, paper 13)"
REAL_SPLIT = {"file": "splits/maldi_mri_all.json",
              "sha256": "da0eaa997f6db546a8ea9204180ce67c4f3461e4266b876f2c6094da8748ae44"}
STANDIN_SPLITS = {
    "synthetic": {"file": "splits/maldi_mri_synthetic_standin.json",
                  "sha256": "e4249929b2882bbc2535bd8c49c36f1a7727c96d56a1a7ce66d778ee91a4da09"},
    "brain": {"file": "splits/maldi_mri_brain_standin.json",
              "sha256": "e72e2e8c3a45931164aefa6db15278b7bd9cad50c3160db02cead81c42c7d2a7"},
}
# (setting, model id or None, p, r, F, m_I) as printed
TABLE1 = [("UDT (updated distance transform SSD, the paper's metric)", "demons_udt", 0.999, 0.994, 0.996, 0.572),
          ("DT1 (distance-transform SSD, parameters maximising m_I)", "demons_dt", 0.967, 0.995, 0.980, 0.569),
          ("DT2 (distance-transform SSD, parameters maximising F)", "demons_dt", 1.00, 0.996, 0.998, 0.561),
          ("Int1 (intensity SSD, parameters maximising m_I)", "demons_intensity", 0.947, 0.988, 0.967, 0.463),
          ("Int2 (intensity SSD, parameters maximising F)", "demons_intensity", 0.987, 0.977, 0.982, 0.457)]
TABLE2 = [("UDT (the paper's metric; best F / m_I trade-off)", "demons_udt", 0.984, 0.979, 0.982, 0.638),
          ("DT (best F / m_I trade-off)", "demons_dt", 0.982, 0.977, 0.980, 0.631),
          ("Int (best F / m_I trade-off)", "demons_intensity", 0.984, 0.976, 0.980, 0.635)]

NOTES = (
    "The MRI (moving, 'target') is registered onto the MALDI image (fixed, 'reference'); both are binarised into "
    "section masks (the stand-in's and users' *_mask files). Precision = |warped target mask ∩ reference mask| / "
    "|warped target mask|, recall = the same over |reference mask|, F = 2pr / (p + r), which is exactly the Dice "
    "of the two masks (metric dice). The warped mask uses nearest neighbour, the warped image linear "
    "interpolation. mutual_information: bits between the original and the registered target images (paper 13, "
    "Sect. 3), joint histogram of 32 equal-width bins per image (the paper states no binning: its m_I values are "
    "not comparable in absolute terms). distance_transform_ssd: the UDT-SSD criterion on the final masks (mean "
    "squared difference of Euclidean distance maps, px²). folding_fraction / log_jacobian_std: the field's "
    "regularity (voxel units). Paper 13 tuned each method's parameters on one criterion (best m_I: index 1, best F: "
    "index 2; trade-off on real data) with values only in its supplement; the built-in models run one documented "
    "parameter set each (sweep them with `mbench run ... -m model.sigma=1,2,3` and state the criterion).")


def card(kind: str) -> dict:
    table, source = (TABLE1, "paper 13, Table 1 (synthetic images)") if kind == "synthetic" else \
        (TABLE2, "paper 13, Table 2 (mouse brain)")
    refs = []
    for setting, model, p, r, f, mi in table:
        for metric, value in (("precision", p), ("recall", r), ("dice", f), ("mutual_information", mi)):
            refs.append({"metric": metric, "value": value, "setting": f"{setting} [~ {model}]", "source": source,
                         **({"note": "F-measure = Dice of the masks"} if metric == "dice" else {}),
                         **({"note": "bits; the paper's binning is not stated"} if metric == "mutual_information"
                            else {})})
    if kind == "synthetic":
        refs.append({"metric": "dice", "value": 0.9965, "setting": "UDT (recomputed 2pr/(p+r) from the printed p, r)",
                     "source": source, "note": "printed F 0.996; both kept"})
        cid, title = "maldi-mri-reg2d", "MALDI-MRI 2D deformable registration, paper 13's synthetic pair design"
        aliases = ["maldi-mri", "maldi-mri-synthetic"]
        source_text = ("Private: paper 13 evaluates one synthetic pair and one mouse-brain pair (code: github "
                       "fgrelard/RegistrationUDT). The stand-in copies the paper's synthetic design; put your own "
                       "pairs in the layout of tasks/maldi_mri/README.md and set data.root to their folder")
        params = {"n_pairs": 4, "size": 256, "kind": "synthetic", "seed": 2023}
    else:
        cid, title = "maldi-mri-reg2d-mouse-brain", "MALDI-MRI 2D deformable registration, mouse-brain sections"
        aliases = ["maldi-mri-brain"]
        source_text = ("Private (paper 13's C57Bl6 mouse brain, in vivo MRI + MALDI-MSI of the sectioned brain, "
                       "MRI slice rigidly pre-aligned with the Esmraldi workflow): put your own pairs in the layout "
                       "of tasks/maldi_mri/README.md and set data.root to their folder")
        params = {"n_pairs": 3, "size": 256, "kind": "brain", "seed": 2013}
    return {
        "id": cid, "version": VERSION, "title": title, "family": "maldi_mri", "paper": PAPER, "aliases": aliases,
        "problem": "registration",
        "data": {"adapter": "maldi_mri", "source": source_text, "split": REAL_SPLIT,
                 "standin": {"generator": "maldi_mri", "params": params, "split": STANDIN_SPLITS[kind]}},
        "labels": {"background": 0, "section": 1},
        "target": "label_index",
        "preprocessing": {"notes": "Images as given (2D, one grid per pair after the rigid pre-alignment); the "
                                   "demons intensity term rescales each image to its 0.5-99.5 percentiles."},
        "protocol": {"name": "pairwise_registration", "split": "all", "pairs": "within_case", "seeds": [0],
                     "label_input": "reference", "similarity_images": "moving_vs_warped",
                     "train_source": "nothing: classical variational registration, one pair at a time"},
        "metrics": {"primary": "dice",
                    "report": ["dice", "precision", "recall", "mutual_information", "distance_transform_ssd",
                               "folding_fraction", "log_jacobian_std"],
                    "params": {"mutual_information": {"bins": 32}},
                    "conventions": {"aggregation": "per_case_mean", "spacing_source": "pixels",
                                    "case_unit": "section pair (MALDI fixed, MRI moving)", "notes": NOTES}},
        "models": ["reg_identity", "demons_udt", "demons_dt", "demons_intensity", "bspline_mi"],
        "reference_results": refs,
        "quick": {"model_defaults": {m: {"levels": 2, "iterations": 40} for m in
                                     ("demons_udt", "demons_dt", "demons_intensity")}
                  | {"bspline_mi": {"iterations": 30, "levels": 2}}},
    }


if __name__ == "__main__":
    for kind in ("synthetic", "brain"):
        spec = card(kind)
        header = (f"# Paper 13: {spec['title']}.\n# Generated by tasks/maldi_mri/make_cards.py: edit that file and "
                  "re-run it, not this card.\n")
        (HERE / f"{spec['id']}.yaml").write_text(header + yaml.safe_dump(spec, sort_keys=False, width=118,
                                                                          allow_unicode=True))
        print(spec["id"])
