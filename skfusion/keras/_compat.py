"""Every private Keras, TensorFlow and torch internal skfusion relies on, in
one place, as ``utils/_sklearn_compat.py`` keeps scikit-learn's.

A new release may move, rename or change any of these; each names the
versions it was checked against, and ``tests/test_compat.py`` fails loudly,
naming the internal, when an installed version no longer behaves so.
Nothing here imports a framework until it is called: importing
``skfusion.keras`` imports none.
"""

import threading

#: the versions every internal below was checked against
CHECKED = {"keras": "3.15.1", "tensorflow": "2.21", "torch": "2.13.0"}


def scale_learning_rates(optimizer, multipliers):
    """Make ``optimizer`` update each variable in ``multipliers`` (by path)
    at its learning rate times the multiplier.

    Keras optimizers have one learning rate; each backend applies it to the
    variables in one collective update step, which this splits into one call
    per multiplier. The optimizer's state and configuration are its own, so
    it saves and loads as usual (a loaded model trains at one rate).

    Private: ``Optimizer._backend_update_step(grads, trainable_variables,
    learning_rate)``, which ``apply`` calls once per step with the learning
    rate as a tensor, on every backend (keras 3.15.1: defined by
    ``BaseOptimizer`` and overridden by TensorFlow's ``TFOptimizer``).
    """
    if not multipliers:
        return optimizer
    update = optimizer._backend_update_step

    def scaled_update(grads, variables, learning_rate):
        groups = {}
        for grad, variable in zip(grads, variables):
            rate = multipliers.get(variable.path, 1.0)
            group = groups.setdefault(rate, ([], []))
            group[0].append(grad)
            group[1].append(variable)
        for rate, (group_grads, group_variables) in groups.items():
            update(group_grads, group_variables,
                   learning_rate if rate == 1.0 else learning_rate * rate)

    optimizer._backend_update_step = scaled_update
    return optimizer


def dense_kernel(layer):
    """The kernel variable of a built ``keras.layers.Dense`` itself: with
    LoRA enabled, ``layer.kernel`` is the kernel plus the adapters' product,
    a tensor that cannot be assigned, and pretrained weights go under it.

    Private: ``Dense._kernel`` (keras 3.15.1).
    """
    return layer._kernel


def tensorflow_global_seed():
    """TensorFlow's global seed (None when unset): TensorFlow has a public
    setter, ``tf.random.set_seed``, but no getter.

    Private: ``tensorflow.python.eager.context.global_seed()`` (tensorflow 2.21).
    """
    from tensorflow.python.eager import context

    return context.global_seed()


def forward_until(model, stop, inputs):
    """The output of torch module ``stop`` in ``model(**inputs)``: the
    forward stops there, so the layers above cost nothing.

    ``register_forward_hook`` is public, but stopping a forward by raising
    from the hook relies on torch letting the exception out of
    ``Module.__call__`` unchanged, which torch does not document (torch
    2.13.0 re-raises it after running "always called" hooks; a compiled
    module would graph-break). The hook stops only the forward of the
    thread that called this: a model shared by encoders in other threads
    runs through it.
    """
    caller = threading.get_ident()

    def capture(module, args, output):
        if threading.get_ident() == caller:
            raise _Reached(output[0] if isinstance(output, tuple) else output)

    handle = stop.register_forward_hook(capture)
    try:
        model(**inputs)
    except _Reached as reached:
        return reached.output
    finally:
        handle.remove()
    raise RuntimeError(
        f"forward_until: {type(stop).__name__} did not run in the forward of "
        f"{type(model).__name__}; pass a sub-module that the forward calls."
    )


class _Reached(Exception):
    """Carries a layer's output out of a forward stopped at that layer."""

    def __init__(self, output):
        super().__init__()
        self.output = output
