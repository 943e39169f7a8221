"""Views: terminal renderables over plain data (heatmaps, charts, progress, the attention explainer)."""
