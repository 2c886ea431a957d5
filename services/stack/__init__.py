"""The embedded stack launcher, demo data and operator commands."""
