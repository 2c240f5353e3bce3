"""The metric registry: each metric with its definition, reference implementation and declared conventions.

``spec.fn`` is the functional metric with the registry's default parameters bound (``spec.params``); keyword
arguments override them, e.g. ``get_metric("nsd").fn(pred, ref, tolerance=2.0, spacing=(1, 1, 3))``.

Example:
    >>> from mbench.metrics import get_metric
    >>> m = get_metric("dice")
    >>> (m.higher_is_better, m.bounds, m.level)
    (True, (0.0, 1.0), 'case')
    >>> get_metric("nsd").params
    {'tolerance': 1.0, 'spacing': None}
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mbench.errors import did_you_mean
from mbench.metrics import functional as F

__all__ = ["METRICS", "MetricSpec", "get_metric", "register_metric"]

INF = math.inf


@dataclass(frozen=True)
class MetricSpec:
    """A metric and its declared conventions.

    Attributes:
        level: ``case`` metrics score one case (one row per case in the results); ``dataset``
            metrics score a whole evaluation set (one row per evaluation, case ``*``); ``model`` metrics
            describe the model itself (efficiency), not its predictions.
        empty_policy: what the metric returns on empty inputs, in words (also in the function docstring).
        worst: the value that stands for a missing or failed case (``inf`` for distances: the task's convention
            profile declares the finite worst-case value that replaces it when aggregating).
        definition: the formula, in words.
        reference: the independent implementation it is tested against (same definition).
        params: default keyword arguments bound into ``fn`` (``None`` = must come from the task or data).
        inputs: the positional arguments ``fn`` takes.
    """

    id: str
    fn: Callable[..., float]
    level: Literal["case", "dataset", "model"]
    higher_is_better: bool
    bounds: tuple[float, float]
    empty_policy: str
    worst: float
    description: str
    definition: str = ""
    reference: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    inputs: str = "prediction, reference"


METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Add a metric to the registry (ids are unique)."""
    if spec.id in METRICS:
        raise ValueError(f"metric {spec.id!r} is already registered")
    METRICS[spec.id] = spec
    return spec


def get_metric(metric_id: str) -> MetricSpec:
    """Look up a metric, with a did-you-mean error for unknown ids.

    A region-scored label such as ``dice:WT`` (a column of region tasks' results) resolves to its metric.
    """
    base = metric_id.split(":", 1)[0]
    if base not in METRICS:
        raise did_you_mean("metric", base, METRICS)
    return METRICS[base]


def _bind(fn: Callable[..., float], params: dict[str, Any], *args: Any) -> Callable[..., float]:
    if not params and not args:
        return fn
    bound = functools.partial(fn, *args, **params)
    functools.update_wrapper(bound, fn)
    return bound


def _add(id: str, fn: Callable[..., float], *, level: str = "case", higher: bool, bounds: tuple[float, float],
         empty: str, worst: float, description: str, definition: str, reference: str,
         params: dict[str, Any] | None = None, inputs: str = "prediction, reference", args: tuple = ()) -> None:
    params = dict(params or {})
    register_metric(MetricSpec(id=id, fn=_bind(fn, params, *args), level=level, higher_is_better=higher,  # type: ignore[arg-type]
                               bounds=bounds, empty_policy=empty, worst=worst, description=description,
                               definition=definition, reference=reference, params=params, inputs=inputs))


_UNIT = (0.0, 1.0)
_DIST = (0.0, INF)
_OVERLAP_EMPTY = "both empty -> both_empty (default 1.0); one empty -> 0.0"
_DIST_EMPTY = "both empty -> both_empty (default 0.0); one empty -> inf (task profile's worst case when aggregated)"
_SP = {"spacing": None}  # None = 1 mm per axis; pass the case's voxel spacing

# -- overlap (binary masks) --------------------------------------------------------------------------------------
_add("dice", F.dice, higher=True, bounds=_UNIT, worst=0.0, empty=_OVERLAP_EMPTY,
     description="Sørensen-Dice overlap of binary masks, per case",
     definition="2|P∩R| / (|P| + |R|)", reference="sklearn f1_score on voxels")
