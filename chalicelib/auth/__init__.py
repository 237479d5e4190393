"""Who is calling: bearer tokens in, a verified `Principal` out.

`tokens` wraps python-jose (the only module that imports it). The SurfConext login flow
issues the same session tokens this module verifies, so it slots in beside it.
"""
