"""pilotbench's performance benchmarks (not part of the pytest run): `python -m bench [--quick]`."""
