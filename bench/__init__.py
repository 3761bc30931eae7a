"""listingsync benchmarks: ``make bench`` (all) or ``python -m bench NAME …`` (some).

Each ``bench_<name>.py`` exposes ``main() -> None`` and prints its figures beside a baseline
measured in the same run. Nothing here asserts a time: machines are shared and noisy, so the
figures are medians and ratios, read by people.
"""
