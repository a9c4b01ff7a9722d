from abc import abstractmethod


class LayerWithWeights(object):
    """Base class for layers whose parameters are learned."""

    @abstractmethod
    def forward(self, *args):
        pass

    @abstractmethod
    def backward(self, *args):
        pass
