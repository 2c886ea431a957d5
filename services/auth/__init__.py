"""auth: Damancom accounts (single and group), their affiliates, login with lockout, access tokens."""
