"""Layers with weights, their forward and backward passes."""

from .layers_with_weights import LayerWithWeights
from .recurrent_layers import GRULayer, LSTMLayer, RNNLayer

__all__ = ["LayerWithWeights", "RNNLayer", "LSTMLayer", "GRULayer"]
