"""The base class of every layer that has learnable weights."""


class LayerWithWeights:
    """A layer with learnable weights (numpy arrays kept as attributes of the layer).

    A subclass creates its weights in ``__init__`` as attributes and lists their names in
    ``param_names``. ``forward`` keeps what ``backward`` needs in ``self.cache``;
    ``backward`` stores every gradient in the dict ``self.grad``, keyed ``'d' + name``
    (``'dWx'`` for the gradient of ``self.Wx``, ``'dx'`` for that of the input).

    ``forward`` must read the weights from the attributes at every call: the numerical
    gradient check (``blg561.checks.grad_check``) changes them in place between calls.
    """

    #: names of the weight attributes, e.g. ("Wx", "Wh", "b")
    param_names = ()

    def __init__(self):
        self.grad = {}     # 'dx', 'dh0', 'dWx', ... -> gradient array, filled by backward
        self.cache = None  # whatever forward keeps for backward

    def parameters(self):
        """The weights as a dict {name: array} (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in self.param_names}

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *args):
        raise NotImplementedError(f"{type(self).__name__}.backward")
