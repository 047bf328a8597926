import pilotbench.limits as limits


def test_public_names_are_exported():
    for name in limits.__all__:
        assert hasattr(limits, name), name
    public = {n for n in dir(limits) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(limits.__all__)
    assert {"Clock", "FakeClock", "MonotonicClock", "TokenBucket", "AdaptiveController"} <= set(
        limits.__all__
    )
    assert {"Lane", "LaneDisabled", "KeyPool", "NoUsableLane", "POLICIES"} <= set(limits.__all__)
