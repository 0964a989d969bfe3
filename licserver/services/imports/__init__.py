"""Importing customers, users, licences and activations from another licensing
system (README "Importing from another system"): ``rows`` checks and writes
one row, ``jobs`` runs a file's dry run and its import."""
