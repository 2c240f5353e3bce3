"""ToFi-ML (Ahmed & Coskunuzer, paper 21): topological features of fundus images, then XGBoost / RF / kNN.

:class:`TopologicalFeatureClassifier` implements :class:`~mbench.models.capabilities.FeatureModel`: ``extract``
computes the Betti-curve vector of one image (:func:`~mbench.models.baselines.topology.tofi_features`); ``fit``
builds an imbalanced-learn pipeline ``[SMOTE] -> [SelectFromModel] -> classifier`` on the training rows only.
imbalanced-learn pipelines apply their samplers in ``fit`` alone, so validation and test rows never pass through
SMOTE; feature selection is fitted on the (resampled) training rows as well.

Example:
    >>> import numpy as np
    >>> model = TopologicalFeatureClassifier(classifier="knn", n_thresholds=4)
    >>> x = np.r_[np.zeros((6, 3)), np.ones((6, 3))]; y = np.r_[np.zeros(6), np.ones(6)].astype(int)
    >>> _ = model.fit(x, y, n_classes=2, seed=0, rebalance="none")
    >>> model.predict(np.array([[1.0, 1.0, 1.0]])).round(2).tolist()
    [[0.0, 1.0]]
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from mbench.errors import MbenchError
from mbench.models.baselines.topology import COLOUR_FUNCTIONS, tofi_features

__all__ = ["TopologicalFeatureClassifier", "CLASSIFIERS", "REBALANCE"]

CLASSIFIERS = ("xgboost", "random_forest", "knn")
REBALANCE = ("none", "smote")


class TopologicalFeatureClassifier:
    """Betti-curve features -> (SMOTE on training rows) -> (SelectFromModel) -> XGBoost / random forest / kNN.

    Args:
        classifier: ``xgboost`` (default parameters, as the paper), ``random_forest`` or ``knn``.
        channels, homology_dims, n_thresholds: the feature vector (paper: 4 colour functions x {0, 1} x 100).
        image_size: resize images to (size, size) before the persistence computation (None: native, as the paper;
            the cost grows super-linearly with the pixel count).
        feature_selection: scikit-learn ``SelectFromModel`` on an estimator of the same kind (paper: on for APTOS
            and iChallenge-AMD), fitted on training rows only.
        knn_neighbors: k of the kNN classifier (the paper does not state it; scikit-learn's default 5).
        smote_neighbors: k of SMOTE (imbalanced-learn's default 5; capped by the minority count).
        classifier_params: extra keyword arguments of the classifier.
    """

    def __init__(self, classifier: str = "xgboost", channels: list[str] | tuple[str, ...] = COLOUR_FUNCTIONS,
                 homology_dims: list[int] | tuple[int, ...] = (0, 1), n_thresholds: int = 100,
                 image_size: int | None = None, feature_selection: bool = False, knn_neighbors: int = 5,
                 smote_neighbors: int = 5, classifier_params: dict[str, Any] | None = None, n_jobs: int = 1) -> None:
        if classifier not in CLASSIFIERS:
            raise MbenchError(f"unknown classifier {classifier!r}", expected=", ".join(CLASSIFIERS), found=classifier)
        unknown = [c for c in channels if c not in COLOUR_FUNCTIONS]
        if unknown or not channels:
            raise MbenchError("unknown colour functions", expected=", ".join(COLOUR_FUNCTIONS), found=str(unknown))
        self.classifier, self.channels = classifier, tuple(channels)
        self.homology_dims, self.n_thresholds = tuple(int(d) for d in homology_dims), int(n_thresholds)
        self.image_size, self.feature_selection = image_size, bool(feature_selection)
        self.knn_neighbors, self.smote_neighbors = int(knn_neighbors), int(smote_neighbors)
        self.classifier_params, self.n_jobs = dict(classifier_params or {}), int(n_jobs)
        self.pipeline: Any = None
        self.classes_: np.ndarray | None = None
        self.n_classes = 0

    # -- features ------------------------------------------------------------------------------------------------
    def feature_key(self) -> str:
        """The extractor and its settings (the classifier is not part of it: features are shared)."""
        return json.dumps({"extractor": "betti_curves_sublevel_cubical", "channels": self.channels,
                           "dims": self.homology_dims, "n_thresholds": self.n_thresholds,
                           "image_size": self.image_size, "range": [0, 255]}, sort_keys=True)

    def extract(self, image: np.ndarray) -> np.ndarray:
        """Betti curves of one RGB image with values in [0, 255]."""
        img = np.asarray(image, dtype=np.float32)
        if self.image_size is not None and img.shape[:2] != (self.image_size, self.image_size):
            from mbench.data.slices import resize_image

            img = resize_image(img, (self.image_size, self.image_size))
        return tofi_features(img, channels=self.channels, dims=self.homology_dims,
                             n_thresholds=self.n_thresholds).astype(np.float32)

    # -- classifier ----------------------------------------------------------------------------------------------
    def _estimator(self, seed: int) -> Any:
        if self.classifier == "xgboost":
            from xgboost import XGBClassifier

            return XGBClassifier(random_state=seed, n_jobs=self.n_jobs, **self.classifier_params)
        if self.classifier == "random_forest":
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(random_state=seed, n_jobs=self.n_jobs, **self.classifier_params)
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=self.knn_neighbors, **self.classifier_params)

    def fit(self, features: np.ndarray, targets: np.ndarray, *, n_classes: int, seed: int,
            rebalance: str = "none") -> dict:
        """Fit the pipeline on training rows; returns a log (feature counts, resampled size)."""
        from imblearn.pipeline import Pipeline

        if rebalance not in REBALANCE:
            raise MbenchError(f"unknown rebalance {rebalance!r}", expected=", ".join(REBALANCE), found=rebalance)
        x, y = np.asarray(features, dtype=np.float32), np.asarray(targets).astype(np.int64).ravel()
        if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
            raise MbenchError("feature model fit needs (N, D) features and N targets", found=f"{x.shape}, {y.shape}")
        self.classes_ = np.unique(y)  # classes seen in training, re-indexed 0..K-1 for XGBoost
        self.n_classes = int(n_classes)
        y_local = np.searchsorted(self.classes_, y)
        steps: list[tuple[str, Any]] = []
        counts = np.bincount(y_local)
        if rebalance == "smote" and len(self.classes_) > 1:
            from imblearn.over_sampling import SMOTE

            k = min(self.smote_neighbors, int(counts.min()) - 1)
            if k < 1:
                raise MbenchError("SMOTE needs at least two training samples of every class",
                                  found=f"class counts {counts.tolist()}", fix="use more data or rebalance=none")
            steps.append(("smote", SMOTE(k_neighbors=k, random_state=seed)))
        if self.feature_selection:
            from sklearn.feature_selection import SelectFromModel

            steps.append(("select", SelectFromModel(self._estimator(seed))))
        steps.append(("classifier", self._estimator(seed)))
        self.pipeline = Pipeline(steps)
        if len(self.classes_) == 1:  # a single training class: predict it with certainty
            self.pipeline = None
        else:
            self.pipeline.fit(x, y_local)
        n_selected = int(self.pipeline.named_steps["select"].get_support().sum()) if (
            self.pipeline is not None and self.feature_selection) else x.shape[1]
        return {"n_features": int(x.shape[1]), "n_selected": n_selected, "n_train": int(len(y)),
                "train_class_counts": np.bincount(y, minlength=self.n_classes).tolist(), "rebalance": rebalance,
                "n_parameters": None}

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(N, n_classes) class probabilities (classes unseen in training get probability 0)."""
        if self.classes_ is None:
            raise MbenchError("predict before fit", fix="call fit first")
        x = np.asarray(features, dtype=np.float32)
        out = np.zeros((len(x), self.n_classes), dtype=np.float64)
        if self.pipeline is None:
            out[:, self.classes_[0]] = 1.0
            return out
        out[:, self.classes_] = self.pipeline.predict_proba(x)
        return out