_add("iou", F.iou, higher=True, bounds=_UNIT, worst=0.0, empty=_OVERLAP_EMPTY,
     description="intersection over union (Jaccard) of binary masks, per case",
     definition="|P∩R| / |P∪R|", reference="sklearn jaccard_score on voxels")
_add("precision", F.precision, higher=True, bounds=_UNIT, worst=0.0,
     empty="both empty -> both_empty (1.0); otherwise 0/0 -> 0.0", description="voxel precision (PPV), per case",
     definition="TP / (TP + FP)", reference="sklearn precision_score(zero_division=0) on voxels")
_add("recall", F.recall, higher=True, bounds=_UNIT, worst=0.0,
     empty="both empty -> both_empty (1.0); otherwise 0/0 -> 0.0", description="voxel recall (sensitivity), per case",
     definition="TP / (TP + FN)", reference="sklearn recall_score(zero_division=0) on voxels")
_add("specificity", F.specificity, higher=True, bounds=_UNIT, worst=0.0,
     empty="reference without background -> both_empty (1.0)", description="voxel specificity (TNR), per case",
     definition="TN / (TN + FP)", reference="sklearn recall_score(pos_label=0) on voxels")
_add("pixel_accuracy", F.pixel_accuracy, higher=True, bounds=_UNIT, worst=0.0,
     empty="defined for empty masks; zero-size arrays raise", description="fraction of voxels labelled correctly",
     definition="(TP + TN) / N", reference="sklearn accuracy_score on voxels")
for _m in ("dice", "iou"):
    _add(f"{_m}_pooled", F.pooled_overlap, args=(_m,), level="dataset", higher=True, bounds=_UNIT, worst=0.0,
         empty="no foreground in any case -> both_empty (1.0)", inputs="predictions, references",
         description=f"{_m} from confusion counts summed over all cases (global {_m})",
         definition=f"{_m} of (sum TP, sum FP, sum FN)", reference="sklearn on all voxels concatenated")

# -- surface distances (binary masks, spacing in mm) ----------------------------------------------------------------
_add("hd95", F.hd95, higher=False, bounds=_DIST, worst=INF, empty=_DIST_EMPTY, params=dict(_SP),
     description="95th-percentile Hausdorff distance (mm), MONAI / MetricsReloaded",
     definition="max(P95 d(P→R), P95 d(R→P)) over boundary voxels, linear-interpolated percentile",
     reference="MONAI compute_hausdorff_distance(percentile=95)")
_add("hd95_surfel", F.hd95_surfel, higher=False, bounds=_DIST, worst=INF, empty=_DIST_EMPTY, params=dict(_SP),
     description="surfel-area-weighted robust Hausdorff at 95 % (mm), as the BraTS 2023 scripts",
     definition="max over directions of the distance where the cumulative surfel area reaches 95 %",
     reference="surface-distance compute_robust_hausdorff(·, 95)")
_add("hd95_pooled", F.hd95_pooled, higher=False, bounds=_DIST, worst=INF, empty=_DIST_EMPTY, params=dict(_SP),
     description="95th percentile of both directions' boundary distances pooled (mm), medpy",
     definition="P95(d(P→R) ∪ d(R→P)) over boundary voxels", reference="medpy.metric.binary.hd95")
_add("hd", F.hd, higher=False, bounds=_DIST, worst=INF, empty=_DIST_EMPTY, params=dict(_SP),
     description="Hausdorff distance (mm)", definition="max(max d(P→R), max d(R→P)) over boundary voxels",
     reference="MONAI compute_hausdorff_distance; medpy hd")
_add("assd", F.assd, higher=False, bounds=_DIST, worst=INF, empty=_DIST_EMPTY, params=dict(_SP),
     description="average symmetric surface distance (mm)",
     definition="(Σ d(P→R) + Σ d(R→P)) / (|∂P| + |∂R|) over boundary voxels",
     reference="MONAI compute_average_surface_distance(symmetric=True); medpy 0.5 assd")
