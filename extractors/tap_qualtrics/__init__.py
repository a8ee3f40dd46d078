"""tap-qualtrics: Qualtrics surveys, response exports and distributions for cx360."""
