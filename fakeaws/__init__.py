"""A fake AWS (moto, wrapped) for ecrpy's demo, tests and benchmark. Not part of the product."""
