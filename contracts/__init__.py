"""Messages the services exchange on Kafka, and the topics they travel on.

Pure Pydantic: importing this package never imports a broker or database client, so partners and
services can share it without pulling the platform in (``tests/unit/test_contracts.py`` proves it).
"""
