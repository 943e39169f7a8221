"""Data: corpora (embedded, files, downloads), tokenizers, batches and prepared datasets."""
