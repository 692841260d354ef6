"""Late fusion of review text and product columns, tuned without refitting.

A text member (TF-IDF + logistic regression on the review) and a tabular
member (gradient boosting on the star rating and product columns) vote on
whether a reviewer recommends the item. The script

1. learns the member weights from out-of-fold predictions (``weights="auto"``),
2. grid-searches weights and combiner with ``memory=``, so each member is
   fitted once per fold whatever the number of candidates,
3. predicts the reviews that have no text from the tabular member alone.

Run: ``python examples/late_fusion_reviews.py`` (about a minute on 2 cores).
"""

import tempfile
import time

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split

from skfusion import LateFusionClassifier
from skfusion.datasets import load_clothing_reviews
from skfusion.datasets.clothing_reviews import CATEGORICAL, NUMERIC, TEXT, tabular_model, text_model

X, y = load_clothing_reviews(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=8000, test_size=4000, stratify=y, random_state=0)
tabular = CATEGORICAL + NUMERIC + ["Rating"]

with tempfile.TemporaryDirectory() as cache:
    fusion = LateFusionClassifier(
        [("text", text_model(), TEXT), ("tab", tabular_model(NUMERIC + ["Rating"]), tabular)],
        weights="auto",
        missing="renormalize",
        memory=cache,
    ).fit(X_train, y_train)
    print("learned weights (text, tab):", np.round(fusion.weights_, 3).tolist())

    proba = fusion.predict_proba(X_test)[:, 1]
    print(f"held-out log loss {log_loss(y_test, proba):.4f}, ROC AUC {roc_auc_score(y_test, proba):.4f}")
    for name, member in fusion.named_estimators_.items():
        cols = TEXT if name == "text" else tabular
        seen = X_test[TEXT].notna() if name == "text" else np.ones(len(X_test), bool)
        p = member.predict_proba(X_test.loc[seen, cols])[:, 1]
        print(f"  member {name:<5} alone (rows it can see): ROC AUC {roc_auc_score(y_test[seen], p):.4f}")

    grid = {
        "weights": [[round(w, 1), round(1 - w, 1)] for w in np.linspace(0.1, 0.9, 9)],
        "combiner": ["mean", "geometric"],
    }
    start = time.perf_counter()
    search = GridSearchCV(fusion, grid, cv=3, scoring="neg_log_loss").fit(X_train, y_train)
    print(f"\ngrid search over {len(search.cv_results_['params'])} candidates x 3 folds "
          f"in {time.perf_counter() - start:.1f} s; best {search.best_params_}, "
          f"log loss {-search.best_score_:.4f}")

    no_text = X_test[TEXT].isna().to_numpy()
    p = search.predict_proba(X_test[no_text])[:, 1]
    print(f"\n{no_text.sum()} held-out reviews without text: probabilities in "
          f"[{p.min():.3f}, {p.max():.3f}], ROC AUC {roc_auc_score(y_test[no_text], p):.4f}")
