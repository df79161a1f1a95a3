"""Training core: models (and, later, trainer and features) in pure PyTorch; no Django."""
