"""Builds the ledger's optional C hashing extension; the project metadata lives in pyproject.toml.

``custodiet.ledger._fasthash`` batches SHA-256 over OpenSSL's libcrypto (headers: Debian's
``libssl-dev``). It is optional: when it cannot be compiled the install still succeeds and the ledger
falls back to its pure-Python ``hashlib`` engine (``custodiet.ledger.hashing.BACKEND`` says which runs).
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
        )
    ],
)
