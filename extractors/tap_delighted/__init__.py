"""tap-delighted: Delighted survey responses and people for cx360."""
