"""tap-amplitude: Amplitude raw events (Export API) for cx360."""
