"""Inference: decoding (greedy, beam), attention maps, and the one evaluation path (sacreBLEU)."""
