"""Pure metric functions on numpy arrays, returning Python floats. Import as ``F``.

One module per family: :mod:`~.overlap`, :mod:`~.surface`, :mod:`~.regions`, :mod:`~.lesion`,
:mod:`~.image_quality`, :mod:`~.classification`, :mod:`~.retrieval`, :mod:`~.detection`, :mod:`~.registration`
and :mod:`~.efficiency`. Every function documents its definition, its behaviour on empty inputs and an example.

Example:
    >>> import numpy as np
    >>> from mbench.metrics import functional as F
    >>> F.dice(np.array([1, 1, 0]), np.array([1, 0, 0]))
    0.6666666666666666
"""

from mbench.metrics.functional.classification import (
    accuracy,
    average_precision,
    balanced_accuracy,
    binary_specificity,
    cohen_kappa,
    confusion_matrix,
    f1_score,
    mean_average_precision,
    precision_score,
    recall_score,
    roc_auc,
    top_k_accuracy,
)
from mbench.metrics.functional.detection import (
    FROC_RATES,
    coco_ap,
    coco_ap50,
    coco_ap75,
    coco_detection,
    froc,
    froc_score,
    point_detection_counts,
    point_f1,
)
from mbench.metrics.functional.efficiency import count_parameters, flops, latency
from mbench.metrics.functional.separability import (
    class_separation_margin,
    max_within_class_distance,
    min_between_class_distance,
)
from mbench.metrics.functional.false_positive import false_positive_case, false_positive_volume
from mbench.metrics.functional.image_quality import lpips, lpips_backbone_path, mae, mse, psnr, rmse, ssim
from mbench.metrics.functional.vif import vif
from mbench.metrics.functional.lesion import (
    BRATS_2023_WORST_HD95,
    LesionScore,
    LesionWiseResult,
    lesion_dice,
    lesion_hd95,
    lesion_wise,
)
from mbench.metrics.functional.overlap import (
    OVERLAP_METRICS,
    confusion_counts,
    dice,
    iou,
    overlap_from_counts,
    pixel_accuracy,
    pooled_overlap,
    precision,
    recall,
    specificity,
)
from mbench.metrics.functional.regions import (
    BRATS_2023_REGIONS,
    BRATS_REGIONS,
    per_label,
    per_region,
    region_mask,
    region_scores,
)
from mbench.metrics.functional.registration import (
    folding_fraction,
    jacobian_determinant,
    log_jacobian_std,
    registration_dice,
    registration_hd95,
    warp,
)
from mbench.metrics.functional.similarity import distance_map, distance_transform_ssd, mutual_information
from mbench.metrics.functional.retrieval import retrieval_class_top_k, retrieval_map, retrieval_top_k
from mbench.metrics.functional.separation import iqr_overlap, mann_whitney_p, mann_whitney_u
from mbench.metrics.functional.surface import (
    SURFACE_METRICS,
    SurfaceDistances,
    assd,
    hd,
    hd95,
    hd95_pooled,
    hd95_surfel,
    masd,
    nsd,
    surface_distances,
    surface_metrics,
)

__all__ = [
    # similarity (multimodal registration)
    "distance_map", "distance_transform_ssd", "mutual_information",
    # overlap
    "OVERLAP_METRICS", "confusion_counts", "dice", "iou", "precision", "recall", "specificity", "pixel_accuracy",
    "overlap_from_counts", "pooled_overlap",
    # label maps and regions
    "BRATS_REGIONS", "BRATS_2023_REGIONS", "region_mask", "per_label", "per_region", "region_scores",
    # surface
    "SURFACE_METRICS", "SurfaceDistances", "surface_distances", "surface_metrics",
    "hd95", "hd95_surfel", "hd95_pooled", "hd", "assd", "masd", "nsd",
    # false positives (lesion-free cases)
    "false_positive_case", "false_positive_volume",
    # lesion-wise
    "BRATS_2023_WORST_HD95", "LesionScore", "LesionWiseResult", "lesion_wise", "lesion_dice", "lesion_hd95",
    # image quality
    "mae", "mse", "rmse", "psnr", "ssim", "lpips", "lpips_backbone_path", "vif",
    # classification
    "accuracy", "balanced_accuracy", "top_k_accuracy", "precision_score", "recall_score", "f1_score", "roc_auc",
    "average_precision", "mean_average_precision", "cohen_kappa", "confusion_matrix", "binary_specificity",
    # two-class separation by a score
    "mann_whitney_u", "mann_whitney_p", "iqr_overlap",
    # retrieval
    "retrieval_map", "retrieval_top_k", "retrieval_class_top_k",
    # detection
    "coco_detection", "coco_ap", "coco_ap50", "coco_ap75", "point_detection_counts", "point_f1", "froc",
    "froc_score", "FROC_RATES",
    # registration
    "warp", "jacobian_determinant", "folding_fraction", "log_jacobian_std", "registration_dice", "registration_hd95",
    # efficiency
    "count_parameters", "flops", "latency",
    # class separability of sample vectors
    "max_within_class_distance", "min_between_class_distance", "class_separation_margin",
]