_add("masd", F.masd, higher=False, bounds=_DIST, worst=INF, empty=_DIST_EMPTY, params=dict(_SP),
     description="mean of the two directed average surface distances (mm), MetricsReloaded MASD",
     definition="(mean d(P→R) + mean d(R→P)) / 2 over boundary voxels", reference="medpy asd, both directions")
_add("nsd", F.nsd, higher=True, bounds=_UNIT, worst=0.0, params={"tolerance": 1.0, **_SP},
     empty="both empty -> both_empty (default 1.0); one empty -> 0.0",
     description="normalised surface Dice at a tolerance (mm; the task declares it, default 1 mm)",
     definition="surfel area within tolerance of the other surface / total surfel area",
     reference="surface-distance compute_surface_dice_at_tolerance")

# -- false positives (scored on cases whose reference is empty: a card's metrics.lesion_free_regions) --------------
_add("false_positive_case", F.false_positive_case, higher=False, bounds=_UNIT, worst=1.0,
     empty="empty prediction -> 0.0", description="1 if anything is predicted outside the reference (mean over "
     "lesion-free cases = share of cases with a false positive, paper 1's 'FP out of 7')",
     definition="[|P \\ R| > 0]", reference="sklearn confusion_matrix false positives > 0")
_add("false_positive_volume", F.false_positive_volume, higher=False, bounds=_DIST, worst=INF, params=dict(_SP),
     empty="empty prediction -> 0.0", description="volume predicted outside the reference (mm^3)",
     definition="|P \\ R| x voxel volume", reference="sklearn confusion_matrix false positives x voxel volume")

# -- lesion-wise (one binary region of a 3D volume) -----------------------------------------------------------------
_LW = {"spacing": None, "dilation": 3, "volume_threshold": 50.0}
_add("lesion_dice", F.lesion_dice, higher=True, bounds=_UNIT, worst=0.0, params=dict(_LW),
     empty="no counted lesion and no false positive -> 1.0",
     description="BraTS 2023 lesion-wise Dice of one region (FP and FN lesions score 0)",
     definition="Σ lesion Dice / (n_lesions + n_FP); lesions by 26-connected components of the dilated reference",
     reference="transcription of the BraTS-2023-Metrics rules with surface-distance (tests)")
_add("lesion_hd95", F.lesion_hd95, higher=False, bounds=(0.0, F.BRATS_2023_WORST_HD95), worst=F.BRATS_2023_WORST_HD95,
     params={**_LW, "worst": F.BRATS_2023_WORST_HD95}, empty="no counted lesion and no false positive -> 0.0",
     description="BraTS 2023 lesion-wise HD95 of one region (FP and FN lesions score 374 mm)",
     definition="(Σ lesion hd95_surfel + 374 n_FP) / (n_lesions + n_FP)",
     reference="transcription of the BraTS-2023-Metrics rules with surface-distance (tests)")

# -- image quality ---------------------------------------------------------------------------------------------------
_IMG_EMPTY = "zero-size images raise"
_add("mae", F.mae, higher=False, bounds=(0.0, INF), worst=INF, empty=_IMG_EMPTY, description="mean absolute error",
     definition="mean |P − R|", reference="sklearn mean_absolute_error")
_add("mse", F.mse, higher=False, bounds=(0.0, INF), worst=INF, empty=_IMG_EMPTY, description="mean squared error",
     definition="mean (P − R)²", reference="skimage mean_squared_error")
_add("rmse", F.rmse, higher=False, bounds=(0.0, INF), worst=INF, empty=_IMG_EMPTY,
     description="root mean squared error", definition="sqrt(mean (P − R)²)",
     reference="sklearn root_mean_squared_error")
_add("psnr", F.psnr, higher=True, bounds=(-INF, INF), worst=-INF, params={"data_range": None},
     empty="identical images -> inf; data_range is required", description="peak signal-to-noise ratio (dB)",
     definition="10 log10(data_range² / MSE)", reference="skimage peak_signal_noise_ratio")
