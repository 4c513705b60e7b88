"""Pixels, pure: format readers, pyramids, numba render kernels, encoders (later issues)."""
