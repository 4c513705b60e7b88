"""Compiled (numba) pixel kernels. Each is ``@njit(nogil=True, cache=True)``: it releases
the GIL, so job threads scan images in parallel, and compiles once per dtype into the
on-disk cache next to its module."""
