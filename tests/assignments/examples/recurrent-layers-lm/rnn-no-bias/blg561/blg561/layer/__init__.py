"""Layers with weights, their forward and backward passes."""

from .layer import LayerWithWeights
from .recurrent_layers import GRULayer, LSTMLayer, RNNLayer

__all__ = ["LayerWithWeights", "RNNLayer", "LSTMLayer", "GRULayer"]
