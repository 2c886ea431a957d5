"""debt: the consolidated debt (créance consolidée) of each affiliate, built from the ledger."""
