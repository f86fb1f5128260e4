"""Moving models in and out of rnnkit: Keras files (``rnnkit.interop.keras``).

Each format's readers import their optional dependency (``h5py`` for Keras) only when used.
"""
