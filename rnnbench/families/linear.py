"""The linear family: a linear SVM or logistic regression on TF-IDF n-grams of the token ids (scikit-learn),
the first baseline of text classification, fitted once."""

from __future__ import annotations

import numpy as np

from rnnbench.models import Spec

CLASSIFIERS = ("svm", "logreg")


def build(spec: Spec, *, num_classes: int, seed: int):
    """A scikit-learn pipeline from token texts (``rnnbench.fitting.token_texts``) to classes: n-grams of
    1 to ``ngrams`` token ids, weighted by ``weighting`` (TF-IDF, binary or counts; ``sublinear_tf``),
    those in fewer than ``min_df`` training documents dropped, rows normalised by ``norm``; LinearSVC or
    LogisticRegression at ``C`` and ``class_weight``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    features = TfidfVectorizer(
        token_pattern=r"\d+", lowercase=False, ngram_range=(1, spec.ngrams), min_df=spec.min_df,
        use_idf=spec.weighting == "tfidf", binary=spec.weighting == "binary", sublinear_tf=spec.sublinear_tf,
        norm=None if spec.norm == "none" else spec.norm, dtype=np.float64,
    )
    class_weight = spec.class_weight or None
    if spec.classifier == "svm":
        classifier = LinearSVC(C=spec.C, class_weight=class_weight, random_state=seed)
    elif spec.classifier == "logreg":
        classifier = LogisticRegression(C=spec.C, class_weight=class_weight, max_iter=1000, random_state=seed)
    else:
        raise ValueError(f"unknown classifier {spec.classifier!r}; expected one of {', '.join(CLASSIFIERS)}")
    return Pipeline([("features", features), ("classifier", classifier)])
