"""``planbridge demo``: a workspace with a quarter already under way, to look around in."""
