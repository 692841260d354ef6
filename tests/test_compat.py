"""The private Keras, TensorFlow and torch internals of
``skfusion/keras/_compat.py`` still behave as skfusion relies on: each test
fails with a message naming the internal, the installed version and the
version it was checked against. CI runs them on TensorFlow and again on
torch (``-m keras``)."""

import inspect
import threading

import numpy as np
import pytest

from skfusion.keras import _compat

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.keras


def changed(internal, package, version):
    return (f"{internal} changed in {package} {version} (skfusion checked it against "
            f"{package} {_compat.CHECKED[package]}); update skfusion/keras/_compat.py")


def test_optimizer_update_step_splits_by_learning_rate():
    internal = "Optimizer._backend_update_step(grads, trainable_variables, learning_rate)"
    message = changed(internal, "keras", keras.version())
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    step = getattr(type(optimizer), "_backend_update_step", None)
    assert step is not None, message
    assert list(inspect.signature(step).parameters) == [
        "self", "grads", "trainable_variables", "learning_rate"], message
    fast = keras.Variable(np.zeros(3, dtype="float32"), name="fast")
    usual = keras.Variable(np.zeros(3, dtype="float32"), name="usual")
    frozen = keras.Variable(np.zeros(3, dtype="float32"), name="frozen")
    _compat.scale_learning_rates(optimizer, {fast.path: 2.0, frozen.path: 0.0})
    optimizer.build([fast, usual, frozen])
    ones = keras.ops.ones(3)
    optimizer.apply([ones, ones, ones], [fast, usual, frozen])
    got = [keras.ops.convert_to_numpy(v) for v in (fast, usual, frozen)]
    np.testing.assert_allclose(got, [[-1.0] * 3, [-0.5] * 3, [0.0] * 3], err_msg=message)


def test_scale_learning_rates_without_multipliers_leaves_the_optimizer_alone():
    optimizer = keras.optimizers.SGD()
    assert _compat.scale_learning_rates(optimizer, {}) is optimizer
    assert "_backend_update_step" not in vars(optimizer)


def test_dense_kernel_is_the_pretrained_kernel_under_lora():
    message = changed("Dense._kernel", "keras", keras.version())
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    layer.enable_lora(1)
    kernel = _compat.dense_kernel(layer)
    assert isinstance(kernel, keras.Variable), message
    assert any(kernel is weight for weight in layer.weights), message
    kernel.assign(np.full((3, 2), 3.0, dtype="float32"))
    # the adapters' second factor starts at zero: the kernel seen is the one set
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.kernel), 3.0, err_msg=message)


def test_tensorflow_global_seed_reads_what_set_seed_set():
    tf = pytest.importorskip("tensorflow")
    message = changed("tensorflow.python.eager.context.global_seed()", "tensorflow",
                      tf.__version__)
    before = _compat.tensorflow_global_seed()
    try:
        tf.random.set_seed(1234)
        assert _compat.tensorflow_global_seed() == 1234, message
    finally:
        tf.random.set_seed(before)
    assert _compat.tensorflow_global_seed() == before, message


@pytest.fixture
def torch_model():
    """``model(x=...)``: a linear layer, then a module that records the
    threads that call it."""
    torch = pytest.importorskip("torch")

    class Counted(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = []

        def forward(self, x):
            self.calls.append(threading.get_ident())
            return x + 1

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = torch.nn.Linear(2, 2)
            self.above = Counted()

        def forward(self, x):
            return self.above(self.first(x))

    torch.manual_seed(0)
    return torch, Model()


def test_forward_until_stops_after_the_module(torch_model):
    torch, model = torch_model
    message = changed("an exception raised by a forward hook leaving Module.__call__",
                      "torch", torch.__version__)
    x = torch.ones(1, 2)
    with torch.no_grad():
        got = _compat.forward_until(model, model.first, {"x": x})
        torch.testing.assert_close(got, model.first(x), msg=message)
        assert model.above.calls == [], message
        # the hook is gone: the next forward runs through
        model(x=x)
    assert len(model.above.calls) == 1, message


def test_forward_until_stops_only_its_own_threads_forward(torch_model):
    """A forward in another thread, while the hook is registered, runs
    through: a model shared by encoders in several threads."""
    torch, model = torch_model
    other = []

    here = threading.get_ident()

    def forward_elsewhere(module, args):
        if threading.get_ident() == here:
            thread = threading.Thread(target=lambda: other.append(model(x=args[0])))
            thread.start()
            thread.join()

    model.first.register_forward_pre_hook(forward_elsewhere)
    x = torch.ones(1, 2)
    with torch.no_grad():
        _compat.forward_until(model, model.first, {"x": x})
    assert len(other) == 1 and len(model.above.calls) == 1
    assert model.above.calls[0] != threading.get_ident()


def test_forward_until_a_module_the_forward_never_calls_is_an_error(torch_model):
    torch, model = torch_model
    with pytest.raises(RuntimeError, match="Linear did not run in the forward of Model; pass a "
                                           "sub-module that the forward calls"):
        _compat.forward_until(model, torch.nn.Linear(2, 2), {"x": torch.ones(1, 2)})