_add("ssim", F.ssim, higher=True, bounds=(-1.0, 1.0), worst=-1.0, params={"data_range": None},
     empty="images smaller than the 7-px window raise; data_range is required",
     description="mean structural similarity, scikit-image defaults (7-px uniform window, K1 .01, K2 .03)",
     definition="mean over the border-cropped map of (2μxμy+C1)(2σxy+C2)/((μx²+μy²+C1)(σx²+σy²+C2))",
     reference="skimage structural_similarity")
_add("vif", F.vif, higher=True, bounds=(0.0, INF), worst=0.0, params={"data_range": None, "sigma_n_sq": 2.0},
     empty="images below 41 x 41 raise; flat reference -> NaN; data_range is required",
     description="pixel-domain visual information fidelity (VIFp, 4 scales, sigma_n^2 = 2 on an 8-bit scale)",
     definition="Σ log10(1 + g²σ_R²/(σ_v²+σ_n²)) / Σ log10(1 + σ_R²/σ_n²) over 4 Gaussian scales",
     reference="torchmetrics visual_information_fidelity")
_add("lpips", F.lpips, higher=False, bounds=(0.0, INF), worst=INF, params={"data_range": None, "net": "alex"},
     empty="identical images -> 0.0; backbone weights must be in the torch cache",
     description="learned perceptual similarity (LPIPS v0.1, AlexNet), via the lpips package",
     definition="weighted distance between normalised deep features", reference="lpips.LPIPS")

# -- classification (dataset level) --------------------------------------------------------------------------------
_CLS = "zero samples raise"
_add("accuracy", F.accuracy, level="dataset", higher=True, bounds=_UNIT, worst=0.0, empty=_CLS,
     inputs="labels or (n, C) scores, labels", description="fraction of correct labels (argmax of scores)",
     definition="mean(pred == target)", reference="sklearn accuracy_score")
_add("balanced_accuracy", F.balanced_accuracy, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
     empty="classes absent from the target are left out", inputs="labels or (n, C) scores, labels",
     description="mean per-class recall", definition="mean over true classes of TP_c / n_c",
     reference="sklearn balanced_accuracy_score")
_add("top5_accuracy", F.top_k_accuracy, level="dataset", higher=True, bounds=_UNIT, worst=0.0, empty=_CLS,
     params={"k": 5, "average": "micro"}, inputs="(n, C) scores, labels",
     description="fraction of samples whose class is in the 5 highest scores (over images)",
     definition="mean over samples of [y in top-k]", reference="sklearn top_k_accuracy_score")
_add("top5_accuracy_classes", F.top_k_accuracy, level="dataset", higher=True, bounds=_UNIT, worst=0.0, empty=_CLS,
     params={"k": 5, "average": "macro"}, inputs="(n, C) scores, labels",
     description="top-5 accuracy averaged over classes", definition="mean over classes of per-class top-k accuracy",
     reference="sklearn top_k_accuracy_score per class")
for _avg in ("macro", "weighted", "micro"):
    for _name, _fn, _sk in (("precision", F.precision_score, "precision_score"),
                             ("recall", F.recall_score, "recall_score"), ("f1", F.f1_score, "f1_score")):
        _add(f"{_name}_{_avg}", _fn, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
             empty="undefined per-class ratios count 0 (zero_division=0)", params={"average": _avg},
             inputs="labels or (n, C) scores, labels", description=f"{_avg}-averaged {_name} over classes",
             definition=f"{_name} per class, {_avg} average", reference=f"sklearn {_sk}(average='{_avg}')")
for _name, _fn, _sk in (("precision", F.precision_score, "precision_score"),  # positive class 1 of binary tasks
                         ("recall", F.recall_score, "recall_score"), ("f1", F.f1_score, "f1_score")):
    _add(f"{_name}_binary", _fn, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
         empty="undefined ratio counts 0 (zero_division=0)", params={"average": "binary"},
         inputs="labels or (n, 2) scores, 0/1 labels", description=f"{_name} of the positive class (label 1)",
         definition=f"{_name} of class 1", reference=f"sklearn {_sk}(average='binary')")
