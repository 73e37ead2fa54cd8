"""Sweeps of recurrent rate networks: configs in, labelled Zarr stores out."""
