import numpy as np
from numpy import tanhh  # a typo: the whole file fails to import


def rnn_step(x, h, Wx, Wh, b):
    return tanhh(x @ Wx + h @ Wh + b)
