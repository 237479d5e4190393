"""Studies: a study, its members and their roles (`access` decides who may do what), invitations, and the
reference data (universities, research fields) studies and researchers name; `model` holds the values and
`ports` the Protocols they need.
"""
