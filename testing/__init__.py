"""What the tests and the benchmarks share: the production stack as real processes (stack) and the app
served for a real browser (browser). Not an app: nothing in production imports it."""
