"""Reference partners: stand-ins for the perception offices and the banks, speaking the real topics."""
