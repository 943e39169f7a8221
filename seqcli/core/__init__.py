"""The shared core every layer may use: errors, device and precision, token ids, safe files and text."""
