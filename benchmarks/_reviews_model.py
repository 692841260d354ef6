"""The late-fusion model the distributed benchmarks score: TF-IDF and
logistic regression on the review, gradient boosting on five tabular
columns, rows without text predicted from the tabular member."""

TEXT = "Review Text"
TABULAR = ["Age", "Positive Feedback Count", "Division Name", "Department Name", "Class Name"]


def fusion_model(X, y):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from skfusion import LateFusionClassifier

    tabular = make_pipeline(
        make_column_transformer(
            (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                            encoded_missing_value=-1), TABULAR[2:]),
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(random_state=0),
    )
    fusion = LateFusionClassifier(
        [("text", make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=1000)), TEXT),
         ("tabular", tabular, TABULAR)],
        missing="renormalize",
    )
    return fusion.fit(X, y)
