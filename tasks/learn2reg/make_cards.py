"""Write paper 20's two zero-shot registration cards (run from the repository root):

    python tasks/learn2reg/make_cards.py

Learn2Reg AbdomenCTCT (CT, 45 pairs) and AMOS 2022 MRI (28 pairs) share the protocol, metrics and conventions, so
both cards come from this template (edit this file, not the cards, and re-run it; bump VERSION when a card's meaning
changes).
"""

from pathlib import Path

import yaml

HERE = Path(__file__).parent
VERSION = "1.0.0"
PAPER = "Generalised 3D registration with learned shape encodings (MIUA 2023, paper 20)"
L2R_SPLIT = {"file": "splits/l2r_abdomenctct.json",
             "sha256": "2b5cf696324af4b6f2e92dd5df03530fb3f4c9ad8bdc994e6ad81ca9d812dfd9"}
AMOS_SPLIT = {"file": "splits/amos_mr.json", "sha256": "9cf108d0020b60a4dd895857db3887106c23c76bfdb161432eaacc21df78320f"}

L2R_LABELS = ["spleen", "right_kidney", "left_kidney", "gallbladder", "esophagus", "liver", "stomach", "aorta", "ivc",
              "portal_splenic_vein", "pancreas", "right_adrenal", "left_adrenal"]  # release codes 1..13
AMOS_LABELS = ["spleen", "right_kidney", "left_kidney", "gallbladder", "esophagus", "liver", "stomach", "aorta", "ivc",
               "pancreas", "right_adrenal", "left_adrenal", "duodenum"]  # AMOS codes 1..13 (14 bladder, 15 prostate)

# the paper's per-label column order (Sect. 3.1; the OCR lost the colour headers, order inferred in the notes)
L2R_COLUMNS = ["aorta", "ivc", "spleen", "left_kidney", "right_kidney", "gallbladder", "esophagus", "liver",
               "pancreas", "stomach", "left_adrenal", "right_adrenal", "portal_splenic_vein"]
AMOS_COLUMNS = ["aorta", "ivc", "spleen", "left_kidney", "right_kidney", "gallbladder", "esophagus", "liver",
                "stomach", "pancreas", "left_adrenal", "right_adrenal", "duodenum"]

# row: (setting, per-label Dice %, avg(2), avg(all), ± , HD95 voxels, JD)
L2R_ROWS = [
    ("initial (no registration)", [33, 36, 42, 34, 35, 2, 23, 62, 24, 15, 8, 8, 5], 34.5, 25.1, 13, 20.1, None),
    ("CNN-Reg + MEDM encoding", [39, 38, 67, 52, 56, 4, 23, 83, 46, 23, 11, 10, 12], 38.1, 35.6, 10, 16.0, 0.006),
    ("CNN-Reg + Adaptation module", [40, 46, 70, 68, 73, 11, 33, 79, 44, 33, 19, 23, 13], 42.9, 42.4, 12, 14.7, 0.007),
    ("UNETR-Reg + MEDM encoding", [38, 39, 64, 46, 60, 4, 21, 80, 49, 18, 9, 7, 9], 38.4, 34.2, 11, 21.2, 0.031),
    ("UNETR-Reg + Adaptation module", [46, 49, 66, 72, 79, 17, 43, 81, 47, 33, 24, 29, 24], 47.5, 47.0, 14, 23.3,
     0.022),
]
AMOS_ROWS = [
    ("initial (no registration)", [21, 30, 50, 52, 51, 12, 8, 71, 37, 38, 10, 11, 20], 25.7, 31.6, 11, 19.0, None),
    ("CNN-Reg + MEDM encoding", [34, 37, 74, 69, 69, 23, 15, 89, 52, 42, 9, 8, 27], 35.7, 42.2, 9, 15.2, 0.006),
    ("CNN-Reg + Adaptation module", [46, 54, 79, 78, 75, 41, 33, 88, 58, 56, 19, 18, 32], 49.9, 52.1, 11, 12.9, 0.006),
    ("UNETR-Reg + MEDM encoding", [33, 40, 69, 68, 65, 16, 11, 84, 50, 35, 3, 8, 22], 36.3, 38.6, 10, 21.7, 0.032),
    ("UNETR-Reg + Adaptation module", [50, 56, 83, 75, 81, 35, 35, 84, 68, 59, 19, 26, 34], 53.1, 54.2, 14, 27.3,
     0.026),
]

JD_NOTE = ("paper's JD = std(log(clip(det J + 3))) on the network's half-resolution field in normalised coordinates "
           "(the Learn2Reg script's '+3'): NOT comparable with this card's log_jacobian_std (voxel units, no offset)")
