class LayerWithWeights:
    """Layers with learnable parameters derive from this class."""

    def forward(self, *args):
        raise NotImplementedError

    def backward(self, *args):
        raise NotImplementedError