_add("specificity_binary", F.binary_specificity, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
     empty="no negatives -> 0", inputs="labels or (n, 2) scores, 0/1 labels",
     description="specificity of a binary classifier (recall of label 0)", definition="TN / (TN + FP)",
     reference="sklearn recall_score(pos_label=0)")
for _avg in ("macro", "weighted"):
    _add(f"roc_auc_{_avg}", F.roc_auc, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
         empty="classes absent from the target are left out; none left -> nan", params={"average": _avg},
         inputs="(n,) or (n, C) scores, labels", description=f"one-vs-rest ROC AUC, {_avg} over classes",
         definition="Mann-Whitney U / (n_pos n_neg) per class", reference=f"sklearn roc_auc_score(ovr, {_avg})")
register_metric(MetricSpec(
    id="map_macro", fn=F.mean_average_precision, level="dataset", higher_is_better=True, bounds=(0.0, 1.0),
    worst=0.0, empty_policy="labels without positives are left out of the mean and counted; none -> nan",
    description="macro mean average precision over labels (multi-label classification)",
    definition="mean over labels of Σ (R_n − R_{n−1}) P_n", reference="sklearn average_precision_score(macro)",
    inputs="(n, L) scores, (n, L) binary targets"))
for _w in (None, "linear", "quadratic"):
    _add("kappa" if _w is None else f"kappa_{_w}", F.cohen_kappa, level="dataset", higher=True, bounds=(-1.0, 1.0),
         worst=-1.0, empty="agreement on a single class -> nan", params={"weights": _w},
         inputs="labels or (n, C) scores, labels",
         description="Cohen's kappa" + ("" if _w is None else f", {_w} weights"),
         definition="1 − Σ w O / Σ w E", reference=f"sklearn cohen_kappa_score(weights={_w!r})")

# -- two-class separation by a per-sample score (label 1 vs label 0) ----------------------------------------------
_SEP = "a class without samples -> nan"
_add("mannwhitney_u", F.mann_whitney_u, level="dataset", higher=True, bounds=(0.0, INF), worst=0.0, empty=_SEP,
     inputs="(n,) scores, 0/1 labels", description="Mann-Whitney U of the class-1 scores against the class-0 scores",
     definition="R_1 - n_1 (n_1 + 1) / 2 (ties 1/2); U / (n_1 n_0) = ROC AUC",
     reference="scipy.stats.mannwhitneyu statistic")
_add("mannwhitney_p", F.mann_whitney_p, level="dataset", higher=False, bounds=(0.0, 1.0), worst=1.0, empty=_SEP,
     inputs="(n,) scores, 0/1 labels", description="two-sided Mann-Whitney U test p-value between the classes",
     definition="exact or normal approximation (tie + continuity corrected)",
     reference="scipy.stats.mannwhitneyu(method='auto') p-value")
_add("iqr_overlap", F.iqr_overlap, level="dataset", higher=False, bounds=(0.0, 1.0), worst=1.0, empty=_SEP,
     inputs="(n,) scores, 0/1 labels", description="1 when the two classes' interquartile boxes overlap, else 0",
     definition="[Q1, Q3] of class 1 intersects [Q1, Q3] of class 0", reference="numpy.percentile (linear)")

# -- class separability of sample vectors (paper 12's normalised task-graph distances) ------------------------------
_SEPARABILITY_EMPTY = "one class -> between nan; singleton classes add no within pair"
_add("max_within_class_distance", F.max_within_class_distance, level="dataset", higher=False, bounds=(0.0, 2.0),
     worst=2.0, empty=_SEPARABILITY_EMPTY, inputs="(n, d) vectors, labels",
     description="largest Euclidean distance between two L2-normalised vectors of the same class",
     definition="max over same-class pairs of ||u_i - u_j||, u = x / ||x||", reference="scipy.spatial.distance.cdist")
