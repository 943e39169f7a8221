"""Special token ids, fixed for every tokenizer and model: pad 0, unk 1, bos 2, eos 3."""

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")  # their strings, in id order
