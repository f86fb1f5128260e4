import pytest

pytest.importorskip("h5py")