_add("min_between_class_distance", F.min_between_class_distance, level="dataset", higher=True, bounds=(0.0, 2.0),
     worst=0.0, empty=_SEPARABILITY_EMPTY, inputs="(n, d) vectors, labels",
     description="smallest Euclidean distance between L2-normalised vectors of different classes",
     definition="min over cross-class pairs of ||u_i - u_j||, u = x / ||x||", reference="scipy.spatial.distance.cdist")
_add("class_separation_margin", F.class_separation_margin, level="dataset", higher=True, bounds=(-2.0, 2.0),
     worst=-2.0, empty=_SEPARABILITY_EMPTY, inputs="(n, d) vectors, labels",
     description="min between-class minus max within-class distance (> 0: classes separable by a threshold)",
     definition="min_between_class_distance - max_within_class_distance", reference="scipy.spatial.distance.cdist")

# -- retrieval -----------------------------------------------------------------------------------------------------
_add("retrieval_map", F.retrieval_map, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
     empty="queries without relevant items are left out; none -> nan",
     inputs="(n_q, n_g) similarity, query labels, gallery labels", description="mean average precision of retrieval",
     definition="mean over queries of AP with relevance = same label", reference="sklearn average_precision_score")
_add("retrieval_top1", F.retrieval_top_k, level="dataset", higher=True, bounds=_UNIT, worst=0.0, params={"k": 1},
     empty="a query whose class is absent from the gallery scores 0",
     inputs="(n_q, n_g) similarity, query labels, gallery labels",
     description="fraction of queries whose most similar item shares the label (recall@1)",
     definition="mean over queries of [relevant item in top k]", reference="numpy argsort (tests)")
_add("retrieval_top10", F.retrieval_top_k, level="dataset", higher=True, bounds=_UNIT, worst=0.0, params={"k": 10},
     empty="a query whose class is absent from the gallery scores 0",
     inputs="(n_q, n_g) similarity, query labels, gallery labels",
     description="fraction of queries with an item of their label among the 10 most similar gallery images",
     definition="mean over queries of [relevant item in top 10 images]",
     reference="sklearn NearestNeighbors (tests)")
for _k in (1, 10):
    for _avg, _over in (("micro", "query images"), ("macro", "query classes (syndromes)")):
        _add(f"retrieval_class_top{_k}" + ("_macro" if _avg == "macro" else ""), F.retrieval_class_top_k,
             level="dataset", higher=True, bounds=_UNIT, worst=0.0, params={"k": _k, "average": _avg},
             empty="a query whose class is absent from the gallery scores 0",
             inputs="(n_q, n_g) similarity, query labels, gallery labels",
             description=f"top-{_k} over distinct gallery classes (ranked by their best item), mean over {_over}",
             definition="mean of [query class among the k first distinct classes of the ranked gallery]",
             reference="GestaltMatcher's ranking (unique classes in ranked order), re-implemented in the tests")

# -- detection -----------------------------------------------------------------------------------------------------
_DET_IN = "per-image prediction dicts, per-image reference dicts"
for _key, _fn in (("AP", F.coco_ap), ("AP50", F.coco_ap50), ("AP75", F.coco_ap75)):
    _add(f"coco_{_key.lower()}", _fn, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
         empty="no reference objects -> nan (COCO's -1)", inputs=_DET_IN,
         description=f"COCO box {_key}, mean over classes", reference="pycocotools COCOeval",
         definition="101-point interpolated precision, mean over classes"
                    + (" and IoU .50:.95" if _key == "AP" else f" at IoU .{_key[2:]}"))
_add("point_f1", F.point_f1, level="dataset", higher=True, bounds=_UNIT, worst=0.0, params={"radius": None},
     empty="no points anywhere -> both_empty (1.0)", inputs=_DET_IN,
     description="point-detection F1 with optimal matching within a radius (MIDOG: 30 px)",
     definition="2TP / (2TP + FP + FN), TP = maximum one-to-one matches within radius",
     reference="scipy maximum_bipartite_matching (tests)")
