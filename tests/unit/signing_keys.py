"""RSA signing keys made in the test, standing in for an identity provider's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    public_pem: str

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public half as the provider's JWKS lists it."""
        return jwk.construct(self.public_pem, "RS256").to_dict() | {"kid": self.kid, "use": "sig", "alg": "RS256"}


def make_key(kid: str) -> SigningKey:
    """A fresh 2048-bit RSA key pair named `kid`."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return SigningKey(kid, private_pem, public_pem)
