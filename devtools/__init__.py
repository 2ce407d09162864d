"""Development tooling: benchmarks, test servers and clip makers; not part of the product."""
