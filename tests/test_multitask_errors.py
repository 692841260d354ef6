"""MultiTaskKerasEstimator: each bad input is a clear error naming the
estimator, the task, branch or column, what was expected and the fix."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from skfusion.multitask import MultiTaskKerasEstimator, task_scorer

pytestmark = pytest.mark.keras


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"])
    Y = pd.DataFrame({
        "rating": rng.uniform(1, 5, 20),
        "rec": np.tile([0, 1], 10),
        "dept": np.tile(["Tops", "Dresses", "Jackets", "Bottoms"], 5),
        "tag_x": np.tile([0, 1, 1, 0], 5),
        "tag_y": np.tile([1, 0, 0, 0], 5),
    })
    return X, Y


def fit(tasks, X, Y, **params):
    params = {"shared_layers": (4,), "epochs": 1, "compile__run_eagerly": True, **params}
    return MultiTaskKerasEstimator(tasks, **params).fit(X, Y)


def test_unknown_task_kind(data):
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: task 'rating' has unknown "
                       r"kind 'ordinal'; expected one of 'binary', 'multiclass', 'multilabel', "
                       r"'regression'"):
        fit({"rating": "ordinal"}, *data)


def test_malformed_task_spec(data):
    with pytest.raises(ValueError, match=r"task 'rating' must be a kind \(str\) or a tuple "
                       r"\(kind, columns\) or \(kind, columns, branch\), got \['regression'\]"):
        fit({"rating": ["regression"]}, *data)
    with pytest.raises(ValueError, match="tasks must be a non-empty dict"):
        fit({}, *data)


def test_Y_missing_a_task_column(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: Y has no column 'Rating' for "
                       r"task 'Rating' \(regression; Y has columns \['rating', .*\]\); add it to Y or "
                       r"name the task's column with tasks=\{'Rating': \('regression', <column>\)\}"):
        fit({"Rating": "regression"}, X, Y)
    with pytest.raises(ValueError, match=r"Y has no column 'tag_z' for task 'tags' \(multilabel"):
        fit({"tags": ("multilabel", ["tag_x", "tag_z"])}, X, Y)


def test_Y_must_be_a_dataframe(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"Y must be a pandas DataFrame with one column per task.*"
                       r"got ndarray.*Only a model with a single binary, multiclass or "
                       r"regression task takes a 1-D y"):
        fit({"rating": "regression", "rec": "binary"}, X, Y[["rating", "rec"]].to_numpy())
    with pytest.raises(ValueError, match=r"Y must be a pandas DataFrame .*got list"):
        fit({"tags": ("multilabel", ["tag_x", "tag_y"])}, X,
            Y[["tag_x", "tag_y"]].to_numpy().tolist())
    with pytest.raises(ValueError, match="X has 20 rows but Y has 19"):
        fit({"rating": "regression"}, X, Y.iloc[:19])
    with pytest.raises(ValueError, match="X has 20 rows but Y has 19"):
        fit({"rating": "regression"}, X, Y["rating"].to_numpy()[:19])


def test_single_task_y_of_several_columns(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: task 'rating' \(regression\) "
                       r"takes one column of targets, a 1-D y, but y has shape \(20, 2\); pass "
                       r"that task's column alone, or Y as a DataFrame with one column per task"):
        fit({"rating": "regression"}, X, Y[["rating", "rec"]].to_numpy())


def test_single_classification_task_y_not_labels(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: Unknown label type: continuous "
                       r"y for task 'rec' \(binary\), which needs class labels; give class "
                       r"labels, or declare the task 'regression'"):
        fit({"rec": "binary"}, X, Y["rating"])


def test_multilabel_columns_not_0_1(data):
    X, Y = data
    Y = Y.assign(tag_y=Y["tag_y"] * 2)
    with pytest.raises(ValueError, match=r"multilabel task 'tags' must be a 0/1 indicator matrix "
                       r"\(one column per label\), but column 'tag_y' holds \[2\]; binarize"):
        fit({"tags": ("multilabel", ["tag_x", "tag_y"])}, X, Y)


def test_multilabel_needs_a_list_of_columns(data):
    with pytest.raises(ValueError, match=r"multilabel task 'tags' needs its 0/1 label columns"):
        fit({"tags": "multilabel"}, *data)
    with pytest.raises(ValueError, match=r"multilabel task 'tags' names its label columns as a "
                       r"non-empty list, got 'tag_x'"):
        fit({"tags": ("multilabel", "tag_x")}, *data)
    with pytest.raises(ValueError, match=r"binary task 'rec' has one Y column, got \['rec', 'rating'\]"):
        fit({"rec": ("binary", ["rec", "rating"])}, *data)


def test_nan_in_a_regression_target(data):
    X, Y = data
    Y.loc[[3, 7], "rating"] = np.nan
    with pytest.raises(ValueError, match=r"task 'rating' \(regression\) has 2 NaN or infinite "
                       r"value\(s\) in column 'rating'; drop or impute those rows"):
        fit({"rating": "regression"}, X, Y)


def test_non_numeric_regression_target(data):
    with pytest.raises(ValueError, match=r"task 'dept' is a regression target but column 'dept' is "
                       r"not numeric.*declare it 'binary' or 'multiclass'"):
        fit({"dept": "regression"}, *data)


def test_missing_class_label(data):
    X, Y = data
    Y["dept"] = Y["dept"].astype(object)
    Y.loc[2, "dept"] = None
    with pytest.raises(ValueError, match=r"task 'dept' \(multiclass\) has 1 missing value\(s\) "
                       r"\(NaN/None\) in column 'dept'"):
        fit({"dept": "multiclass"}, X, Y)


def test_loss_weights_naming_an_unknown_task(data):
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: loss_weights names task\(s\) "
                       r"\['Rating'\] that are not in tasks \(\['rating', 'rec'\]\); use the task names"):
        fit({"rating": "regression", "rec": "binary"}, *data, loss_weights={"Rating": 1.0})


@pytest.mark.parametrize("weight", [-1.0, float("nan"), "high"])
def test_loss_weights_must_be_non_negative_numbers(data, weight):
    with pytest.raises(ValueError, match=r"loss_weights\['rec'\] must be a finite number >= 0"):
        fit({"rating": "regression", "rec": "binary"}, *data, loss_weights={"rec": weight})


def test_loss_weights_all_zero(data):
    with pytest.raises(ValueError, match="loss_weights are all zero"):
        fit({"rating": "regression"}, *data, loss_weights={"rating": 0})


def test_loss_weights_unknown_string(data):
    with pytest.raises(ValueError, match=r"The 'loss_weights' parameter of MultiTaskKerasEstimator "
                       r"must be .*Got 'learned' instead"):
        fit({"rating": "regression"}, *data, loss_weights="learned")


def test_task_with_a_single_class(data):
    X, Y = data
    Y["rec"] = 1
    with pytest.raises(ValueError, match=r"task 'rec' \(binary\), column 'rec', has only one class, "
                       r"\[1\]; a classifier needs at least two, so drop the task"):
        fit({"rec": "binary"}, X, Y)


def test_binary_task_with_more_classes(data):
    with pytest.raises(ValueError, match=r"task 'dept' is binary but column 'dept' has 4 classes "
                       r".*declare it 'multiclass'"):
        fit({"dept": "binary"}, *data)


def test_two_tasks_on_one_column(data):
    with pytest.raises(ValueError, match=r"tasks 'rec' and 'rec2' both read Y column 'rec'"):
        fit({"rec": "binary", "rec2": ("multiclass", "rec")}, *data)


def test_inputs_selecting_columns_not_in_X(data):
    X, Y = data
    inputs = [("num", StandardScaler(), ["a", "z"])]
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: branch 'num' selects "
                       r"column\(s\) \['z'\] that X does not have at fit time \(X has columns "
                       r"\['a', 'b', 'c'\]\); fix the branch's columns"):
        fit({"rating": "regression"}, X, Y, inputs=inputs)


def test_predict_without_a_branch_column(data):
    X, Y = data
    model = fit({"rating": "regression"}, X, Y, inputs=[("num", StandardScaler(), ["a", "b"])])
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: branch 'num' selects "
                       r"column\(s\) \['b'\] that X does not have at predict time .*pass the "
                       r"same columns as in fit"):
        model.predict(X.drop(columns="b"))


def test_inputs_by_name_on_an_array(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"branch 'num' selects columns by name \(\['a'\]\) "
                       r"but X is a ndarray without column names"):
        fit({"rating": "regression"}, X.to_numpy(), Y, inputs=[("num", "passthrough", ["a"])])


def test_malformed_inputs(data):
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: inputs must be a non-empty "
                       r"list of \(name, encoder, columns\) triples"):
        fit({"rating": "regression"}, *data, inputs=[("num", StandardScaler())])
    with pytest.raises(TypeError, match=r"MultiTaskKerasEstimator: branch 'num' must have a "
                       r"scikit-learn transformer \(fit and transform\) or 'passthrough' as its "
                       r"encoder, got 'scale'"):
        fit({"rating": "regression"}, *data, inputs=[("num", "scale", ["a"])])
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: inputs is empty"):
        fit({"rating": "regression"}, *data, inputs=[])


def test_the_dict_spelling_of_inputs_is_gone(data):
    with pytest.raises(TypeError, match=r"MultiTaskKerasEstimator: inputs is a dict; the "
                       r"\{branch: \(columns, encoder\)\} spelling was removed\. Write a list "
                       r"of \(name, encoder, columns\) triples.*\[\('num', 'passthrough', "
                       r"\['a'\]\)\]"):
        fit({"rating": "regression"}, *data, inputs={"num": (["a"], "passthrough")})


def test_head_on_an_unknown_branch(data):
    with pytest.raises(ValueError, match=r"task 'rating' puts its head on 'txt', which must be one "
                       r"of the inputs branches \['num'\]"):
        fit({"rating": ("regression", None, "txt")}, *data, inputs=[("num", "passthrough", ["a"])])
    with pytest.raises(ValueError, match="which must be an inputs branch, but inputs is None"):
        fit({"rating": ("regression", None, "txt")}, *data)


def test_branch_features_with_nan(data):
    X, Y = data
    X.loc[0, "a"] = np.nan
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: branch 'num' has NaN or "
                       r"infinite values in 1 row\(s\) at fit time; impute them"):
        fit({"rating": "regression"}, X, Y, inputs=[("num", "passthrough", ["a"])])


def test_bad_layer_widths(data):
    with pytest.raises(ValueError, match=r"shared_layers must be a tuple of layer widths \(ints >= 1\), "
                       r"got \(8, 0\)"):
        fit({"rating": "regression"}, *data, shared_layers=(8, 0))


def test_task_scorer_errors(data):
    X, Y = data
    with pytest.raises(ValueError, match="'r3' is not a valid scoring value"):
        task_scorer("rating", "r3")
    model = fit({"rating": "regression"}, X, Y)
    with pytest.raises(ValueError, match=r"unknown task 'Rating'; the tasks are \['rating'\]"):
        task_scorer("Rating")(model, X, Y)


def test_mistyped_routed_parameter(data):
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: optimizer__beta1 is not a parameter "
                       r"of the optimizer Adam; did you mean optimizer__beta_1\?"):
        fit({"rating": "regression"}, *data, optimizer__beta1=0.8)


def test_a_failed_refit_leaves_the_estimator_unfitted(data):
    from sklearn.exceptions import NotFittedError

    X, Y = data
    model = fit({"rating": "regression"}, X, Y)
    with pytest.raises(ValueError, match="Y has no column 'score'"):
        model.set_params(tasks={"score": "regression"}).fit(X, Y)
    assert not hasattr(model, "model_") and not hasattr(model, "tasks_")
    with pytest.raises(NotFittedError):
        model.predict(X)
