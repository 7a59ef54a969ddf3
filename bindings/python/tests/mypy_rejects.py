"""Misuses that `mypy --strict` must reject (test.sh expects exactly these 5 errors): the
annotations of the package are checked, not decorative. Not collected by pytest."""

import numpy as np

import fidex

key = fidex.VaultKey.generate()
vault = fidex.Vault.create("v", key, dim=4)
probe = np.zeros(4, dtype=np.float32)
vault.identify(probe, k="5")  # k is an int
vault.identify(probe, purpose=1)  # purpose is a str
score: str = vault.identify(probe)[0].score  # score is a float
vault.delete(42)  # a Facial ID is a UUID, bytes or str
fidex.verify_receipt(vault.delete("x"), key)  # the verification key is text, not a VaultKey
