"""What the server does with mergeable batch profiles (``dqm_client.profiles``, the format
shared with whoever computes them): profile a table by its schema (``table``) and score drift
of a profiled window against the reference's rows (``drift``)."""
