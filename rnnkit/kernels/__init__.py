"""Small native kernels, compiled on first use with the system's C compiler (see ``build``)."""
