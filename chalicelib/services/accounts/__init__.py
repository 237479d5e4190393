"""Accounts: who someone is and what lets them in: researchers and their profile, login through the identity
provider (`identity`), API tokens, email address rules (`emails`) and what platform admins do (`admin`);
`model` holds the values and `ports` the Protocols they need.
"""
