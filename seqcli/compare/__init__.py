"""The comparison campaign: every architecture trained alike, scored alike, reported side by side."""