SD_NOTE = "± {} = SD over the registration pairs of the per-pair mean Dice (most likely; see the paper notes)"


def references(table: str, rows: list, columns: list[str], hd_note: str, hd_factor: float | None,
               io_dice: float) -> list[dict]:
    source = f"paper 20, {table}"
    out = []
    for setting, per_label, avg2, avg_all, sd, hd, jd in rows:
        out.append({"metric": "registration_dice", "value": round(avg_all / 100, 4), "setting": setting,
                    "source": source, "note": "avg(all) of 13 labels; " + SD_NOTE.format(sd)})
        out.append({"metric": "registration_dice", "value": round(avg2 / 100, 4), "region": "mean:seen",
                    "setting": setting, "source": source, "note": "avg(2): aorta and IVC, the labels seen in training"})
        hd_value = round(hd * hd_factor, 2) if hd_factor else hd
        out.append({"metric": "registration_hd95", "value": hd_value, "setting": setting, "source": source,
                    "note": hd_note.format(hd)})
        if jd is not None:
            out.append({"metric": "log_jacobian_std", "value": jd, "setting": setting, "source": source,
                        "note": JD_NOTE})
        if setting.startswith(("initial", "UNETR-Reg + Adaptation")):
            out += [{"metric": "registration_dice", "value": v / 100, "region": label, "setting": setting,
                     "source": source + " (label columns inferred, OCR lost the headers)"}
                    for label, v in zip(columns, per_label)]
    out.append({"metric": "registration_dice", "value": io_dice, "setting": "UNETR-Reg + Adaptation + Adam instance "
                "optimisation (the paper's medm_adam-like refinement, started from the network's field)",
                "source": "paper 20, Sect. 4 (text)", "note": "average Dice; no table"})
    return out


COMMON_PROTOCOL = {"name": "pairwise_registration", "split": "test", "pairs": "all_i_lt_j", "seeds": [0],
                   "label_input": "predicted", "label_groups": {"seen": ["aorta", "ivc"]},
                   "train_source": "nothing of this dataset: paper 20 trains on TotalSegmentator skeletal (33 CT) and "
                                   "VISCERAL vascular / lung label maps (51 CT); the built-in baselines train nothing"}

CONVENTIONS = {
    "both_empty": None, "empty_reference": "exclude", "distance_worst": None,
    "aggregation": "per_case_mean",
    "case_unit": "registration pair 'fixed|moving' (i < j); statistics per case (pair_units)",
    "pair_units": "cases",
    "notes": (
        "Evaluation as paper 20's code: the reference moving labels are warped with nearest neighbour (border "
        "values outside) by the predicted field and compared with the reference fixed labels, per label "
        "(background excluded). Dice per label; a label absent from the fixed map is excluded (NaN, counted). "
        "HD95 = max of the directed 95th percentiles (mbench hd95) in mm with the image header's spacing; the paper "
        "computes it in voxels (unit spacing). A label lost by the warp gives inf and is left out of the pair's "
        "mean (the paper averages over labels present in both maps). The unregioned rows are the mean over labels "
        "(avg(all)); region mean:seen the mean over aorta and IVC (avg(2)). log_jacobian_std is std(log(clip(det "
        "(I + grad u), 1e-9, 1e9))) over the full-resolution field in voxels (no '+3' offset); folding_fraction "
        "the fraction of det <= 0. Pairs share cases (each of 10 cases is in 9 of 45 pairs), so paired tests "
        "average each case's pair scores first (pair_units: cases)."),
}


