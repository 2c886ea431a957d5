"""What every service runs on: settings, database, broker, outbox, inbox, DLQ, telemetry, HTTP."""
