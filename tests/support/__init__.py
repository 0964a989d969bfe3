"""Fixtures and helpers shared by the test folders (pytest plugins registered in
``tests/conftest.py``); test modules take fixtures, never import them."""

# argon2id at its smallest cost for every app the suite starts, in this process
# and in the gunicorns and CLI processes it runs: hashing is slow by design and
# no test measures it (production's default is in licserver/crypto.py).
CHEAP_PASSWORD_HASH = {
    "LICSERVER_PASSWORD_HASH_TIME_COST": "1",
    "LICSERVER_PASSWORD_HASH_MEMORY_KIB": "8",
}