_add("froc", F.froc_score, level="dataset", higher=True, bounds=_UNIT, worst=0.0,
     params={"radius": None, "rates": F.FROC_RATES}, empty="no reference lesion -> nan", inputs=_DET_IN,
     description="mean sensitivity at 1/8 .. 8 false positives per image",
     definition="mean over FP rates f of max sensitivity with FP/image ≤ f", reference="brute-force sweep (tests)")

# -- registration (case level, displacement in voxels) ------------------------------------------------------------
_add("registration_dice", F.registration_dice, higher=True, bounds=_UNIT, worst=0.0, params={"labels": None},
     empty="no label -> nan; a label absent from both maps scores 1.0",
     inputs="moving labels, fixed labels, displacement (ndim, *spatial)",
     description="mean Dice over labels after warping the moving labels (nearest neighbour)",
     definition="mean over labels of Dice(moving ∘ (x + u), fixed)", reference="np.roll for integer shifts (tests)")
_add("registration_hd95", F.registration_hd95, higher=False, bounds=_DIST, worst=INF,
     params={"labels": None, "spacing": None}, empty="no label -> nan; a label in one map only -> inf",
     inputs="moving labels, fixed labels, displacement (ndim, *spatial)",
     description="mean HD95 over labels after warping the moving labels",
     definition="mean over labels of hd95(moving ∘ (x + u), fixed)", reference="hd95 of rolled masks (tests)")
_add("folding_fraction", F.folding_fraction, higher=False, bounds=_UNIT, worst=1.0, params={"mask": None},
     empty="empty mask -> nan", inputs="displacement (ndim, *spatial)",
     description="fraction of voxels with non-positive Jacobian determinant",
     definition="mean(det(I + ∇u) ≤ 0)", reference="analytic fields (tests)")
_add("log_jacobian_std", F.log_jacobian_std, higher=False, bounds=(0.0, INF), worst=INF, params={"mask": None},
     empty="empty mask -> nan", inputs="displacement (ndim, *spatial)",
     description="std of the log Jacobian determinant (SDlogJ)",
     definition="std(log(clip(det(I + ∇u), 1e-9, 1e9)))", reference="analytic fields (tests)")
_add("mutual_information", F.mutual_information, higher=True, bounds=(0.0, INF), worst=0.0, params={"bins": 32},
     empty="empty image -> nan; a constant image -> 0.0", inputs="image a, image b (same shape)",
     description="mutual information in bits between two images (paper 13: original vs registered target)",
     definition="Σ p(i,j) log2(p(i,j) / p(i)p(j)) over a joint histogram of `bins` equal-width bins per image",
     reference="sklearn mutual_info_score on the same bins / ln 2 (tests)")
_add("distance_transform_ssd", F.distance_transform_ssd, higher=False, bounds=(0.0, INF), worst=INF,
     empty="both empty -> 0.0; empty image -> nan",
     description="paper 13's UDT-SSD: squared difference of distance maps, the warped mask's map recomputed",
     definition="mean((EDT(reference) - EDT(warped mask))²), EDT = distance to the background inside the object",
     reference="brute-force nearest-background distances (tests)")

# -- efficiency (model level) -------------------------------------------------------------------------------------
_add("n_parameters", F.count_parameters, level="model", higher=False, bounds=(0.0, INF), worst=INF,
     empty="no parameters -> 0", inputs="torch model", description="number of parameters",
     definition="Σ numel over unique parameters", reference="sum of numel (tests)")
_add("flops", F.flops, level="model", higher=False, bounds=(0.0, INF), worst=INF, empty="no counted ops -> 0",
     inputs="torch model, input tensor(s) at the real size",
     description="FLOPs of one forward pass (multiply-add = 2)", definition="torch.utils.flop_counter total",
     reference="analytic Linear / Conv counts (tests)")
_add("latency", F.latency, level="model", higher=False, bounds=(0.0, INF), worst=INF, params={"warmup": 10,
     "repeats": 50}, empty="repeats >= 1", inputs="zero-argument callable",
     description="median seconds per call after warm-up", definition="median of repeats timings after warmup calls",
     reference="injected clock (tests)")
