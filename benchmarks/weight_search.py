"""Grid search over late-fusion weights: skfusion with ``memory`` against
scikit-learn's ``VotingClassifier`` over the same members.

20 weight vectors x 5 folds on 4,000 bundled reviews. Both searches see the
same members (a TF-IDF + logistic-regression text member, a gradient-boosting
tabular member); VotingClassifier gets them as column-selecting pipelines.
``VotingClassifier`` refits both members for every candidate and fold (100)
plus the final refit: 101 fits of each member. LateFusionClassifier with
``memory`` fits each member once per fold plus the refit (6) and reads every
prediction it scores from the cache, so the speed-up is bounded by about
101 / 6 = 17x.

Run: ``python benchmarks/weight_search.py`` (prints a table and the machine).
"""

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import sklearn
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from skfusion import LateFusionClassifier
from skfusion.datasets import load_clothing_reviews

TEXT = "Review Text"
CATEGORICAL = ["Division Name", "Department Name", "Class Name"]
NUMERIC = ["Age", "Positive Feedback Count"]
TABULAR = CATEGORICAL + NUMERIC


def text_model():
    return make_pipeline(
        TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=1000),
    )


def tabular_model():
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )
    return make_pipeline(
        make_column_transformer((encoder, CATEGORICAL), ("passthrough", NUMERIC)),
        HistGradientBoostingClassifier(
            categorical_features=[0, 1, 2], max_iter=100, random_state=0
        ),
    )


def select(columns):
    """A column-selecting first step, so VotingClassifier members see what ours see."""
    return make_column_transformer(
        ("passthrough", columns), verbose_feature_names_out=False
    ).set_output(transform="pandas")


def select_text():
    """TF-IDF of the text column inside a ColumnTransformer (a string column
    spec hands the vectorizer a 1-D column, as our text member gets)."""
    return make_column_transformer((text_model().steps[0][1], TEXT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=4000)
    parser.add_argument("--n-weights", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    X, y = load_clothing_reviews(return_X_y=True)
    has_text = X[TEXT].notna()
    X, y = X[has_text].iloc[: args.n_samples], y[has_text].iloc[: args.n_samples]
    grid = {"weights": [[w, 1 - w] for w in np.linspace(0.05, 0.95, args.n_weights)]}
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=0)

    voting = VotingClassifier(
        [
            ("text", make_pipeline(select_text(), *[step for _, step in text_model().steps[1:]])),
            ("tab", make_pipeline(select(TABULAR), tabular_model())),
        ],
        voting="soft",
    )

    results = {}
    with tempfile.TemporaryDirectory() as cache:
        searches = {
            "sklearn VotingClassifier": voting,
            "skfusion LateFusionClassifier(memory=)": LateFusionClassifier(
                [("text", text_model(), TEXT), ("tab", tabular_model(), TABULAR)],
                memory=cache,
            ),
        }
        for name, estimator in searches.items():
            search = GridSearchCV(estimator, grid, cv=cv, scoring="neg_log_loss")
            start = time.perf_counter()
            search.fit(X, y)
            results[name] = (time.perf_counter() - start, search)

    (t_sk, sk), (t_sf, sf) = results.values()
    diff = np.abs(sk.cv_results_["mean_test_score"] - sf.cv_results_["mean_test_score"]).max()
    n_candidates = len(grid["weights"])
    limit = (n_candidates * args.folds + 1) / (args.folds + 1)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}")
    print(f"data: {len(X)} reviews with text; {n_candidates} weight vectors x "
          f"{args.folds} folds, scoring=neg_log_loss\n")
    print(f"{'search':<42}{'wall s':>9}{'best weights':>16}{'best score':>13}")
    for name, (seconds, search) in results.items():
        best = np.round(search.best_params_["weights"], 3).tolist()
        print(f"{name:<42}{seconds:>9.2f}{str(best):>16}{search.best_score_:>13.6f}")
    print(f"\nmax |CV score difference| over all candidates: {diff:.2e}")
    print(f"same best weights: {sk.best_params_ == sf.best_params_}")
    print(f"speed-up: {t_sk / t_sf:.1f}x (limit ~{limit:.1f}x: "
          f"{n_candidates * args.folds + 1} member fits against {args.folds + 1})")


if __name__ == "__main__":
    main()
