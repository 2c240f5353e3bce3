"""Regenerate the LIDC-IDRI super-resolution split manifests (run from the repository root).

    python tasks/lidc_sr4x/make_splits.py

Dey et al. (paper 5) use 9,336 training and 919 test slices of LIDC-IDRI without saying how slices or patients
were chosen. The harness takes 10 evenly spaced slices per patient (the adapter's ``slices_per_patient``) and
splits the 1,010 patients (groups: no patient crosses splits) by a seeded permutation of the sorted patient ids:
92 test patients (920 slices, ~ the paper's 919), 10 validation patients (100 slices, for checkpoint selection;
the paper has none) and the other 908 for training (9,080 slices, ~ the paper's 9,336). The real manifest is a
rule (the ids come from the downloaded folders); the stand-in (16 patients) has its own rule. The cards pin the
hashes printed here.
"""

from pathlib import Path

from mbench.data.split import write_manifest

HERE = Path(__file__).parent / "splits"
print("lidc_idri_sr.json",
      write_manifest(HERE / "lidc_idri_sr.json", None, group_key="patient", seed=2023,
                     method="seeded permutation of the sorted LIDC-IDRI patient ids: 92 test, 10 val, rest train",
                     dataset="LIDC-IDRI (TCIA), 1010 patients, 10 evenly spaced CT slices each",
                     rule={"pool": "all", "n_pool": 1010, "sizes": {"test": 92, "val": 10, "train": "rest"}}))
print("standin.json",
      write_manifest(HERE / "standin.json", None, group_key="patient", seed=2023,
                     method="seeded permutation of the 16 stand-in patients: 4 test, 2 val, 10 train",
                     dataset="mbench LIDC-IDRI stand-in (16 phantom patients)",
                     rule={"pool": "all", "n_pool": 16, "sizes": {"test": 4, "val": 2, "train": "rest"}}))
