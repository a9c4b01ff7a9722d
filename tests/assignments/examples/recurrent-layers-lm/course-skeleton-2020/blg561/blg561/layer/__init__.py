from .layers_with_weights import LayerWithWeights
from .recurrent_layers import RNNLayer, LSTMLayer, GRULayer