def card(kind: str) -> dict:
    if kind == "l2r":
        labels, split, names = L2R_LABELS, L2R_SPLIT, "l2r-abdomenctct"
        data = {"adapter": "learn2reg", "params": {"dataset": "AbdomenCTCT", "predictions": "predictionsTr"},
                "source": ("Learn2Reg AbdomenCTCT (https://learn2reg.grand-challenge.org/, 30 training scans, affine "
                           "pre-registered, 2 mm, 192x160x256): set data.root to the folder holding "
                           "AbdomenCTCT_dataset.json, imagesTr/ and labelsTr/, and write the segmenter's predicted "
                           "labels (paper 20: nnU-Net, 300 epochs on the 20 train cases) as "
                           "predictionsTr/AbdomenCTCT_XXXX_0000.nii.gz"),
                "split": split,
                "standin": {"generator": "learn2reg", "params": {"n_cases": 30, "shape": [48, 40, 64],
                                                                "spacing": [4.0, 4.0, 4.0], "seed": 2022},
                            "split": split}}
        refs = references("Table 1 (L2R-CT)", L2R_ROWS, L2R_COLUMNS,
                          "paper: {} voxels (unit spacing in its code); x 2 mm (the release's isotropic spacing)",
                          2.0, 0.56)
        refs += [{"metric": "registration_dice", "value": 0.662, "setting": "label-supervised LapIRN trained on the "
                  "target domain (upper bound, not zero-shot)", "source": "paper 20, Sect. 4, citing Learn2Reg [16]"},
                 {"metric": "registration_dice", "value": 0.355, "setting": "VoxelMorph variant (as printed: "
                  "'supervised and unsupervised ... 35.5% and 43.85%')", "source": "paper 20, Sect. 4, citing [14]",
                  "note": "the order of the two VoxelMorph numbers is as printed and looks swapped; both kept"},
                 {"metric": "registration_dice", "value": 0.4385, "setting": "VoxelMorph variant (as printed, the "
                  "other of the pair)", "source": "paper 20, Sect. 4, citing [14]"}]
        title = "Learn2Reg AbdomenCTCT: zero-shot label-driven 3D inter-patient registration (13 labels, 45 pairs)"
        aliases = ["l2r-abdomenctct", "genreg-l2r"]
        modality = "CT"
        quick_cases = 4
        segmenter_split = "train"
    else:
        labels, split, names = AMOS_LABELS, AMOS_SPLIT, "amos-mr"
        data = {"adapter": "amos", "params": {"modality": "MR", "predictions": "predictions"},
                "source": ("AMOS 2022 (https://amos22.grand-challenge.org/, zenodo 7155725): set data.root to amos22/ "
                           "(dataset.json, imagesTr/, labelsTr/, imagesVa/, labelsVa/); MRI = case numbers >= 500. "
                           "Write the segmenter's predicted labels (paper 20: nnU-Net on 32 MRI cases) as "
                           "predictions/amos_XXXX.nii.gz"),
                "split": split,
                "standin": {"generator": "amos", "params": {"case_numbers": [507, 510, 548, 554, 558, 570, 583, 591,
                                                                            593, 600],
                                                           "shape": [48, 32, 48], "spacing": [4.0, 4.0, 5.0],
                                                           "seed": 2022},
                            "split": split}}
        refs = references("Table 2 (AMOS-MR)", AMOS_ROWS, AMOS_COLUMNS,
                          "paper: {} voxels (unit spacing) on its 256x160x256 resampled grid, spacing not stated: "
                          "NOT comparable with mm", None, 0.61)
        title = "AMOS 2022 MRI: zero-shot label-driven 3D inter-patient registration (13 labels, 28 pairs)"
        aliases = ["amos-mr-reg", "genreg-amos"]
        modality = "MRI"
        quick_cases = 4
        segmenter_split = None  # the 32 training ids are listed only in the paper's notebook
    return {
        "id": f"genreg-{names}",
        "version": VERSION,
        "title": title,
        "family": "learn2reg",
        "paper": PAPER,
        "aliases": aliases,
        "problem": "registration",
        "data": data,
        "labels": {"background": 0, **{name: k for k, name in enumerate(labels, start=1)}},
        "target": "label_index",
        "regions": {name: [name] for name in labels},
        "preprocessing": {"notes": (
            f"{modality} volumes as released (affine pre-registered); no resampling: the field lives on the fixed "
            "image's grid in voxels. Registrars see the predicted label maps (label_input: predicted) and the "
            "images; scoring uses the reference labels. medm_adam pools the encodings x2 as the paper.")},
        "protocol": {**COMMON_PROTOCOL, **({"segmenter_split": segmenter_split} if segmenter_split else {})},
        "metrics": {"primary": "registration_dice",
                    "report": ["registration_dice", "registration_hd95", "folding_fraction", "log_jacobian_std"],
                    "conventions": dict(CONVENTIONS)},
        "models": ["reg_identity", "medm_adam", "demons_intensity"],
        "reference_results": refs,
        "quick": {"protocol": {"max_cases": quick_cases},
                  "model_defaults": {"demons_intensity": {"levels": 2, "iterations": 30},
                                     "medm_adam": {"iterations": 30}}},
    }


if __name__ == "__main__":
    for kind in ("l2r", "amos"):
        spec = card(kind)
        header = (f"# Paper 20: {spec['title']}.\n# Generated by tasks/learn2reg/make_cards.py: edit that file and "
                  "re-run it, not this card.\n")
        (HERE / f"{spec['id']}.yaml").write_text(header + yaml.safe_dump(spec, sort_keys=False, width=118))
        print(spec["id"])
