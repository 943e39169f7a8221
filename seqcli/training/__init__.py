"""Training: run preparation, the optimisation step, the loop, checkpoints and DDP."""
