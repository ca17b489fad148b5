"""Builds the optional C extensions; the project metadata lives in pyproject.toml.

``custodiet.ledger._fasthash`` batches SHA-256 over OpenSSL's libcrypto (headers: Debian's
``libssl-dev``). ``custodiet.ingest._csvscan`` flags the lines of CSV text in one pass. Both are
optional: when one cannot be compiled the install still succeeds, the ledger falls back to its
pure-Python ``hashlib`` engine (``custodiet.ledger.hashing.BACKEND`` says which runs) and the CSV reader
to numpy.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "custodiet.ledger._fasthash",
            sources=["src/custodiet/ledger/_fasthash.c"],
            libraries=["crypto"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        ),
        Extension(
            "custodiet.ingest._csvscan",
            sources=["src/custodiet/ingest/_csvscan.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra"],
            optional=True,
        ),
    ],
)
