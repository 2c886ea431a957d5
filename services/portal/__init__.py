"""The portal: the guide's screens for employers, a backend-for-frontend over the services' HTTP APIs."""
