"""Small operations shared by the kernels, the backends and the layers.

- ``onednn``: matrix products with weights packed once for oneDNN (``PackedProduct``,
  ``project``), falling back to PyTorch's products.
- ``versions``: what a cache of a cell's packed weights is keyed by.
- ``state``: layer states, a tensor (K, N, S) or a tuple of them, and their helpers.
- ``first_order``: hand-written backward passes that raise under ``create_graph=True``.

This tier sits between the cells and the kernels: it imports only ``rnnkit.cells`` and PyTorch.
"""
