"""Every architecture of the evolution, behind the one interface in base.py."""
