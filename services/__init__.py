"""The Espace Recouvrement services. Each sub-package owns its data; they meet only on Kafka."""
