"""httpx for the suite's servers, which are all plain HTTP on loopback.

An httpx client builds its TLS context when it is made, even for an http://
URL: it reads and parses the whole CA bundle, about 18 ms. The suite makes
thousands of clients (one per thread of a load test, one per poll of a
starting server), so these share one context, made once per process.
"""

from __future__ import annotations

import ssl
from functools import partial

import httpx

TLS = ssl.create_default_context()

Client = partial(httpx.Client, verify=TLS)
get = partial(httpx.get, verify=TLS)
post = partial(httpx.post, verify=TLS)
