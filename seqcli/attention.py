"""Attention, shared by the models: score functions and multi-head attention.

Two families live here, each citing its paper:
- alignment scores for RNN decoders: additive (Bahdanau et al. 2014) and
  multiplicative dot / general / concat (Luong et al. 2015);
- scaled dot-product and multi-head attention (Vaswani et al. 2017, 3.2).

Masks are bool, True = a real token (models/base.py). Weights are [B, H, T, S].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.models.base import masked_softmax

# ---- RNN alignment scores (Bahdanau, Luong) --------------------------------------

# ---- Scaled dot-product and multi-head attention (Vaswani et al. 2017) -----------
