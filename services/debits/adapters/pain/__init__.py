"""ISO 20022 files for the banks that do not read Kafka: pain.008 orders out, pain.002 reports in."""
